// The GPU path end to end. `GpuPlan` tests run everywhere: they train on
// the GPU's kernels and launch plan emulated on this CPU, and check what a
// machine without a GPU says. `Gpu` tests (ctest label `gpu`) train on a
// real GPU and compare with the CPU; they skip where there is none.
#include "CommandSupport.h"
#include "runtime/Cuda.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

namespace fs = std::filesystem;

namespace {

using namespace weft::test;

const std::string charModel =
    fmt::format("{}/examples/char_lm.weft", WEFT_SOURCE_DIR);

/// The losses of a metrics file, in order, by record and name.
std::vector<std::pair<std::string, double>> losses(const fs::path &metrics) {
  std::vector<std::pair<std::string, double>> found;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json record = nlohmann::json::parse(line);
    for (const char *name : {"train_loss", "val_loss"})
      if (record.contains(name))
        found.push_back(
            {fmt::format("step {} {}", record["step"].get<int>(), name),
             record[name].get<double>()});
  }
  return found;
}

/// Trains char_lm a few steps with `command` (a `weft train` or a built
/// trainer, without the metrics option) on `--device device`, and returns
/// its losses.
std::vector<std::pair<std::string, double>>
trainLosses(const std::string &command, const std::string &device,
            const fs::path &dir, const fs::path &text) {
  fs::path metrics = dir / (device + ".jsonl");
  CommandResult result = runCommand(
      fmt::format("{} --data '{}' --steps 6 --eval-every 3 --batch 4 --seed 5 "
                  "--sample 0 --threads 1 --device {} --metrics '{}'",
                  command, text.string(), device, metrics.string()));
  EXPECT_EQ(result.status, 0) << result.output;
  return losses(metrics);
}

void expectSameLosses(const std::vector<std::pair<std::string, double>> &cpu,
                      const std::vector<std::pair<std::string, double>> &other,
                      double tolerance) {
  ASSERT_EQ(other.size(), cpu.size());
  ASSERT_GE(cpu.size(), 4u);
  for (size_t i = 0; i < cpu.size(); ++i) {
    EXPECT_EQ(other[i].first, cpu[i].first);
    EXPECT_NEAR(other[i].second, cpu[i].second,
                tolerance * std::abs(cpu[i].second))
        << other[i].first;
  }
}

bool hasGpu(std::string *why) {
  return weft::runtime::cudaDeviceCount(why).has_value();
}

TEST(GpuPlan, TrainingOnTheEmulatedGpuGivesTheCpuLosses) {
  fs::path dir = freshDir("gpu-emulated");
  fs::path text = writeSampleText(dir);
  std::string train = fmt::format("'{}' train '{}'", WEFT_BINARY, charModel);
  expectSameLosses(trainLosses(train, "cpu", dir, text),
                   trainLosses(train, "gpu-emulated", dir, text), 1e-5);
}

/// Builds the character model's trainer for CUDA at `trainer`.
void buildCudaTrainer(const fs::path &text, const fs::path &trainer) {
  CommandResult built = runCommand(
      fmt::format("'{}' build '{}' --train --target=cuda --data '{}' -o '{}'",
                  WEFT_BINARY, charModel, text.string(), trainer.string()));
  ASSERT_EQ(built.status, 0) << built.output;
}

TEST(GpuPlan, CudaTrainerWithoutAGpuSaysSoInOneLineAndTrainsOnTheCpu) {
  std::string why;
  if (hasGpu(&why))
    GTEST_SKIP() << "this machine has a GPU: see the `Gpu` tests";
  fs::path dir = freshDir("build-cuda");
  fs::path text = writeSampleText(dir);
  fs::path trainer = dir / "trainer";
  ASSERT_NO_FATAL_FAILURE(buildCudaTrainer(text, trainer));

  CommandResult onGpu = runCommand(fmt::format(
      "'{}' --data '{}' --steps 1", trainer.string(), text.string()));
  EXPECT_EQ(onGpu.status, 1) << onGpu.output;
  EXPECT_EQ(std::count(onGpu.output.begin(), onGpu.output.end(), '\n'), 1)
      << onGpu.output;
  EXPECT_NE(onGpu.output.find("GPU"), std::string::npos) << onGpu.output;

  std::string train = fmt::format("'{}' train '{}'", WEFT_BINARY, charModel);
  expectSameLosses(trainLosses(train, "cpu", dir, text),
                   trainLosses("'" + trainer.string() + "'", "cpu", dir, text),
                   0);
}

// On a GPU, `log` and `pow` use the hardware's approximations, and sums
// run in another order: the losses agree to float32 rounding, not exactly.
const double gpuTolerance = 1e-4;

TEST(Gpu, CharModelTrainsAsOnTheCpu) {
  std::string why;
  if (!hasGpu(&why))
    GTEST_SKIP() << why;
  fs::path dir = freshDir("gpu-train");
  fs::path text = writeSampleText(dir);
  std::string train = fmt::format("'{}' train '{}'", WEFT_BINARY, charModel);
  expectSameLosses(trainLosses(train, "cpu", dir, text),
                   trainLosses(train, "cuda", dir, text), gpuTolerance);
}

TEST(Gpu, TrainerBuiltForCudaTrainsAsOnTheCpu) {
  std::string why;
  if (!hasGpu(&why))
    GTEST_SKIP() << why;
  fs::path dir = freshDir("gpu-build");
  fs::path text = writeSampleText(dir);
  fs::path trainer = dir / "trainer";
  ASSERT_NO_FATAL_FAILURE(buildCudaTrainer(text, trainer));
  std::string train = fmt::format("'{}' train '{}'", WEFT_BINARY, charModel);
  expectSameLosses(trainLosses(train, "cpu", dir, text),
                   trainLosses("'" + trainer.string() + "'", "cuda", dir, text),
                   gpuTolerance);
}

} // namespace
