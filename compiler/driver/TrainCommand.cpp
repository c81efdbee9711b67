// `weft train`: trains a model with one token stream input on text, with
// truncated backpropagation through time over windows whose recurrent state
// is carried from one window to the next, an optimiser (SGD, momentum,
// Adam, AdamW) on a learning-rate schedule, gradient-norm clipping,
// periodic validation, and a generated sample at the end.
#include "compiler/driver/Commands.h"
#include "compiler/driver/Pipeline.h"
#include "runtime/Checkpoint.h"
#include "runtime/Corpus.h"
#include "runtime/Initializers.h"
#include "runtime/Metrics.h"
#include "runtime/Optimizers.h"
#include "runtime/Progress.h"
#include "runtime/Sampling.h"
#include "runtime/Schedules.h"
#include "runtime/Weights.h"
#include "runtime/Windows.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <variant>

namespace weft::driver {

namespace {

using Clock = std::chrono::steady_clock;

/// The model's token stream input and the state it carries across windows.
struct TrainingShape {
  const sema::InputInfo *tokens = nullptr;
  std::vector<const sema::InputInfo *> carried;
  std::string logits; ///< The stream output of per-step logits, if any.
};

bool findTrainingShape(const sema::ModelInfo &info,
                       const ir::Function &function, TrainingShape &shape,
                       DiagnosticEngine &diags) {
  for (const sema::InputInfo &input : info.inputs) {
    if (input.isToken && input.steps > 1 && !shape.tokens)
      shape.tokens = &input;
    else if (!input.carriedFrom.empty())
      shape.carried.push_back(&input);
    else {
      diags.errorWithoutLocation(fmt::format(
          "`weft train` feeds one token stream; the input `{}` would need "
          "data too",
          input.name));
      return false;
    }
  }
  if (!shape.tokens) {
    diags.errorWithoutLocation("`weft train` needs a model with a token "
                               "stream input, such as `input text[n]: "
                               "token(V)`");
    return false;
  }
  for (const ir::NamedValue &output : function.outputs) {
    const ir::Type &type = output.value->type;
    if (type.steps && type.shape.size() == 1 &&
        type.shape[0] == shape.tokens->vocab) {
      shape.logits = output.name;
      break;
    }
  }
  return true;
}

/// Binds the size of the token vocabulary (`token(V)`) to the corpus's;
/// a size given with `--set` must leave room for every byte of the text.
bool bindVocabulary(const ast::Decl &model, int64_t vocabulary,
                    sema::SizeBindings &sizes, DiagnosticEngine &diags) {
  for (const ast::Stmt &stmt : model.body) {
    if (stmt.kind != ast::StmtKind::Input || !stmt.declared[0].type.isToken)
      continue;
    const ast::Expr &vocab = *stmt.declared[0].type.vocab;
    if (vocab.kind != ast::ExprKind::Name)
      continue;
    auto given = sizes.find(vocab.name);
    if (given == sizes.end()) {
      sizes[vocab.name] = vocabulary;
    } else if (given->second < vocabulary) {
      diags.errorWithoutLocation(fmt::format(
          "the text has {} distinct bytes, but `--set {}={}` leaves room "
          "for only {} token ids",
          vocabulary, vocab.name, given->second, given->second));
      return false;
    }
  }
  return true;
}

/// The trainer's state: two compiled programs (with and without the
/// backward pass) and the parameters in float32.
class Trainer {
public:
  Trainer(const TrainOptions &options, Compilation &trainProgram,
          Compilation &evalProgram, const TrainingShape &shape,
          const runtime::Corpus &corpus, runtime::Batcher batcher)
      : options(options), trainProgram(trainProgram), evalProgram(evalProgram),
        shape(shape), corpus(corpus), batcher(std::move(batcher)),
        rng(options.seed),
        trainInstance(*trainProgram.executable, options.batch) {}

  bool initializeParams(std::string *error);
  /// Replaces the initial parameters with those of `--load`, if given.
  bool loadWeights(std::string *error);
  bool resume(std::string *error);
  int run();

private:
  void zeroCarriedState(codegen::Instance &instance);
  double trainStep(const runtime::TokenWindow &window, double learningRate);
  std::optional<double> validationLoss(std::string *error);
  std::string sample(std::string *error);
  void copyTokens(const runtime::TokenWindow &window,
                  codegen::Instance &instance);
  void copyParams(codegen::Instance &target);
  bool checkpoint(int64_t step, std::string *error);
  runtime::NamedArrays parameterArrays();
  runtime::NamedArrays trainingState(int64_t step);
  bool setParams(const runtime::NamedArrays &arrays, const std::string &source,
                 std::string *error);
  codegen::Instance &evalInstance(int64_t batch);
  void report(int64_t step, std::optional<double> trainLoss,
              std::optional<double> val, double elapsed, int64_t characters);

  const TrainOptions &options;
  Compilation &trainProgram;
  Compilation &evalProgram;
  const TrainingShape &shape;
  const runtime::Corpus &corpus;
  runtime::Batcher batcher;
  std::mt19937_64 rng;
  codegen::Instance trainInstance;
  std::vector<runtime::TrainedTensor<float>> tensors;
  std::variant<runtime::Sgd<float>, runtime::Adam<float>> optimizer;
  runtime::Schedule schedule;
  int64_t startStep = 0; ///< The step a resumed run starts at.
  std::optional<runtime::JsonLinesWriter> metrics;
  /// Buffers of the forward program, by batch size, kept between
  /// validations.
  std::map<int64_t, std::unique_ptr<codegen::Instance>> evalInstances;
};

bool Trainer::initializeParams(std::string *error) {
  for (const sema::ParamInfo &param : trainProgram.info.params) {
    auto *values = static_cast<float *>(trainInstance.buffer(param.name));
    auto *gradient =
        static_cast<float *>(trainInstance.buffer("grad_" + param.name));
    size_t count = trainInstance.elements(param.name);
    std::span<float> span(values, count);
    if (!runtime::initialize(param.init, param.initArgs, param.shape, span, rng,
                             error)) {
      *error = fmt::format("parameter `{}`: {}", param.name, *error);
      return false;
    }
    tensors.push_back({span, std::span<float>(gradient, count)});
  }
  if (options.optimizer == "sgd" || options.optimizer == "momentum") {
    runtime::SgdOptions sgd;
    sgd.learningRate = options.learningRate;
    sgd.momentum = options.optimizer == "momentum" ? options.momentum : 0;
    sgd.weightDecay = options.weightDecay;
    optimizer = runtime::Sgd<float>(sgd);
  } else {
    runtime::AdamOptions adam;
    adam.learningRate = options.learningRate;
    adam.weightDecay = options.weightDecay;
    adam.decoupledWeightDecay = options.optimizer == "adamw";
    optimizer = runtime::Adam<float>(adam);
  }
  schedule.kind = runtime::parseScheduleKind(options.schedule)
                      .value_or(runtime::ScheduleKind::Constant);
  schedule.baseRate = options.learningRate;
  schedule.warmupSteps = options.warmupSteps;
  schedule.every = options.decayEvery;
  schedule.gamma = options.decayFactor;
  if (!options.metricsPath.empty()) {
    metrics = runtime::JsonLinesWriter::open(options.metricsPath, error);
    if (!metrics)
      return false;
  }
  return true;
}

void Trainer::zeroCarriedState(codegen::Instance &instance) {
  for (const sema::InputInfo *input : shape.carried)
    std::memset(instance.buffer(input->name), 0,
                instance.elements(input->name) * sizeof(float));
}

void Trainer::copyTokens(const runtime::TokenWindow &window,
                         codegen::Instance &instance) {
  std::memcpy(instance.buffer(shape.tokens->name), window.tokens.data(),
              window.tokens.size() * sizeof(int64_t));
}

void Trainer::copyParams(codegen::Instance &target) {
  for (const sema::ParamInfo &param : trainProgram.info.params)
    std::memcpy(target.buffer(param.name), trainInstance.buffer(param.name),
                trainInstance.elements(param.name) * sizeof(float));
}

runtime::NamedArrays Trainer::parameterArrays() {
  runtime::NamedArrays arrays;
  for (const sema::ParamInfo &param : trainProgram.info.params) {
    auto *values = static_cast<const float *>(trainInstance.buffer(param.name));
    size_t count = trainInstance.elements(param.name);
    arrays.push_back({param.name, runtime::NpyArray::fromFloats(
                                      param.shape, {values, count})});
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
  runtime::NamedArrays state = trainingState(step);
  return runtime::writeCheckpoint(dir, step, parameterArrays(), error, &state);
}

/// Replaces the initial parameters with those of `--load`: every parameter
/// must be there, with its shape.
namespace {

const runtime::NpyArray *findArray(const runtime::NamedArrays &arrays,
                                   const std::string &name) {
  for (const auto &[arrayName, array] : arrays)
    if (arrayName == name)
      return &array;
  return nullptr;
}

} // namespace

/// Copies every parameter from `arrays` (read from `source`), which must
/// hold each with the model's shape.
bool Trainer::setParams(const runtime::NamedArrays &arrays,
                        const std::string &source, std::string *error) {
  for (const sema::ParamInfo &param : trainProgram.info.params) {
    const runtime::NpyArray *array = findArray(arrays, param.name);
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
    if (!runtime::isWeightsFile(options.saveWeights)) {
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
  std::optional<runtime::NamedArrays> arrays =
      runtime::readWeights(options.loadWeights, error);
  return arrays && setParams(*arrays, options.loadWeights, error);
}

/// What resuming needs besides the parameters: the step, the optimiser's
/// buffers and the recurrent state carried into the next window.
runtime::NamedArrays Trainer::trainingState(int64_t step) {
  runtime::NamedArrays state;
  auto scalar = [](int64_t value) {
    return runtime::NpyArray::fromInt64s({}, std::span(&value, 1));
  };
  runtime::OptimizerState<float> saved =
      std::visit([](auto &chosen) { return chosen.state(); }, optimizer);
  state.push_back({"step", scalar(step)});
  state.push_back({"optimizer.steps", scalar(saved.steps)});
  for (size_t k = 0; k < saved.buffers.size(); ++k)
    state.push_back(
        {fmt::format("optimizer.{}", k),
         runtime::NpyArray::fromFloats({int64_t(saved.buffers[k].size())},
                                       saved.buffers[k])});
  for (const sema::InputInfo *input : shape.carried) {
    auto *values =
        static_cast<const float *>(trainInstance.buffer(input->name));
    size_t count = trainInstance.elements(input->name);
    state.push_back(
        {"carry." + input->name,
         runtime::NpyArray::fromFloats({int64_t(count)}, {values, count})});
  }
  return state;
}

/// Continues from `--resume DIR`'s latest checkpoint: its parameters,
/// optimiser buffers and carried state, and the batcher moved on to its
/// step. The run then computes what the uninterrupted run would have.
bool Trainer::resume(std::string *error) {
  if (options.resumeDir.empty())
    return true;
  runtime::NamedArrays arrays, state;
  if (!runtime::readLatestCheckpoint(options.resumeDir, arrays, state, error) ||
      !setParams(arrays, options.resumeDir, error))
    return false;
  std::string where = options.resumeDir + "/latest/state.safetensors";
  const runtime::NpyArray *step = findArray(state, "step");
  const runtime::NpyArray *steps = findArray(state, "optimizer.steps");
  if (!step || !steps) {
    *error = fmt::format("`{}` lacks the step or the optimiser's steps", where);
    return false;
  }
  startStep = step->toInt64s().at(0);
  runtime::OptimizerState<float> saved;
  saved.steps = steps->toInt64s().at(0);
  for (size_t k = 0;; ++k) {
    const runtime::NpyArray *buffer =
        findArray(state, fmt::format("optimizer.{}", k));
    if (!buffer)
      break;
    saved.buffers.push_back(buffer->toFloats());
  }
  std::visit([&](auto &chosen) { chosen.restore(saved); }, optimizer);
  for (const sema::InputInfo *input : shape.carried) {
    const runtime::NpyArray *carry = findArray(state, "carry." + input->name);
    size_t count = trainInstance.elements(input->name);
    if (!carry || static_cast<size_t>(carry->elementCount()) != count) {
      *error = fmt::format("`{}` lacks the carried state `{}` of this model",
                           where, input->name);
      return false;
    }
    std::vector<float> values = carry->toFloats();
    std::memcpy(trainInstance.buffer(input->name), values.data(),
                count * sizeof(float));
  }
  for (int64_t i = 0; i < startStep; ++i)
    batcher.next();
  return true;
}

codegen::Instance &Trainer::evalInstance(int64_t batch) {
  std::unique_ptr<codegen::Instance> &instance = evalInstances[batch];
  if (!instance)
    instance =
        std::make_unique<codegen::Instance>(*evalProgram.executable, batch);
  return *instance;
}

/// One step: forward and backward over a window, the carried state kept
/// for the next window, the gradients clipped, and the optimiser's update
/// at `learningRate`.
double Trainer::trainStep(const runtime::TokenWindow &window,
                          double learningRate) {
  if (window.resetState)
    zeroCarriedState(trainInstance);
  copyTokens(window, trainInstance);
  trainInstance.run();
  for (const sema::InputInfo *input : shape.carried)
    std::memcpy(trainInstance.buffer(input->name),
                trainInstance.buffer(input->carriedFrom),
                trainInstance.elements(input->name) * sizeof(float));
  runtime::clipGradientNorm<float>(tensors, options.clip);
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
  int64_t length = shape.tokens->steps - 1;
  auto windows =
      runtime::validationWindows(corpus.validation, length, 256, error);
  if (!windows || windows->empty())
    return std::nullopt;
  double total = 0;
  int64_t count = 0;
  for (const runtime::TokenWindow &window : *windows) {
    codegen::Instance &instance = evalInstance(window.batch);
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
  int64_t length = shape.tokens->steps - 1;
  if (shape.logits.empty() ||
      static_cast<int64_t>(corpus.validation.size()) < length)
    return "";
  std::vector<int64_t> context(corpus.validation.begin(),
                               corpus.validation.begin() + length);
  codegen::Instance &instance = evalInstance(1);
  copyParams(instance);
  int64_t vocab = shape.tokens->vocab;
  std::string text;
  for (int64_t i = 0; i < options.sampleLength; ++i) {
    runtime::TokenWindow window;
    window.tokens.assign(context.end() - length, context.end());
    window.tokens.push_back(0);
    zeroCarriedState(instance);
    copyTokens(window, instance);
    instance.run();
    auto *logits = static_cast<float *>(instance.buffer(shape.logits));
    std::span<const float> last(logits + (length - 1) * vocab, vocab);
    std::optional<int64_t> next =
        runtime::sampleIndex(last, options.temperature, rng, error);
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
  runtime::ProgressReport progress;
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
  std::printf("%s\n", runtime::formatProgress(progress).c_str());
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
  int64_t length = shape.tokens->steps - 1;
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
          !runtime::writeWeights(options.saveWeights, parameterArrays(),
                                 &error)) {
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

int trainCommand(const TrainOptions &options) {
  std::string error;
  std::optional<runtime::Corpus> corpus =
      runtime::loadCorpus(options.data, &error);
  if (!corpus) {
    std::fprintf(stderr, "weft: error: %s\n", error.c_str());
    return 1;
  }

  // Two programs from one model: a training step, and a forward pass.
  Compilation trainProgram, evalProgram;
  for (Compilation *compilation : {&trainProgram, &evalProgram}) {
    if (!compilation->load(options.model) ||
        !compilation->bindSizeOptions(options.sizes) ||
        !bindVocabulary(*compilation->model, corpus->vocabulary.size(),
                        compilation->sizes, *compilation->diags) ||
        !compilation->build(compilation == &trainProgram))
      return 1;
  }
  TrainingShape shape;
  if (!findTrainingShape(trainProgram.info, *trainProgram.function, shape,
                         *trainProgram.diags))
    return 1;
  // Check the text is long enough before any buffer is allocated.
  int64_t length = shape.tokens->steps - 1;
  std::optional<runtime::Batcher> batcher =
      runtime::Batcher::create(corpus->train, options.batch, length, &error);
  if (!batcher) {
    std::fprintf(stderr,
                 "weft: error: %s; use more text, a smaller `--batch`, or "
                 "shorter windows\n",
                 error.c_str());
    return 1;
  }
  if (!trainProgram.compile(codegen::FloatType::F32) ||
      !evalProgram.compile(codegen::FloatType::F32))
    return 1;

  std::printf("vocabulary %zu bytes (ln %.4f), %zu training and %zu "
              "validation characters\n",
              corpus->vocabulary.size(),
              std::log(static_cast<double>(corpus->vocabulary.size())),
              corpus->train.size(), corpus->validation.size());
  if (corpus->validation.size() < static_cast<size_t>(length + 1))
    std::printf("the validation text is shorter than one window: no "
                "validation loss\n");
  Trainer trainer(options, trainProgram, evalProgram, shape, *corpus,
                  std::move(*batcher));
  if (!trainer.initializeParams(&error) || !trainer.loadWeights(&error) ||
      !trainer.resume(&error)) {
    std::fprintf(stderr, "weft: error: %s\n", error.c_str());
    return 1;
  }
  return trainer.run();
}

} // namespace weft::driver
