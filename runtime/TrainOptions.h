// The options of a training run, shared by `weft train` and by the
// standalone trainers that `weft build --train` writes, so that both take
// the same command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace weft::runtime {

struct TrainOptions {
  std::string data;                   ///< Text to train on.
  std::vector<std::string> trainData; ///< Examples: INPUT=FILE or folders.
  std::vector<std::string> testData;
  std::string score;          ///< OUTPUT=INPUT, scored at each validation.
  std::string device = "cpu"; ///< cpu, cuda or gpu-emulated.
  std::optional<int64_t> steps;
  uint64_t seed = 0;
  std::string metricsPath;
  std::string checkpointDir;
  std::string loadWeights; ///< .npz or .safetensors to start from.
  std::string resumeDir;   ///< A --checkpoint folder to continue from.
  std::string saveWeights; ///< .npz or .safetensors written at the end.
  int64_t batch = 32;
  double learningRate = 2e-3;
  std::string optimizer = "adam";    ///< sgd, momentum, adam or adamw.
  double momentum = 0.9;             ///< For `momentum`.
  double weightDecay = 0;            ///< L2 (sgd, adam) or decoupled (adamw).
  std::string schedule = "constant"; ///< constant, step or cosine.
  int64_t warmupSteps = 0;
  int64_t decayEvery = 1000; ///< `step`: the period.
  double decayFactor = 0.5;  ///< `step`: the factor per period.
  double clip = 1.0;         ///< Global gradient-norm limit; 0 for none.
  double maxSeconds = 540;
  int64_t evalEvery = 200;
  int64_t sampleLength = 300;
  double temperature = 0.8;
};

/// Adds every training option (all but the model and `--set`) to `app`.
void addTrainOptions(CLI::App &app, TrainOptions &options);

} // namespace weft::runtime
