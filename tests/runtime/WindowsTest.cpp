// Tests of the truncated-BPTT schedule and the validation windows, on token
// ids equal to their positions so that each entry shows where it came from.

#include "runtime/Windows.h"

#include <gtest/gtest.h>
#include <numeric>

using namespace weft::runtime;

namespace {

std::vector<int64_t> positions(int64_t count) {
  std::vector<int64_t> ids(count);
  std::iota(ids.begin(), ids.end(), 0);
  return ids;
}

/// Checks that column b of `window` reads tokens starts[b], starts[b] + 1, ...
void expectStarts(const TokenWindow &window, std::vector<int64_t> starts) {
  ASSERT_EQ(window.batch, static_cast<int64_t>(starts.size()));
  for (int64_t t = 0; t <= window.length; ++t)
    for (int64_t b = 0; b < window.batch; ++b)
      EXPECT_EQ(window.at(t, b), starts[b] + t) << "t=" << t << " b=" << b;
}

} // namespace

TEST(Batcher, FollowsTheTorchSchedule) {
  // 40 tokens, B = 3, T = 4: stride = 39 // 3 = 13. Cursor 0 visits 0, 4,
  // 8; at 12, 12 + 5 > 13 so every cursor returns to b * 13.
  std::vector<int64_t> train = positions(40);
  std::string error;
  std::optional<Batcher> batcher = Batcher::create(train, 3, 4, &error);
  ASSERT_TRUE(batcher) << error;
  EXPECT_EQ(batcher->stride(), 13);

  std::vector<std::pair<std::vector<int64_t>, bool>> expected = {
      {{0, 13, 26}, true},
      {{4, 17, 30}, false},
      {{8, 21, 34}, false},
      {{0, 13, 26}, true},
      {{4, 17, 30}, false}};
  for (const auto &[starts, reset] : expected) {
    TokenWindow window = batcher->next();
    EXPECT_EQ(window.length, 4);
    EXPECT_EQ(window.tokens.size(), 5u * 3u);
    EXPECT_EQ(window.resetState, reset);
    expectStarts(window, starts);
  }
  EXPECT_EQ(batcher->cursors(), (std::vector<int64_t>{8, 21, 34}));
}

TEST(Batcher, RejectsTextTooShortForTheWindows) {
  std::vector<int64_t> train = positions(16);
  std::string error;
  // stride = 15 // 3 = 5 < T + 1 = 6.
  EXPECT_FALSE(Batcher::create(train, 3, 5, &error));
  EXPECT_NE(error.find("too short"), std::string::npos);
  EXPECT_TRUE(Batcher::create(train, 3, 4, &error));
  EXPECT_FALSE(Batcher::create(train, 0, 4, &error));
  EXPECT_FALSE(Batcher::create({}, 1, 1, &error));
}

TEST(ValidationWindows, CutsConsecutiveWindowsIntoBlocks) {
  // 23 tokens, T = 5: n = 22 // 5 * 5 = 20, so 4 windows starting at 0, 5,
  // 10, 15, in blocks of at most 3 columns.
  std::vector<int64_t> validation = positions(23);
  std::string error;
  std::optional<std::vector<TokenWindow>> blocks =
      validationWindows(validation, 5, 3, &error);
  ASSERT_TRUE(blocks) << error;
  ASSERT_EQ(blocks->size(), 2u);
  expectStarts((*blocks)[0], {0, 5, 10});
  expectStarts((*blocks)[1], {15});
  EXPECT_TRUE((*blocks)[0].resetState);
}

TEST(ValidationWindows, HonoursTheLimitAndShortText) {
  std::vector<int64_t> validation = positions(100);
  std::string error;
  // val[:12]: n = 11 // 5 * 5 = 10, two windows.
  std::optional<std::vector<TokenWindow>> blocks =
      validationWindows(validation, 5, 8, &error, 12);
  ASSERT_TRUE(blocks) << error;
  ASSERT_EQ(blocks->size(), 1u);
  expectStarts((*blocks)[0], {0, 5});

  std::vector<int64_t> tiny = positions(5);
  blocks = validationWindows(tiny, 5, 8, &error);
  ASSERT_TRUE(blocks);
  EXPECT_TRUE(blocks->empty());
  EXPECT_FALSE(validationWindows(tiny, 0, 8, &error));
}
