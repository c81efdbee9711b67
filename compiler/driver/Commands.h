// The `weft` subcommands. Each returns the process exit status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weft::driver {

/// `weft check FILE...`: the front end and semantic checks only.
int checkCommand(const std::vector<std::string> &files);

struct EmitOptions {
  std::string stage; ///< ast, ir, grad-ir, lowered or llvm
  std::string file;
  std::vector<std::string> sizes;
  bool useDouble = false;
};
/// `weft --emit=STAGE FILE`: prints one stage's output.
int emitCommand(const EmitOptions &options);

struct RunOptions {
  std::string model;
  std::string paramsDir, inputsDir, outputsDir, gradsDir;
  std::vector<std::string> sizes;
  bool useDouble = false;
};
/// `weft run`: the model on given arrays; writes outputs and gradients.
int runCommand(const RunOptions &options);

struct TrainOptions {
  std::string model;
  std::string data;
  std::optional<int64_t> steps;
  uint64_t seed = 0;
  std::string metricsPath;
  std::string checkpointDir;
  std::vector<std::string> sizes;
  int64_t batch = 32;
  double learningRate = 2e-3;
  double clip = 1.0;
  double maxSeconds = 540;
  int64_t evalEvery = 200;
  int64_t sampleLength = 300;
  double temperature = 0.8;
};
/// `weft train`: trains a model on text, printing progress.
int trainCommand(const TrainOptions &options);

} // namespace weft::driver
