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
  OptimizerStepOptions stepping;
};
/// `weft run`: the model on given arrays; writes outputs and gradients, or
/// with `stepping.stepsOver` the losses and parameters of optimiser steps.
int runCommand(const RunOptions &options);

struct TrainOptions {
  std::string model;
  std::string data;
  std::optional<int64_t> steps;
  uint64_t seed = 0;
  std::string metricsPath;
  std::string checkpointDir;
  std::string loadWeights; ///< .npz or .safetensors to start from.
  std::string resumeDir;   ///< A --checkpoint folder to continue from.
  std::string saveWeights; ///< .npz or .safetensors written at the end.
  std::vector<std::string> sizes;
  int64_t batch = 32;
  double learningRate = 2e-3;
  std::string optimizer = "adam";    ///< sgd, momentum, adam or adamw.
  double momentum = 0.9;             ///< For `momentum`.
  double weightDecay = 0;            ///< L2 (sgd, adam) or decoupled (adamw).
  std::string schedule = "constant"; ///< constant, step or cosine.
  int64_t warmupSteps = 0;
  int64_t decayEvery = 1000; ///< `step`: the period.
  double decayFactor = 0.5;  ///< `step`: the factor per period.
  double clip = 1.0;
  double maxSeconds = 540;
  int64_t evalEvery = 200;
  int64_t sampleLength = 300;
  double temperature = 0.8;
};
struct PlotOptions {
  std::vector<std::string> metrics; ///< JSON-lines files of `weft train`.
  std::string output;               ///< The PNG to write.
  bool byTime = false;              ///< x is the elapsed time, not the step.
};
/// `weft plot METRICS... -o FILE.png`: draws the loss curves.
int plotCommand(const PlotOptions &options);

/// `weft train`: trains a model on text, printing progress.
int trainCommand(const TrainOptions &options);

} // namespace weft::driver
