// Runs each conformance case of ../shared/conformance through `weft run`
// with the case's model written in Weft here, and compares every output,
// the loss and every gradient with the case's reference values, in float64
// and in float32, within the tolerances of the case's manifest. The float32
// runs are repeated on the GPU's launch plan: emulated on this CPU always,
// and on a real GPU in the `gpu`-labelled build of this file
// (WEFT_CONFORMANCE_ON_CUDA), which skips where there is none.
#include "runtime/Cuda.h"
#include "runtime/Npy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

struct CaseRun {
  std::string name;
  std::string dtype;
  std::string device = "cpu"; ///< `weft run --device`.
};

/// Shown by GoogleTest in place of the parameter's bytes.
void PrintTo(const CaseRun &run, std::ostream *out) {
  *out << run.name << " in " << run.dtype << " on " << run.device;
}

std::string printCase(const testing::TestParamInfo<CaseRun> &info) {
  std::string name = info.param.name + "_" + info.param.dtype;
  if (info.param.device == "gpu-emulated")
    name += "_gpu_emulated";
  else if (info.param.device != "cpu")
    name += "_" + info.param.device;
  return name;
}

class Conformance : public testing::TestWithParam<CaseRun> {};

TEST_P(Conformance, MatchesReference) {
  const CaseRun &run = GetParam();
  fs::path caseDir = fs::path(WEFT_CONFORMANCE_DIR) / run.name;
  if (!fs::exists(caseDir))
    GTEST_SKIP() << "no conformance data at " << caseDir;
  std::string noGpu;
  if (run.device == "cuda" && !weft::runtime::cudaDeviceCount(&noGpu))
    GTEST_SKIP() << noGpu;
  fs::path work = fs::temp_directory_path() /
                  fmt::format("weft-conformance-{}-{}-{}-{}", run.name,
                              run.dtype, run.device, getpid());
  fs::remove_all(work);
  // A case without parameters gets an empty folder of them.
  fs::path params = caseDir / "params";
  if (!fs::exists(params))
    params = work / "noparams";
  std::string command = fmt::format(
      "'{}' run '{}/{}.weft' --params '{}' --inputs '{}' --outputs '{}' "
      "--grads '{}' --dtype {} --device {}",
      WEFT_BINARY, WEFT_TEST_MODELS, run.name, params.string(),
      (caseDir / "inputs").string(), (work / "outputs").string(),
      (work / "grads").string(), run.dtype, run.device);
  if (!fs::exists(caseDir / "params"))
    command = fmt::format("mkdir -p '{}' && ", (work / "noparams").string()) +
              command;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  std::ifstream manifestFile(caseDir / "manifest.json");
  nlohmann::json manifest = nlohmann::json::parse(manifestFile);
  const nlohmann::json &tolerance =
      manifest["tolerance"][run.dtype == "f64" ? "float64" : "float32"];
  double rtol = tolerance["rtol"], atol = tolerance["atol"];

  int compared = 0;
  for (const auto &entry : fs::directory_iterator(caseDir / "expected")) {
    std::string name = entry.path().stem().string();
    bool isGradient = name.rfind("grad_", 0) == 0;
    fs::path actualPath =
        work / (isGradient ? "grads" : "outputs") / (name + ".npy");
    std::string error;
    auto expected = weft::runtime::readNpy(entry.path().string(), &error);
    ASSERT_TRUE(expected) << error;
    auto actual = weft::runtime::readNpy(actualPath.string(), &error);
    ASSERT_TRUE(actual) << error;
    ASSERT_EQ(actual->shape, expected->shape) << name;
    std::vector<double> want = expected->toDoubles();
    std::vector<double> got = actual->toDoubles();
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_LE(std::abs(got[i] - want[i]), atol + rtol * std::abs(want[i]))
          << name << "[" << i << "]: got " << got[i] << ", expected "
          << want[i];
    ++compared;
  }
  EXPECT_GT(compared, 0);
  fs::remove_all(work);
}

std::vector<CaseRun> allRuns() {
  std::vector<CaseRun> runs;
  for (const char *name :
       {"elman_rnn_tanh", "gru_pytorch", "gru_cho2014", "lstm_pytorch",
        "lstm_2layer", "bigru", "char_lm_lstm", "mha_2head", "seq2seq_bahdanau",
        "memn2n_3hop", "sigma_pi", "quadratic_layer", "hyper_rnn",
        "ntm_read_head", "sdpa_causal"}) {
#ifdef WEFT_CONFORMANCE_ON_CUDA
    runs.push_back({name, "f32", "cuda"});
#else
    runs.push_back({name, "f64"});
    runs.push_back({name, "f32"});
    runs.push_back({name, "f32", "gpu-emulated"});
#endif
  }
  return runs;
}

INSTANTIATE_TEST_SUITE_P(Cases, Conformance, testing::ValuesIn(allRuns()),
                         printCase);

} // namespace
