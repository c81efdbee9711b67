// The training loop: see Trainer.h.
#include "runtime/Trainer.h"
#include "runtime/Checkpoint.h"
#include "runtime/Cuda.h"
#include "runtime/Initializers.h"
#include "runtime/Metrics.h"
#include "runtime/Optimizers.h"
#include "runtime/Progress.h"
#include "runtime/Schedules.h"
#include "runtime/Weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <variant>

#include <unistd.h>

namespace weft::runtime {

namespace {

using Clock = std::chrono::steady_clock;

/// The trainer's state: two compiled programs (with and without the
/// backward pass) and the parameters in float32.
class Trainer {
public:
  Trainer(const TrainOptions &options, const Program &trainProgram,
          const Program &evalProgram, const TrainingModel &model,
          DataFeed &feed)
      : options(options), trainProgram(trainProgram), evalProgram(evalProgram),
        model(model), feed(feed), rng(options.seed),
        trainInstance(trainProgram, options.batch) {}

  bool initializeParams(std::string *error);
  /// Replaces the initial parameters with those of `--load`, if given.
  bool loadWeights(std::string *error);
  bool resume(std::string *error);
  bool continueMetrics(std::string *error);
  int run();

private:
  double trainStep(double learningRate);
  void copyParams(Instance &target);
  /// The forward program's buffers for `batch`, with the parameters now.
  Instance &preparedEvalInstance(int64_t batch);
  bool checkpoint(int64_t step, std::string *error);
  NamedArrays parameterArrays();
  NamedArrays trainingState(int64_t step);
  void report(int64_t step, std::optional<double> trainLoss,
              const std::optional<Validation> &validation, double elapsed,
              int64_t items);

  const TrainOptions &options;
  const Program &trainProgram;
  const Program &evalProgram;
  const TrainingModel &model;
  DataFeed &feed;
  std::mt19937_64 rng;
  Instance trainInstance;
  std::vector<TrainedTensor<float>> tensors;
  std::variant<Sgd<float>, Adam<float>> optimizer;
  Schedule schedule;
  int64_t startStep = 0; ///< The step a resumed run starts at.
  /// The last elapsed time in the metrics of the run a resumed one goes on
  /// from.
  double elapsedBefore = 0;
  bool startStepLogged = false; ///< The resumed metrics have `startStep`.
  int64_t skippedSteps = 0;     ///< Updates left out for non-finite gradients.
  int nonFiniteInARow = 0;
  static constexpr int maxNonFiniteInARow = 10;
  std::optional<JsonLinesWriter> metrics;
  /// Buffers of the forward program, by batch size, kept between
  /// validations.
  std::map<int64_t, std::unique_ptr<Instance>> evalInstances;
};

bool Trainer::initializeParams(std::string *error) {
  for (const ParamSpec &param : model.params) {
    auto *values = static_cast<float *>(trainInstance.buffer(param.name));
    auto *gradient =
        static_cast<float *>(trainInstance.buffer("grad_" + param.name));
    size_t count = trainInstance.elements(param.name);
    std::span<float> span(values, count);
    if (!initialize(param.init, param.initArgs, param.shape, span, rng,
                    error)) {
      *error = fmt::format("parameter `{}`: {}", param.name, *error);
      return false;
    }
    tensors.push_back({span, std::span<float>(gradient, count)});
  }
  if (options.optimizer == "sgd" || options.optimizer == "momentum") {
    SgdOptions sgd;
    sgd.learningRate = options.learningRate;
    sgd.momentum = options.optimizer == "momentum" ? options.momentum : 0;
    sgd.weightDecay = options.weightDecay;
    optimizer = Sgd<float>(sgd);
  } else {
    AdamOptions adam;
    adam.learningRate = options.learningRate;
    adam.weightDecay = options.weightDecay;
    adam.decoupledWeightDecay = options.optimizer == "adamw";
    optimizer = Adam<float>(adam);
  }
  schedule.kind =
      parseScheduleKind(options.schedule).value_or(ScheduleKind::Constant);
  schedule.baseRate = options.learningRate;
  schedule.warmupSteps = options.warmupSteps;
  schedule.every = options.decayEvery;
  schedule.gamma = options.decayFactor;
  // A resumed run continues its metrics file once it knows its step.
  if (!options.metricsPath.empty() && options.resumeDir.empty()) {
    metrics = JsonLinesWriter::open(options.metricsPath, error);
    if (!metrics)
      return false;
  }
  return true;
}

/// Keeps the records of `--metrics` up to `startStep` (a killed run may
/// have logged steps after its checkpoint) and appends after them, the
/// elapsed times going on from the last one kept.
bool Trainer::continueMetrics(std::string *error) {
  std::string kept;
  std::ifstream previous(options.metricsPath);
  for (std::string line; std::getline(previous, line);) {
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.contains("step") ||
        !record["step"].is_number_integer() ||
        record["step"].get<int64_t>() > startStep)
      continue;
    // The checkpoint's own step was logged with its training loss; the
    // resumed run's validation there would only repeat it.
    if (record["step"].get<int64_t>() == startStep)
      startStepLogged = true;
    if (record.contains("elapsed_s") && record["elapsed_s"].is_number())
      elapsedBefore = record["elapsed_s"].get<double>();
    kept += line + "\n";
  }
  previous.close();
  std::ofstream rewritten(options.metricsPath, std::ios::trunc);
  rewritten << kept;
  rewritten.close();
  metrics = JsonLinesWriter::open(options.metricsPath, error, true);
  return metrics.has_value();
}

void Trainer::copyParams(Instance &target) {
  for (const ParamSpec &param : model.params)
    std::memcpy(target.buffer(param.name), trainInstance.buffer(param.name),
                trainInstance.elements(param.name) * sizeof(float));
}

NamedArrays Trainer::parameterArrays() {
  NamedArrays arrays;
  for (const ParamSpec &param : model.params) {
    auto *values = static_cast<const float *>(trainInstance.buffer(param.name));
    size_t count = trainInstance.elements(param.name);
    arrays.push_back(
        {param.name, NpyArray::fromFloats(param.shape, {values, count})});
  }
  return arrays;
}

/// Saves every parameter as `<checkpoint>/step-<N>/<name>.npy`, ready for
/// `weft run --params <checkpoint>/latest`.
bool Trainer::checkpoint(int64_t step, std::string *error) {
  const std::string &dir =
      options.checkpointDir.empty() ? options.resumeDir : options.checkpointDir;
  if (dir.empty())
    return true;
  NamedArrays state = trainingState(step);
  return writeCheckpoint(dir, step, parameterArrays(), error, &state);
}

bool Trainer::loadWeights(std::string *error) {
  // A `--save` that cannot be written fails now, not after the training.
  if (!options.saveWeights.empty()) {
    std::filesystem::path target(options.saveWeights);
    std::filesystem::path folder = target.has_parent_path()
                                       ? target.parent_path()
                                       : std::filesystem::path(".");
    if (!isWeightsFile(options.saveWeights)) {
      *error = fmt::format("`--save {}`: weights files end in .npz or "
                           ".safetensors",
                           options.saveWeights);
      return false;
    }
    if (!std::filesystem::is_directory(folder)) {
      *error = fmt::format("`--save {}`: the folder `{}` does not exist",
                           options.saveWeights, folder.string());
      return false;
    }
    if (model.params.empty()) {
      *error = fmt::format("`--save {}`: the model has no parameters to save",
                           options.saveWeights);
      return false;
    }
    if (::access(folder.c_str(), W_OK) != 0) {
      *error = fmt::format("`--save {}`: cannot write in `{}`: {}",
                           options.saveWeights, folder.string(),
                           std::strerror(errno));
      return false;
    }
  }
  if (options.loadWeights.empty())
    return true;
  std::optional<NamedArrays> arrays = readWeights(options.loadWeights, error);
  return arrays && setParameters(*arrays, model.params, options.loadWeights,
                                 trainInstance, error);
}

/// What resuming needs besides the parameters: the step, the optimiser's
/// buffers and what the data feed keeps (a text's carried state).
NamedArrays Trainer::trainingState(int64_t step) {
  NamedArrays state;
  auto scalar = [](int64_t value) {
    return NpyArray::fromInt64s({}, std::span(&value, 1));
  };
  OptimizerState<float> saved =
      std::visit([](auto &chosen) { return chosen.state(); }, optimizer);
  state.push_back({"step", scalar(step)});
  state.push_back({"optimizer.steps", scalar(saved.steps)});
  for (size_t k = 0; k < saved.buffers.size(); ++k)
    state.push_back({fmt::format("optimizer.{}", k),
                     NpyArray::fromFloats({int64_t(saved.buffers[k].size())},
                                          saved.buffers[k])});
  for (auto &entry : feed.state(trainInstance))
    state.push_back(std::move(entry));
  return state;
}

/// Continues from `--resume DIR`'s latest checkpoint: its parameters,
/// optimiser buffers and the feed's state, and the feed moved on to its
/// step. The run then computes what the uninterrupted run would have.
bool Trainer::resume(std::string *error) {
  if (options.resumeDir.empty()) {
    // A new run would prune the old run's checkpoints, or be pruned by them.
    if (!options.checkpointDir.empty() &&
        hasCheckpoint(options.checkpointDir)) {
      *error = fmt::format("`{}` holds the checkpoints of an earlier run: go "
                           "on with `--resume {}`, or choose another folder",
                           options.checkpointDir, options.checkpointDir);
      return false;
    }
    return true;
  }
  NamedArrays arrays, state;
  if (!readLatestCheckpoint(options.resumeDir, arrays, state, error) ||
      !setParameters(arrays, model.params, options.resumeDir, trainInstance,
                     error))
    return false;
  std::string where = options.resumeDir + "/latest/state.safetensors";
  const NpyArray *step = findArray(state, "step");
  const NpyArray *steps = findArray(state, "optimizer.steps");
  if (!step || !steps) {
    *error = fmt::format("`{}` lacks the step or the optimiser's steps", where);
    return false;
  }
  startStep = step->toInt64s().at(0);
  OptimizerState<float> saved;
  saved.steps = steps->toInt64s().at(0);
  for (size_t k = 0;; ++k) {
    const NpyArray *buffer = findArray(state, fmt::format("optimizer.{}", k));
    if (!buffer)
      break;
    saved.buffers.push_back(buffer->toFloats());
  }
  // Another optimiser's buffers would not fit this one's updates.
  size_t tensorCount = model.params.size();
  size_t expected = options.optimizer == "sgd"        ? 0
                    : options.optimizer == "momentum" ? tensorCount
                                                      : 2 * tensorCount;
  if (!saved.buffers.empty() && saved.buffers.size() != expected) {
    const char *trainedWith =
        saved.buffers.size() == tensorCount       ? "SGD with momentum"
        : saved.buffers.size() == 2 * tensorCount ? "Adam or AdamW"
                                                  : "another optimiser";
    *error = fmt::format("`{}` was trained with {}: resume it with the same "
                         "`--optimizer`, not `{}`",
                         options.resumeDir, trainedWith, options.optimizer);
    return false;
  }
  std::visit([&](auto &chosen) { chosen.restore(saved); }, optimizer);
  if (!feed.restore(state, trainInstance, where, error))
    return false;
  feed.skip(startStep);
  return options.metricsPath.empty() || continueMetrics(error);
}

Instance &Trainer::preparedEvalInstance(int64_t batch) {
  std::unique_ptr<Instance> &instance = evalInstances[batch];
  if (!instance)
    instance = std::make_unique<Instance>(evalProgram, batch);
  copyParams(*instance);
  return *instance;
}

/// One step: forward and backward over the feed's next batch, the
/// gradients clipped, and the optimiser's update at `learningRate`.
double Trainer::trainStep(double learningRate) {
  feed.fillNextBatch(trainInstance);
  trainInstance.run();
  feed.afterStep(trainInstance);
  double norm = options.clip > 0
                    ? clipGradientNorm<float>(tensors, options.clip)
                    : globalGradientNorm<float>(tensors);
  if (!std::isfinite(norm)) {
    // An overflow in one batch's backward pass would make every parameter
    // NaN; the step is left out, and said so.
    ++skippedSteps;
    std::printf("a gradient was not finite (norm %g): the update is "
                "skipped\n",
                norm);
    std::fflush(stdout);
    return *static_cast<float *>(trainInstance.buffer("loss"));
  }
  std::string problem;
  bool stepped = std::visit(
      [&](auto &chosen) {
        chosen.setLearningRate(learningRate);
        return chosen.step(tensors, &problem);
      },
      optimizer);
  // The tensors never change during a run, so this is a bug, not bad input.
  if (!stepped)
    throw std::logic_error("the optimiser refused its tensors: " + problem);
  return *static_cast<float *>(trainInstance.buffer("loss"));
}

void Trainer::report(int64_t step, std::optional<double> trainLoss,
                     const std::optional<Validation> &validation,
                     double elapsed, int64_t items) {
  ProgressReport progress;
  progress.step = step;
  progress.totalSteps = options.steps.value_or(0);
  progress.trainLoss = trainLoss;
  if (validation) {
    progress.validationLoss = validation->loss;
    progress.scores = validation->scores;
  }
  progress.itemsPerSecond = elapsed > 0 ? items / elapsed : 0;
  progress.itemName = feed.itemName();
  // The time left is the time limit's, or the steps' when they end first.
  double remaining = options.maxSeconds - elapsed;
  int64_t taken = step - startStep; // this run's steps, after a resume too
  if (options.steps && taken > 0)
    remaining = std::min(remaining, elapsed / double(taken) *
                                        double(*options.steps - step));
  if (!options.steps || taken > 0)
    progress.remainingSeconds = std::max(0.0, remaining);
  std::printf("%s\n", formatProgress(progress).c_str());
  std::fflush(stdout);
  if (metrics && !(startStepLogged && step == startStep)) {
    nlohmann::json record = {{"step", step},
                             {"elapsed_s", elapsedBefore + elapsed}};
    if (skippedSteps > 0)
      record["skipped_steps"] = skippedSteps;
    if (trainLoss)
      record["train_loss"] = *trainLoss;
    if (validation) {
      record["val_loss"] = validation->loss;
      for (const auto &[name, value] : validation->scores)
        record[name] = value;
    }
    std::string ignored;
    metrics->write(record, &ignored);
  }
}

int Trainer::run() {
  std::string error;
  auto start = Clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  std::optional<double> trainLoss;
  int64_t step = startStep;
  for (;; ++step) {
    bool last = (options.steps && step >= *options.steps) ||
                elapsed() >= options.maxSeconds;
    if (step % options.evalEvery == 0 || last) {
      PreparedInstance prepared = [this](int64_t batch) -> Instance & {
        return preparedEvalInstance(batch);
      };
      std::optional<Validation> validation = feed.validate(prepared, &error);
      report(step, trainLoss, validation, elapsed(),
             (step - startStep) * feed.itemsPerStep());
      if (!checkpoint(step, &error)) {
        std::fprintf(stderr, "weft: error: %s\n", error.c_str());
        return 1;
      }
    } else if (step % 50 == 0) {
      report(step, trainLoss, std::nullopt, elapsed(),
             (step - startStep) * feed.itemsPerStep());
    }
    if (last) {
      if (!options.saveWeights.empty() &&
          !writeWeights(options.saveWeights, parameterArrays(), &error)) {
        std::fprintf(stderr, "weft: error: %s\n", error.c_str());
        return 1;
      }
      break;
    }
    // The cosine follows the run's end: its steps, else its time.
    double progress = options.steps && *options.steps > 0
                          ? double(step) / double(*options.steps)
                          : elapsed() / options.maxSeconds;
    trainLoss = trainStep(schedule.rateAt(step, progress));
    // One batch with a non-finite loss is skipped (trainStep leaves its
    // update out); a run of them means training has diverged.
    nonFiniteInARow = std::isfinite(*trainLoss) ? 0 : nonFiniteInARow + 1;
    if (nonFiniteInARow >= maxNonFiniteInARow) {
      std::fprintf(stderr,
                   "weft: error: the training loss was %f for %d steps in a "
                   "row, up to step %lld: training has diverged\n",
                   *trainLoss, maxNonFiniteInARow,
                   static_cast<long long>(step));
      return 1;
    }
  }
  std::string ending = feed.finish(
      [this](int64_t batch) -> Instance & {
        return preparedEvalInstance(batch);
      },
      rng, &error);
  if (!ending.empty())
    std::printf("%s\n", ending.c_str());
  return 0;
}

} // namespace

int train(const TrainOptions &options, const Program &trainProgram,
          const Program &evalProgram, const TrainingModel &model,
          DataFeed &feed) {
  std::string error;
  std::printf("%s\n", feed.describe().c_str());
  Trainer trainer(options, trainProgram, evalProgram, model, feed);
  if (!trainer.initializeParams(&error) || !trainer.loadWeights(&error) ||
      !trainer.resume(&error)) {
    std::fflush(stdout); // the error comes after the lines before it
    std::fprintf(stderr, "weft: error: %s\n", error.c_str());
    return 1;
  }
  return trainer.run();
}

bool checkTrainingDevice(const TrainOptions &options, std::string *error) {
  if (options.device != "cuda")
    return true;
  return cudaDeviceCount(error).has_value();
}

} // namespace weft::runtime
