// The training loop: see Trainer.h.
#include "runtime/Trainer.h"
#include "runtime/Checkpoint.h"
#include "runtime/Initializers.h"
#include "runtime/Metrics.h"
#include "runtime/Optimizers.h"
#include "runtime/Progress.h"
#include "runtime/Sampling.h"
#include "runtime/Schedules.h"
#include "runtime/Weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <variant>

namespace weft::runtime {

namespace {

using Clock = std::chrono::steady_clock;

const NpyArray *findArray(const NamedArrays &arrays, const std::string &name) {
  for (const auto &[arrayName, array] : arrays)
    if (arrayName == name)
      return &array;
  return nullptr;
}

/// The trainer's state: two compiled programs (with and without the
/// backward pass) and the parameters in float32.
class Trainer {
public:
  Trainer(const TrainOptions &options, const Program &trainProgram,
          const Program &evalProgram, const TrainingModel &model,
          const Corpus &corpus, Batcher batcher)
      : options(options), trainProgram(trainProgram), evalProgram(evalProgram),
        model(model), corpus(corpus), batcher(std::move(batcher)),
        rng(options.seed), trainInstance(trainProgram, options.batch) {}

  bool initializeParams(std::string *error);
  /// Replaces the initial parameters with those of `--load`, if given.
  bool loadWeights(std::string *error);
  bool resume(std::string *error);
  int run();

private:
  void zeroCarriedState(Instance &instance);
  double trainStep(const TokenWindow &window, double learningRate);
  std::optional<double> validationLoss(std::string *error);
  std::string sample(std::string *error);
  void copyTokens(const TokenWindow &window, Instance &instance);
  void copyParams(Instance &target);
  bool checkpoint(int64_t step, std::string *error);
  NamedArrays parameterArrays();
  NamedArrays trainingState(int64_t step);
  bool setParams(const NamedArrays &arrays, const std::string &source,
                 std::string *error);
  Instance &evalInstance(int64_t batch);
  void report(int64_t step, std::optional<double> trainLoss,
              std::optional<double> val, double elapsed, int64_t characters);

  const TrainOptions &options;
  const Program &trainProgram;
  const Program &evalProgram;
  const TrainingModel &model;
  const Corpus &corpus;
  Batcher batcher;
  std::mt19937_64 rng;
  Instance trainInstance;
  std::vector<TrainedTensor<float>> tensors;
  std::variant<Sgd<float>, Adam<float>> optimizer;
  Schedule schedule;
  int64_t startStep = 0; ///< The step a resumed run starts at.
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
  if (!options.metricsPath.empty()) {
    metrics = JsonLinesWriter::open(options.metricsPath, error);
    if (!metrics)
      return false;
  }
  return true;
}

void Trainer::zeroCarriedState(Instance &instance) {
  for (const InputSpec &input : model.carried)
    std::memset(instance.buffer(input.name), 0,
                instance.elements(input.name) * sizeof(float));
}

void Trainer::copyTokens(const TokenWindow &window, Instance &instance) {
  std::memcpy(instance.buffer(model.tokens.name), window.tokens.data(),
              window.tokens.size() * sizeof(int64_t));
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

/// Copies every parameter from `arrays` (read from `source`), which must
/// hold each with the model's shape.
bool Trainer::setParams(const NamedArrays &arrays, const std::string &source,
                        std::string *error) {
  for (const ParamSpec &param : model.params) {
    const NpyArray *array = findArray(arrays, param.name);
    if (!array) {
      *error = fmt::format("`{}` has no parameter `{}`", source, param.name);
      return false;
    }
    if (array->shape != param.shape) {
      *error = fmt::format("`{}`: `{}` has shape [{}], and the model's is [{}]",
                           source, param.name, fmt::join(array->shape, ", "),
                           fmt::join(param.shape, ", "));
      return false;
    }
    std::vector<float> values = array->toFloats();
    std::memcpy(trainInstance.buffer(param.name), values.data(),
                values.size() * sizeof(float));
  }
  return true;
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
  }
  if (options.loadWeights.empty())
    return true;
  std::optional<NamedArrays> arrays = readWeights(options.loadWeights, error);
  return arrays && setParams(*arrays, options.loadWeights, error);
}

/// What resuming needs besides the parameters: the step, the optimiser's
/// buffers and the recurrent state carried into the next window.
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
  for (const InputSpec &input : model.carried) {
    auto *values = static_cast<const float *>(trainInstance.buffer(input.name));
    size_t count = trainInstance.elements(input.name);
    state.push_back({"carry." + input.name,
                     NpyArray::fromFloats({int64_t(count)}, {values, count})});
  }
  return state;
}

/// Continues from `--resume DIR`'s latest checkpoint: its parameters,
/// optimiser buffers and carried state, and the batcher moved on to its
/// step. The run then computes what the uninterrupted run would have.
bool Trainer::resume(std::string *error) {
  if (options.resumeDir.empty())
    return true;
  NamedArrays arrays, state;
  if (!readLatestCheckpoint(options.resumeDir, arrays, state, error) ||
      !setParams(arrays, options.resumeDir, error))
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
  std::visit([&](auto &chosen) { chosen.restore(saved); }, optimizer);
  for (const InputSpec &input : model.carried) {
    const NpyArray *carry = findArray(state, "carry." + input.name);
    size_t count = trainInstance.elements(input.name);
    if (!carry || static_cast<size_t>(carry->elementCount()) != count) {
      *error = fmt::format("`{}` lacks the carried state `{}` of this model",
                           where, input.name);
      return false;
    }
    std::vector<float> values = carry->toFloats();
    std::memcpy(trainInstance.buffer(input.name), values.data(),
                count * sizeof(float));
  }
  for (int64_t i = 0; i < startStep; ++i)
    batcher.next();
  return true;
}

Instance &Trainer::evalInstance(int64_t batch) {
  std::unique_ptr<Instance> &instance = evalInstances[batch];
  if (!instance)
    instance = std::make_unique<Instance>(evalProgram, batch);
  return *instance;
}

/// One step: forward and backward over a window, the carried state kept
/// for the next window, the gradients clipped, and the optimiser's update
/// at `learningRate`.
double Trainer::trainStep(const TokenWindow &window, double learningRate) {
  if (window.resetState)
    zeroCarriedState(trainInstance);
  copyTokens(window, trainInstance);
  trainInstance.run();
  for (const InputSpec &input : model.carried)
    std::memcpy(trainInstance.buffer(input.name),
                trainInstance.buffer(input.carriedFrom),
                trainInstance.elements(input.name) * sizeof(float));
  clipGradientNorm<float>(tensors, options.clip);
  std::string ignored;
  std::visit(
      [&](auto &chosen) {
        chosen.setLearningRate(learningRate);
        chosen.step(tensors, &ignored);
      },
      optimizer);
  return *static_cast<float *>(trainInstance.buffer("loss"));
}

/// The mean loss over the validation windows, each starting from zero state.
std::optional<double> Trainer::validationLoss(std::string *error) {
  int64_t length = model.tokens.steps - 1;
  auto windows = validationWindows(corpus.validation, length, 256, error);
  if (!windows || windows->empty())
    return std::nullopt;
  double total = 0;
  int64_t count = 0;
  for (const TokenWindow &window : *windows) {
    Instance &instance = evalInstance(window.batch);
    copyParams(instance);
    zeroCarriedState(instance);
    copyTokens(window, instance);
    instance.run();
    total += *static_cast<float *>(instance.buffer("loss")) * window.batch;
    count += window.batch;
  }
  return total / static_cast<double>(count);
}

/// Continues the start of the validation text, one byte at a time, reading
/// the logits at the last position of a sliding window.
std::string Trainer::sample(std::string *error) {
  int64_t length = model.tokens.steps - 1;
  if (model.logits.empty() ||
      static_cast<int64_t>(corpus.validation.size()) < length)
    return "";
  std::vector<int64_t> context(corpus.validation.begin(),
                               corpus.validation.begin() + length);
  Instance &instance = evalInstance(1);
  copyParams(instance);
  int64_t vocab = model.tokens.vocab;
  std::string text;
  for (int64_t i = 0; i < options.sampleLength; ++i) {
    TokenWindow window;
    window.tokens.assign(context.end() - length, context.end());
    window.tokens.push_back(0);
    zeroCarriedState(instance);
    copyTokens(window, instance);
    instance.run();
    auto *logits = static_cast<float *>(instance.buffer(model.logits));
    std::span<const float> last(logits + (length - 1) * vocab, vocab);
    std::optional<int64_t> next =
        sampleIndex(last, options.temperature, rng, error);
    if (!next)
      return text;
    context.push_back(*next);
    text += static_cast<char>(corpus.vocabulary[*next]);
  }
  return text;
}

void Trainer::report(int64_t step, std::optional<double> trainLoss,
                     std::optional<double> val, double elapsed,
                     int64_t characters) {
  ProgressReport progress;
  progress.step = step;
  progress.totalSteps = options.steps.value_or(0);
  progress.trainLoss = trainLoss;
  progress.validationLoss = val;
  progress.charactersPerSecond = elapsed > 0 ? characters / elapsed : 0;
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
  if (metrics) {
    nlohmann::json record = {{"step", step}, {"elapsed_s", elapsed}};
    if (trainLoss)
      record["train_loss"] = *trainLoss;
    if (val)
      record["val_loss"] = *val;
    std::string ignored;
    metrics->write(record, &ignored);
  }
}

int Trainer::run() {
  std::string error;
  int64_t length = model.tokens.steps - 1;
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
      std::optional<double> val = validationLoss(&error);
      report(step, trainLoss, val, elapsed(),
             (step - startStep) * options.batch * length);
      if (!checkpoint(step, &error)) {
        std::fprintf(stderr, "weft: error: %s\n", error.c_str());
        return 1;
      }
    } else if (step % 50 == 0) {
      report(step, trainLoss, std::nullopt, elapsed(),
             (step - startStep) * options.batch * length);
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
    trainLoss = trainStep(batcher.next(), schedule.rateAt(step, progress));
    if (!std::isfinite(*trainLoss)) {
      std::fprintf(stderr,
                   "weft: error: the training loss became %f at "
                   "step %lld\n",
                   *trainLoss, static_cast<long long>(step));
      return 1;
    }
  }
  std::string text = sample(&error);
  std::printf("\n--- sample (temperature %.2f) ---\n%s\n", options.temperature,
              text.c_str());
  return 0;
}

} // namespace

std::optional<Batcher> trainingBatcher(const Corpus &corpus,
                                       const TrainOptions &options,
                                       const TrainingModel &model,
                                       std::string *error) {
  std::optional<Batcher> batcher = Batcher::create(
      corpus.train, options.batch, model.tokens.steps - 1, error);
  if (!batcher)
    *error += "; use more text, a smaller `--batch`, or shorter windows";
  return batcher;
}

int train(const TrainOptions &options, const Program &trainProgram,
          const Program &evalProgram, const TrainingModel &model,
          const Corpus &corpus, Batcher batcher) {
  std::string error;
  int64_t length = model.tokens.steps - 1;
  std::printf("vocabulary %zu bytes (ln %.4f), %zu training and %zu "
              "validation characters\n",
              corpus.vocabulary.size(),
              std::log(static_cast<double>(corpus.vocabulary.size())),
              corpus.train.size(), corpus.validation.size());
  if (corpus.validation.size() < static_cast<size_t>(length + 1))
    std::printf("the validation text is shorter than one window: no "
                "validation loss\n");
  Trainer trainer(options, trainProgram, evalProgram, model, corpus,
                  std::move(batcher));
  if (!trainer.initializeParams(&error) || !trainer.loadWeights(&error) ||
      !trainer.resume(&error)) {
    std::fprintf(stderr, "weft: error: %s\n", error.c_str());
    return 1;
  }
  return trainer.run();
}

} // namespace weft::runtime
