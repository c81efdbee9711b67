// Checkpoints: each is complete, `latest` names the newest, and only the
// two newest are kept.
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
