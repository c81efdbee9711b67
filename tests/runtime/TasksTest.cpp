// Tests of the synthetic task generators: a seed fixes the data, and the
// decoded examples are right by checks made independently of the
// generator (the standard library's calendar for dates, a replay of the
// story for bAbI, the delimiter and the shifted bits for copy).

#include "runtime/Tasks.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

using namespace weft::runtime;

namespace {

NamedArrays generate(const std::string &task, int64_t count, uint64_t seed,
                     const TaskOptions &options = {}) {
  std::string error;
  std::optional<NamedArrays> arrays =
      generateTask(task, count, seed, &error, options);
  EXPECT_TRUE(arrays) << error;
  return arrays ? *arrays : NamedArrays{};
}

const NpyArray &find(const NamedArrays &arrays, const std::string &name) {
  for (const auto &[arrayName, array] : arrays)
    if (arrayName == name)
      return array;
  ADD_FAILURE() << "no array `" << name << "`";
  static const NpyArray missing;
  return missing;
}

/// The text of ids `[begin, end)` in `alphabet` (id = index + 1), stopping
/// at the padding id 0.
std::string decode(const std::vector<int64_t> &ids, size_t begin, size_t end,
                   std::string_view alphabet) {
  std::string text;
  for (size_t i = begin; i < end && ids[i] != 0; ++i) {
    EXPECT_LE(ids[i], static_cast<int64_t>(alphabet.size()));
    text += alphabet[ids[i] - 1];
  }
  return text;
}

/// The words of a sentence of `babiVocabulary` ids, without the padding.
std::vector<std::string> words(const std::vector<int64_t> &ids, size_t begin) {
  std::vector<std::string> result;
  for (size_t w = 0; w < babiSentenceWords; ++w)
    if (int64_t id = ids[begin + w]; id != 0)
      result.emplace_back(babiVocabulary.at(id));
  return result;
}

/// Every array of `a` equals the one of the same name in `b`.
bool sameArrays(const NamedArrays &a, const NamedArrays &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].first != b[i].first || a[i].second.shape != b[i].second.shape ||
        a[i].second.dtype != b[i].second.dtype ||
        a[i].second.bytes != b[i].second.bytes)
      return false;
  return true;
}

} // namespace

TEST(Tasks, ASeedFixesTheData) {
  for (const std::string &task : taskNames()) {
    NamedArrays first = generate(task, 50, 7);
    EXPECT_TRUE(sameArrays(first, generate(task, 50, 7))) << task;
    EXPECT_FALSE(sameArrays(first, generate(task, 50, 8))) << task;
  }
}

TEST(Tasks, RejectsUnknownTasksAndEmptyCounts) {
  std::string error;
  EXPECT_FALSE(generateTask("babi2", 10, 1, &error));
  EXPECT_NE(error.find("unknown task `babi2`"), std::string::npos) << error;
  EXPECT_FALSE(generateTask("dates", 0, 1, &error));
  EXPECT_NE(error.find("at least 1"), std::string::npos) << error;
}

TEST(Tasks, RejectsLengthsOutOfOrder) {
  std::string error;
  EXPECT_FALSE(generateTask("copy", 10, 1, &error, {0, 5}));
  EXPECT_NE(error.find("not 0 and 5"), std::string::npos) << error;
  EXPECT_FALSE(generateTask("copy", 10, 1, &error, {6, 5}));
  EXPECT_NE(error.find("not 6 and 5"), std::string::npos) << error;
  EXPECT_TRUE(generateTask("copy", 10, 1, &error, {5, 5})) << error;
}

TEST(Tasks, DatesGiveTheIsoFormOfTheWrittenDate) {
  namespace chrono = std::chrono;
  const char *months[] = {"January",   "February", "March",    "April",
                          "May",       "June",     "July",     "August",
                          "September", "October",  "November", "December"};
  const char *days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                        "Thursday", "Friday", "Saturday"};
  const int64_t count = 2000;
  NamedArrays arrays = generate("dates", count, 11);
  const NpyArray &src = find(arrays, "src");
  const NpyArray &tgt = find(arrays, "tgt");
  const int64_t S = dateSourceLength, T = dateTargetLength;
  ASSERT_EQ(src.shape, (std::vector<int64_t>{count, S}));
  ASSERT_EQ(tgt.shape, (std::vector<int64_t>{count, T + 1}));
  EXPECT_EQ(static_cast<int64_t>(dateSourceCharacters.size()) + 1,
            dateSourceVocabulary);
  EXPECT_EQ(static_cast<int64_t>(dateTargetCharacters.size()) + 1,
            dateTargetVocabulary);
  std::vector<int64_t> source = src.toInt64s(), target = tgt.toInt64s();

  std::set<std::string> formats;
  for (int64_t example = 0; example < count; ++example) {
    std::string text =
        decode(source, example * S, (example + 1) * S, dateSourceCharacters);
    ASSERT_EQ(target[example * (T + 1)], 0) << "the start token";
    std::string iso = decode(target, example * (T + 1) + 1,
                             (example + 1) * (T + 1), dateTargetCharacters);
    ASSERT_EQ(iso.size(), 10u) << text;

    // Reads the ISO date back and lets std::chrono say what day it is.
    int year = std::stoi(iso.substr(0, 4));
    unsigned month = std::stoul(iso.substr(5, 2)),
             day = std::stoul(iso.substr(8, 2));
    chrono::year_month_day date{chrono::year(year), chrono::month(month),
                                chrono::day(day)};
    ASSERT_TRUE(date.ok()) << iso;
    EXPECT_GE(year, 1950);
    EXPECT_LE(year, 2049);
    std::string monthName = months[month - 1];
    std::string dayName =
        days[chrono::weekday(chrono::sys_days(date)).c_encoding()];

    // The text must be one of the five formats of exactly this date.
    std::string y = std::to_string(year), d = std::to_string(day);
    std::vector<std::string> candidates = {
        d + " " + monthName + " " + y,
        iso.substr(8, 2) + "/" + iso.substr(5, 2) + "/" + y,
        monthName + " " + d + ", " + y,
        d + " " + monthName.substr(0, 3) + " " + y,
        dayName + ", " + d + " " + monthName + " " + y};
    auto found = std::find(candidates.begin(), candidates.end(), text);
    ASSERT_NE(found, candidates.end()) << "`" << text << "` is not " << iso;
    formats.insert(std::to_string(found - candidates.begin()));
  }
  EXPECT_EQ(formats.size(), 5u) << "every format occurs";
}

TEST(Tasks, Babi1AnswersWithThePlaceThePersonWentToLast) {
  const int64_t count = 1000;
  const int64_t M = babiSentences, W = babiSentenceWords;
  NamedArrays arrays = generate("babi1", count, 3);
  const NpyArray &storyArray = find(arrays, "story");
  const NpyArray &queryArray = find(arrays, "query");
  const NpyArray &answerArray = find(arrays, "answer");
  ASSERT_EQ(storyArray.shape, (std::vector<int64_t>{count, M, W}));
  ASSERT_EQ(queryArray.shape, (std::vector<int64_t>{count, W}));
  ASSERT_EQ(answerArray.shape, (std::vector<int64_t>{count}));
  std::vector<int64_t> story = storyArray.toInt64s(),
                       query = queryArray.toInt64s(),
                       answer = answerArray.toInt64s();
  const std::set<std::string> verbs = {"went", "moved", "journeyed",
                                       "travelled"};

  std::set<size_t> lengths;
  for (int64_t example = 0; example < count; ++example) {
    // Replays the story: where each person went last.
    std::map<std::string, std::string> lastPlace;
    std::map<std::string, std::set<std::string>> visited;
    size_t sentences = 0;
    for (int64_t i = 0; i < M; ++i) {
      std::vector<std::string> sentence = words(story, (example * M + i) * W);
      if (sentence.empty())
        continue;
      ASSERT_EQ(sentences, static_cast<size_t>(i)) << "a gap in the story";
      ++sentences;
      std::ostringstream text;
      for (const std::string &word : sentence)
        text << word << ' ';
      ASSERT_GE(sentence.size(), 5u) << text.str();
      EXPECT_TRUE(verbs.count(sentence[1])) << text.str();
      EXPECT_EQ(sentence[sentence.size() - 3], "to") << text.str();
      EXPECT_EQ(sentence[sentence.size() - 2], "the") << text.str();
      const std::string &person = sentence[0], &place = sentence.back();
      if (sentence[2] == "back") {
        EXPECT_EQ(sentence[1], "went") << text.str();
        EXPECT_TRUE(visited[person].count(place)) << text.str();
      }
      EXPECT_NE(lastPlace[person], place) << "a move to where one is";
      lastPlace[person] = place;
      visited[person].insert(place);
    }
    EXPECT_GE(sentences, 2u);
    EXPECT_GE(lastPlace.size(), 2u) << "at least two people";
    lengths.insert(sentences);

    std::vector<std::string> question = words(query, example * W);
    ASSERT_EQ(question.size(), 3u);
    EXPECT_EQ(question[0], "Where");
    EXPECT_EQ(question[1], "is");
    ASSERT_TRUE(lastPlace.count(question[2]))
        << question[2] << " is not in the story";
    EXPECT_EQ(babiVocabulary.at(answer[example]), lastPlace[question[2]]);
  }
  EXPECT_EQ(lengths.size(), static_cast<size_t>(M - 1)) << "2 to 10 sentences";
}

TEST(Tasks, CopyWritesTheSequenceBackAfterTheDelimiter) {
  const int64_t count = 500, shortest = 3, longest = 12;
  const int64_t steps = 2 * longest + 1, B = copyBits;
  NamedArrays arrays = generate("copy", count, 5, {shortest, longest});
  const NpyArray &xArray = find(arrays, "x");
  const NpyArray &yArray = find(arrays, "y");
  const NpyArray &maskArray = find(arrays, "mask");
  ASSERT_EQ(xArray.shape, (std::vector<int64_t>{count, steps, B + 1}));
  ASSERT_EQ(yArray.shape, (std::vector<int64_t>{count, steps, B}));
  ASSERT_EQ(maskArray.shape, (std::vector<int64_t>{count, steps}));
  std::vector<double> x = xArray.toDoubles(), y = yArray.toDoubles(),
                      mask = maskArray.toDoubles();

  std::set<int64_t> lengths;
  int64_t ones = 0, bits = 0;
  for (int64_t example = 0; example < count; ++example) {
    auto input = [&](int64_t t, int64_t c) {
      return x[(example * steps + t) * (B + 1) + c];
    };
    auto target = [&](int64_t t, int64_t c) {
      return y[(example * steps + t) * B + c];
    };
    // The length is where the one delimiter is.
    int64_t length = -1;
    for (int64_t t = 0; t < steps; ++t) {
      if (input(t, B) == 0.0)
        continue;
      ASSERT_EQ(input(t, B), 1.0);
      ASSERT_EQ(length, -1) << "two delimiters in example " << example;
      length = t;
    }
    ASSERT_GE(length, shortest) << "example " << example;
    ASSERT_LE(length, longest) << "example " << example;
    lengths.insert(length);

    for (int64_t t = 0; t < steps; ++t) {
      bool writesBack = t > length && t <= 2 * length;
      EXPECT_EQ(mask[example * steps + t], writesBack ? 1.0 : 0.0)
          << "example " << example << " step " << t;
      for (int64_t c = 0; c < B; ++c) {
        double bit = input(t, c);
        if (t < length) {
          ASSERT_TRUE(bit == 0.0 || bit == 1.0);
          ones += bit == 1.0;
          ++bits;
        } else {
          EXPECT_EQ(bit, 0.0) << "input after the sequence, step " << t;
        }
        double expected = writesBack ? input(t - length - 1, c) : -1.0;
        EXPECT_EQ(target(t, c), expected)
            << "example " << example << " step " << t << " bit " << c;
      }
    }
  }
  EXPECT_EQ(lengths.size(), static_cast<size_t>(longest - shortest + 1))
      << "every length occurs";
  // About half the bits are 1: 3 standard deviations of thousands of coins.
  double share = static_cast<double>(ones) / static_cast<double>(bits);
  EXPECT_NEAR(share, 0.5, 3.0 * 0.5 / std::sqrt(static_cast<double>(bits)));
}

TEST(Tasks, CopyDefaultsToLengthsOneToTwenty) {
  NamedArrays arrays = generate("copy", 20, 1);
  EXPECT_EQ(find(arrays, "x").shape, (std::vector<int64_t>{20, 41, 9}));
  EXPECT_EQ(find(arrays, "mask").shape, (std::vector<int64_t>{20, 41}));
  // A seed fixes the data whatever the lengths.
  EXPECT_TRUE(sameArrays(generate("copy", 20, 1, {4, 9}),
                         generate("copy", 20, 1, {4, 9})));
}
