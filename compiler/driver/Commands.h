// The `weft` subcommands. Each returns the process exit status.
#pragma once

#include "runtime/TrainOptions.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weft::driver {

/// `weft check FILE...`: the front end and semantic checks only.
int checkCommand(const std::vector<std::string> &files);

struct EmitOptions {
  std::string stage; ///< ast, ir, grad-ir, lowered, llvm or ptx
  std::string file;
  std::vector<std::string> sizes;
  bool useDouble = false;
  std::string gpu = "sm_80"; ///< For ptx.
};
/// `weft --emit=STAGE FILE`: prints one stage's output.
int emitCommand(const EmitOptions &options);

/// `weft run --steps-over INPUT=FILE --optimizer NAME`: one optimiser step
/// per slice of FILE in place of a single run. Unset hyperparameters take
/// PyTorch's defaults.
struct OptimizerStepOptions {
  std::string stepsOver; ///< INPUT=FILE; empty for a single run.
  std::string optimizer; ///< sgd or adam
  double learningRate = 1e-3;
  std::optional<double> momentum, beta1, beta2, epsilon;
  std::optional<double> clip; ///< The global gradient-norm limit, if any.
};

struct RunOptions {
  std::string model;
  std::string paramsDir, inputsDir, outputsDir, gradsDir;
  std::vector<std::string> sizes;
  bool useDouble = false;
  std::string device = "cpu"; ///< cpu, cuda or gpu-emulated.
  OptimizerStepOptions stepping;
};
/// `weft run`: the model on given arrays; writes outputs and gradients, or
/// with `stepping.stepsOver` the losses and parameters of optimiser steps.
int runCommand(const RunOptions &options);

struct TrainOptions {
  std::string model;
  std::vector<std::string> sizes;
  runtime::TrainOptions training;
};
struct BuildOptions {
  std::string model;
  std::vector<std::string> sizes;
  bool train = false;         ///< A standalone trainer.
  std::string target = "cpu"; ///< cpu, or cuda: the trainer has PTX too.
  std::string emit;   ///< obj or header, for embedding the forward pass.
  std::string output; ///< The executable, object or header to write.
  std::string data;   ///< The text whose distinct bytes bind `token(V)`.
  std::string prefix; ///< The C names' prefix; the model's name by default.
};
/// `weft build MODEL --train -o NAME` or `--emit=obj|header -o FILE`.
int buildCommand(const BuildOptions &options);

struct PlotOptions {
  std::vector<std::string> metrics; ///< JSON-lines files of `weft train`.
  std::string output;               ///< The PNG to write.
  bool byTime = false;              ///< x is the elapsed time, not the step.
};
/// `weft plot METRICS... -o FILE.png`: draws the loss curves.
int plotCommand(const PlotOptions &options);

struct DataOptions {
  std::string task; ///< A name of runtime::taskNames().
  int64_t count = 1000;
  uint64_t seed = 1;
  std::string output; ///< The folder to write `<array>.npy` into.
  /// `copy` only: the range of sequence lengths, when given.
  std::optional<int64_t> minLength, maxLength;
};
/// `weft data TASK -o FOLDER`: writes a synthetic task's arrays.
int dataCommand(const DataOptions &options);

/// `weft train`: trains a model on text, printing progress.
int trainCommand(const TrainOptions &options);

} // namespace weft::driver
