// Checkpoints: each is complete, `latest` names the newest (or, without
// it, the newest complete folder), and only the two newest are kept.
#include "runtime/Checkpoint.h"

#include "TempDir.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace weft::runtime {
namespace {

namespace fs = std::filesystem;

NamedArrays arraysAt(double value) {
  std::vector<double> values = {value, value + 1};
  return {{"W", NpyArray::fromDoubles({2}, values)}};
}

TEST(Checkpoint, LatestNamesTheNewestAndOldOnesGo) {
  testing::TempDir dir;
  std::string root = dir.path("checkpoints");
  std::string error;
  for (int64_t step : {10, 20, 30})
    ASSERT_TRUE(writeCheckpoint(root, step, arraysAt(step), &error)) << error;

  std::optional<NpyArray> latest =
      readNpy((fs::path(root) / "latest" / "W.npy").string(), &error);
  ASSERT_TRUE(latest) << error;
  EXPECT_EQ(latest->toDoubles(), (std::vector<double>{30, 31}));
  EXPECT_FALSE(fs::exists(fs::path(root) / "step-000000010"));
  EXPECT_TRUE(fs::exists(fs::path(root) / "step-000000020" / "W.npy"));
  EXPECT_FALSE(fs::exists(fs::path(root) / "latest.new"));
}

// A run killed after renaming its checkpoint into place but before linking
// `latest` left a complete folder: it is the one resumed, and the
// half-written folders of killed runs go with the next checkpoint.
TEST(Checkpoint, WithoutLatestTheNewestCompleteFolderIsResumed) {
  testing::TempDir dir;
  std::string root = dir.path("checkpoints");
  std::string error;
  EXPECT_FALSE(hasCheckpoint(root));
  for (int64_t step : {10, 20})
    ASSERT_TRUE(writeCheckpoint(root, step, arraysAt(step), &error)) << error;
  EXPECT_TRUE(hasCheckpoint(root));
  fs::remove(fs::path(root) / "latest");
  fs::create_directory(fs::path(root) / "step-000000030.partial");
  EXPECT_TRUE(hasCheckpoint(root));
  NamedArrays arrays, state;
  EXPECT_FALSE(readLatestCheckpoint(root, arrays, state, &error))
      << "without a state file it is not a training checkpoint";
  ASSERT_TRUE(writeCheckpoint(root, 40, arraysAt(40), &error, &arrays))
      << error;
  EXPECT_FALSE(fs::exists(fs::path(root) / "step-000000030.partial"));
  fs::remove(fs::path(root) / "latest");
  ASSERT_TRUE(readLatestCheckpoint(root, arrays, state, &error)) << error;
  ASSERT_EQ(arrays.size(), 1u);
  EXPECT_EQ(arrays[0].second.toDoubles(), (std::vector<double>{40, 41}));
}

TEST(Checkpoint, UnwritableFolderIsAnError) {
  testing::TempDir dir;
  std::string blocker = dir.path("file");
  std::ofstream(blocker) << "not a folder";
  std::string error;
  EXPECT_FALSE(writeCheckpoint(blocker + "/inside", 1, arraysAt(1), &error));
  EXPECT_NE(error.find(blocker), std::string::npos) << error;
}

} // namespace
} // namespace weft::runtime
