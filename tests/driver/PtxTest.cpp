// `weft --emit=ptx` on every model of the examples, the conformance cases
// and the benchmarks (which between them use every cell of the standard
// library): the module has one `.entry` per kernel launch of its plan, and
// NVIDIA's assembler, ptxas, accepts it for sm_80 and sm_90. Skipped where
// ptxas is not installed.
#include "CommandSupport.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>

namespace fs = std::filesystem;

namespace {

using namespace weft::test;

/// ptxas from $PATH or the CUDA toolkit's usual place; empty if neither.
std::string findPtxas() {
  for (const char *candidate : {"/usr/local/cuda/bin/ptxas"})
    if (fs::exists(candidate))
      return candidate;
  CommandResult found = runCommand("command -v ptxas");
  if (found.status == 0 && !found.output.empty())
    return found.output.substr(0, found.output.find('\n'));
  return "";
}

size_t countOf(const std::string &text, const std::regex &pattern) {
  return std::distance(std::sregex_iterator(text.begin(), text.end(), pattern),
                       std::sregex_iterator());
}

class PtxModels : public testing::TestWithParam<std::string> {};

TEST_P(PtxModels, PtxasAcceptsEveryKernel) {
  std::string ptxas = findPtxas();
  if (ptxas.empty())
    GTEST_SKIP() << "ptxas is not installed (CUDA toolkit)";
  fs::path model = fs::path(WEFT_SOURCE_DIR) / GetParam();
  fs::path dir = freshDir("ptx-" + model.stem().string());
  // Sizes the model leaves open get a small value, one at a time, as the
  // diagnostics name them.
  std::string sizes;
  const std::regex unknown("the size `([A-Za-z_0-9]+)` is not known");
  for (const char *gpu : {"sm_80", "sm_90"}) {
    CommandResult emitted;
    for (int attempt = 0; attempt < 10; ++attempt) {
      emitted =
          runCommand(fmt::format("'{}' --emit=ptx '{}' --gpu {} {}",
                                 WEFT_BINARY, model.string(), gpu, sizes));
      std::smatch match;
      if (emitted.status == 0 ||
          !std::regex_search(emitted.output, match, unknown))
        break;
      sizes += fmt::format(" --set {}=6", match[1].str());
    }
    ASSERT_EQ(emitted.status, 0) << emitted.output;
    const std::string &text = emitted.output;
    fs::path ptx = dir / fmt::format("{}.ptx", gpu);
    std::ofstream(ptx) << text;
    size_t entries = countOf(text, std::regex("\\.entry weft_kernel"));
    EXPECT_GT(entries, 0u);
    EXPECT_EQ(entries, countOf(text, std::regex("//\\s+launch weft_kernel")));
    EXPECT_NE(text.find(fmt::format(".target {}", gpu)), std::string::npos);
    CommandResult assembled =
        runCommand(fmt::format("'{}' -arch={} '{}' -o '{}'", ptxas, gpu,
                               ptx.string(), (dir / "out.cubin").string()));
    EXPECT_EQ(assembled.status, 0) << gpu << "\n" << assembled.output;
  }
}

std::vector<std::string> modelFiles() {
  std::vector<std::string> files;
  for (const char *folder : {"examples", "tests/conformance", "bench/models"})
    for (const auto &entry :
         fs::directory_iterator(fs::path(WEFT_SOURCE_DIR) / folder))
      if (entry.path().extension() == ".weft" &&
          entry.path().stem() != "stacked_cells") // cells only, no model
        files.push_back(std::string(folder) + "/" +
                        entry.path().filename().string());
  std::sort(files.begin(), files.end());
  return files;
}

INSTANTIATE_TEST_SUITE_P(All, PtxModels, testing::ValuesIn(modelFiles()),
                         [](const testing::TestParamInfo<std::string> &info) {
                           std::string name;
                           for (char c : info.param)
                             name += std::isalnum(static_cast<unsigned char>(c))
                                         ? c
                                         : '_';
                           return name;
                         });

/// Architectures without a PTX version Weft knows, or that this CUDA's
/// ptxas no longer takes, and float64 kernels are refused in one line.
TEST(Ptx, RefusesWhatItCannotEmit) {
  std::string model = std::string(WEFT_SOURCE_DIR) + "/examples/char_lm.weft";
  for (const char *options :
       {"--gpu sm_100", "--gpu sm_70", "--gpu sm_8", "--gpu sm_80a", "--f64"}) {
    CommandResult result = runCommand(fmt::format(
        "'{}' --emit=ptx '{}' --set V=20 {}", WEFT_BINARY, model, options));
    EXPECT_EQ(result.status, 1) << options << "\n" << result.output;
    EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1)
        << options << "\n"
        << result.output;
  }
}

} // namespace
