// Runs the optimiser conformance cases of ../shared/conformance through
// `weft run --steps-over ... --optimizer ...` on the char_lm_lstm model,
// in float64 and float32, and compares the losses, gradient norms, clipping
// factors and parameters after every step with the reference values within
// the manifest's tolerance; checks the first step's loss and gradients with
// a plain `weft run`, and that misuses fail with a one-line error.
#include "runtime/Npy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using weft::runtime::NpyArray;

namespace {

struct CaseRun {
  std::string name;
  std::string dtype;
};

/// Shown by GoogleTest in place of the parameter's bytes.
void PrintTo(const CaseRun &run, std::ostream *out) {
  *out << run.name << " in " << run.dtype;
}

std::string printCase(const testing::TestParamInfo<CaseRun> &info) {
  return info.param.name + "_" + info.param.dtype;
}

fs::path caseDir(const std::string &name) {
  return fs::path(WEFT_CONFORMANCE_DIR) / name;
}

std::string modelPath() {
  return std::string(WEFT_TEST_MODELS) + "/char_lm_lstm.weft";
}

nlohmann::json readManifest(const fs::path &dir) {
  std::ifstream file(dir / "manifest.json");
  return nlohmann::json::parse(file);
}

/// A fresh scratch folder, removed when the test ends.
class ScratchDir {
public:
  explicit ScratchDir(const std::string &label)
      : path(fs::temp_directory_path() /
             fmt::format("weft-optimizer-{}-{}", label, getpid())) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() { fs::remove_all(path); }
  const fs::path path;
};

/// Runs a shell command; its exit status and what it wrote to stderr.
struct CommandResult {
  int status = -1;
  std::string errors;
};

CommandResult runShell(const std::string &command, const fs::path &scratch) {
  fs::path errorsPath = scratch / "stderr.txt";
  int raw = std::system(
      fmt::format("{} 2> '{}'", command, errorsPath.string()).c_str());
  CommandResult result;
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream file(errorsPath);
  std::stringstream text;
  text << file.rdbuf();
  result.errors = text.str();
  return result;
}

NpyArray readArray(const fs::path &path) {
  std::string error;
  std::optional<NpyArray> array = weft::runtime::readNpy(path.string(), &error);
  EXPECT_TRUE(array) << error;
  return array ? *array : NpyArray{};
}

void writeArray(const fs::path &path, const NpyArray &array) {
  std::string error;
  ASSERT_TRUE(weft::runtime::writeNpy(path.string(), array, &error)) << error;
}

/// Compares two arrays elementwise with numpy.allclose's rule.
testing::AssertionResult allClose(const fs::path &expectedPath,
                                  const fs::path &actualPath, double rtol,
                                  double atol) {
  std::string error;
  auto expected = weft::runtime::readNpy(expectedPath.string(), &error);
  if (!expected)
    return testing::AssertionFailure() << error;
  auto actual = weft::runtime::readNpy(actualPath.string(), &error);
  if (!actual)
    return testing::AssertionFailure() << error;
  if (actual->shape != expected->shape)
    return testing::AssertionFailure()
           << actualPath << " has shape ["
           << fmt::format("{}", fmt::join(actual->shape, ", "))
           << "], expected ["
           << fmt::format("{}", fmt::join(expected->shape, ", ")) << "]";
  std::vector<double> want = expected->toDoubles();
  std::vector<double> got = actual->toDoubles();
  for (size_t i = 0; i < want.size(); ++i)
    if (!(std::abs(got[i] - want[i]) <= atol + rtol * std::abs(want[i])))
      return testing::AssertionFailure()
             << actualPath.filename() << "[" << i << "]: got " << got[i]
             << ", expected " << want[i];
  return testing::AssertionSuccess();
}

/// The `weft run` options that reproduce a case's optimiser.
std::string optimizerOptions(const nlohmann::json &manifest) {
  const nlohmann::json &hyper = manifest["hyper"];
  auto number = [&](const char *key) {
    return fmt::format("{}", hyper[key].get<double>());
  };
  std::string options;
  if (manifest["kind"] == "optim_adam")
    options = fmt::format("--optimizer adam --lr {} --beta1 {} --beta2 {} "
                          "--eps {}",
                          number("lr"), number("beta1"), number("beta2"),
                          number("eps"));
  else
    options = fmt::format("--optimizer sgd --lr {} --momentum {}", number("lr"),
                          number("momentum"));
  if (hyper.contains("max_norm"))
    options += " --clip " + number("max_norm");
  return options;
}

std::string baseRunCommand(const fs::path &dir, const fs::path &inputs,
                           const fs::path &outputs, const std::string &dtype) {
  return fmt::format("'{}' run '{}' --params '{}' --inputs '{}' --outputs "
                     "'{}' --dtype {}",
                     WEFT_BINARY, modelPath(), (dir / "params").string(),
                     inputs.string(), outputs.string(), dtype);
}

class OptimizerConformance : public testing::TestWithParam<CaseRun> {};

TEST_P(OptimizerConformance, StepsMatchReference) {
  const CaseRun &run = GetParam();
  fs::path dir = caseDir(run.name);
  if (!fs::exists(dir))
    GTEST_SKIP() << "no conformance data at " << dir;
  ScratchDir scratch(run.name + "-steps-" + run.dtype);
  nlohmann::json manifest = readManifest(dir);

  fs::path outputs = scratch.path / "outputs";
  std::string command =
      baseRunCommand(dir, dir / "inputs", outputs, run.dtype) +
      fmt::format(" --steps-over 'tokens={}' {}",
                  (dir / "inputs" / "batches.npy").string(),
                  optimizerOptions(manifest));
  CommandResult result = runShell(command, scratch.path);
  ASSERT_EQ(result.status, 0) << command << "\n" << result.errors;

  const nlohmann::json &tolerance =
      manifest["tolerance"][run.dtype == "f64" ? "float64" : "float32"];
  double rtol = tolerance["rtol"], atol = tolerance["atol"];
  // The manifest's outputs: losses, after_<param> for every parameter,
  // and for the SGD case grad_norms and clip_coefs.
  int compared = 0;
  for (const std::string name : manifest["outputs"]) {
    EXPECT_TRUE(allClose(dir / "expected" / (name + ".npy"),
                         outputs / (name + ".npy"), rtol, atol))
        << name;
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(manifest["params"].size()) +
                          (manifest["hyper"].contains("max_norm") ? 3 : 1));
}

TEST_P(OptimizerConformance, PlainRunGivesTheFirstLossAndGradients) {
  const CaseRun &run = GetParam();
  fs::path dir = caseDir(run.name);
  if (!fs::exists(dir))
    GTEST_SKIP() << "no conformance data at " << dir;
  ScratchDir scratch(run.name + "-plain-" + run.dtype);
  nlohmann::json manifest = readManifest(dir);

  // The first batch alone, as the model's `tokens` input.
  NpyArray batches = readArray(dir / "inputs" / "batches.npy");
  std::vector<int64_t> shape(batches.shape.begin() + 1, batches.shape.end());
  std::vector<int64_t> all = batches.toInt64s();
  std::vector<int64_t> first(all.begin(),
                             all.begin() + all.size() / batches.shape[0]);
  fs::create_directories(scratch.path / "inputs");
  writeArray(scratch.path / "inputs" / "tokens.npy",
             NpyArray::fromInt64s(shape, first));

  fs::path outputs = scratch.path / "outputs", grads = scratch.path / "grads";
  std::string command =
      baseRunCommand(dir, scratch.path / "inputs", outputs, run.dtype) +
      fmt::format(" --grads '{}'", grads.string());
  CommandResult result = runShell(command, scratch.path);
  ASSERT_EQ(result.status, 0) << command << "\n" << result.errors;

  const nlohmann::json &tolerance =
      manifest["tolerance"][run.dtype == "f64" ? "float64" : "float32"];
  double rtol = tolerance["rtol"], atol = tolerance["atol"];
  EXPECT_TRUE(allClose(dir / "expected" / "loss.npy", outputs / "loss.npy",
                       rtol, atol));
  for (const std::string param : manifest["params"]) {
    std::string file = "grad_" + param + ".npy";
    EXPECT_TRUE(allClose(dir / "expected" / file, grads / file, rtol, atol));
  }
}

std::vector<CaseRun> allRuns() {
  std::vector<CaseRun> runs;
  for (const char *name : {"optim_adam_charlm", "optim_sgd_clip_charlm"})
    for (const char *dtype : {"f64", "f32"})
      runs.push_back({name, dtype});
  return runs;
}

INSTANTIATE_TEST_SUITE_P(Cases, OptimizerConformance,
                         testing::ValuesIn(allRuns()), printCase);

/// A misuse of `--steps-over` fails with status 1 and one line that names
/// the offending file.
class StepsOverMisuse : public testing::Test {
protected:
  void SetUp() override {
    dir = caseDir("optim_sgd_clip_charlm");
    if (!fs::exists(dir))
      GTEST_SKIP() << "no conformance data at " << dir;
  }

  CommandResult runSteps(const std::string &stepsOver,
                         const std::string &extra = "") {
    std::string command =
        baseRunCommand(dir, dir / "inputs", scratch.path / "outputs", "f64") +
        fmt::format(" --steps-over '{}' --optimizer sgd --lr 0.5 {}", stepsOver,
                    extra);
    return runShell(command, scratch.path);
  }

  void expectOneLineError(const CommandResult &result,
                          const std::string &mention) {
    EXPECT_EQ(result.status, 1);
    EXPECT_EQ(std::count(result.errors.begin(), result.errors.end(), '\n'), 1)
        << result.errors;
    EXPECT_NE(result.errors.find(mention), std::string::npos) << result.errors;
    EXPECT_FALSE(fs::exists(scratch.path / "outputs"));
  }

  fs::path dir;
  ScratchDir scratch{"misuse"};
};

TEST_F(StepsOverMisuse, NameThatIsNotAnInput) {
  std::string file = (dir / "inputs" / "batches.npy").string();
  CommandResult result = runSteps("batches=" + file);
  expectOneLineError(result, file);
  EXPECT_NE(result.errors.find("`tokens`"), std::string::npos) << result.errors;
}

TEST_F(StepsOverMisuse, ArrayWithoutTheStepsAxis) {
  // One batch, [T + 1, B], where the steps [K, T + 1, B] belong.
  NpyArray batches = readArray(dir / "inputs" / "batches.npy");
  std::vector<int64_t> all = batches.toInt64s();
  std::vector<int64_t> first(all.begin(),
                             all.begin() + all.size() / batches.shape[0]);
  fs::path file = scratch.path / "one_batch.npy";
  writeArray(file,
             NpyArray::fromInt64s({batches.shape[1], batches.shape[2]}, first));
  CommandResult result = runSteps("tokens=" + file.string());
  expectOneLineError(result, file.string());
}

TEST_F(StepsOverMisuse, NoSteps) {
  NpyArray batches = readArray(dir / "inputs" / "batches.npy");
  fs::path file = scratch.path / "no_steps.npy";
  writeArray(file,
             NpyArray::fromInt64s({0, batches.shape[1], batches.shape[2]}, {}));
  CommandResult result = runSteps("tokens=" + file.string());
  expectOneLineError(result, file.string());
}

TEST_F(StepsOverMisuse, TokenOutOfRangeInALaterStep) {
  NpyArray batches = readArray(dir / "inputs" / "batches.npy");
  std::vector<int64_t> values = batches.toInt64s();
  values.back() = 99;
  fs::path file = scratch.path / "bad_tokens.npy";
  writeArray(file, NpyArray::fromInt64s(batches.shape, values));
  CommandResult result = runSteps("tokens=" + file.string());
  expectOneLineError(result, file.string());
}

TEST_F(StepsOverMisuse, HyperparameterOfTheOtherOptimizer) {
  std::string file = (dir / "inputs" / "batches.npy").string();
  CommandResult result = runSteps("tokens=" + file, "--beta1 0.8");
  expectOneLineError(result, "`--beta1` applies to `--optimizer adam`");
}

TEST_F(StepsOverMisuse, OptionWithoutEquals) {
  CommandResult result = runSteps("tokens");
  expectOneLineError(result, "INPUT=FILE");
}

} // namespace
