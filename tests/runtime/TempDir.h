// A scratch folder for one test: created empty under the system's temporary
// folder and removed with everything in it when the test ends.
#pragma once

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>

namespace weft::runtime::testing {

class TempDir {
public:
  TempDir() {
    const ::testing::TestInfo *test =
        ::testing::UnitTest::GetInstance()->current_test_info();
    root = std::filesystem::temp_directory_path() /
           ("weft-runtime-" + std::to_string(getpid()) + "-" +
            test->test_suite_name() + "-" + test->name());
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(root, ignored);
  }

  /// The full path of `name` inside the folder.
  std::string path(const std::string &name) const {
    return (root / name).string();
  }

  /// Writes `contents` to `name`, creating parent folders.
  std::string write(const std::string &name, const std::string &contents) {
    std::filesystem::path file = root / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << contents;
    return file.string();
  }

  std::filesystem::path root;
};

} // namespace weft::runtime::testing
