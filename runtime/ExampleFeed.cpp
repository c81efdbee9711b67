// Training on examples: one array per model input, the first axis the
// example, read from `--train-data` and `--test-data`; batches of examples
// drawn without replacement in a shuffled order, a new order each epoch;
// validation over the whole test set, scored with `--score`.
#include "runtime/ArrayFiles.h"
#include "runtime/DataFeed.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <ranges>
#include <set>

namespace weft::runtime {

namespace {

namespace fs = std::filesystem;

int64_t product(const std::vector<int64_t> &shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t(1),
                         std::multiplies<>());
}

/// An input's values for every example: token ids or floats.
struct Column {
  InputSpec input;
  int64_t steps = 1; ///< 1 for an input that is not a stream.
  int64_t inner = 1; ///< Elements per step of one example.
  std::vector<int64_t> ids;
  std::vector<float> values;
};

/// Checks `option`'s sources before any is read: a folder must exist, and
/// `NAME=FILE` must name an input of the model, once.
bool checkSources(const std::vector<std::string> &sources,
                  const std::string &option,
                  const std::vector<InputSpec> &inputs, std::string *error) {
  std::set<std::string> named;
  for (const std::string &source : sources) {
    size_t equals = source.find('=');
    if (equals == std::string::npos) {
      if (!fs::is_directory(source)) {
        *error = fmt::format(
            "{}: {}; `{}` takes folders and "
            "INPUT=FILE",
            source, fs::exists(source) ? "not a folder" : "no such folder",
            option);
        return false;
      }
      continue;
    }
    std::string name = source.substr(0, equals);
    bool isInput =
        std::any_of(inputs.begin(), inputs.end(),
                    [&](const InputSpec &input) { return input.name == name; });
    if (!isInput) {
      *error = fmt::format("`{} {}`: the model has no input `{}` to feed",
                           option, source, name);
      return false;
    }
    if (!named.insert(name).second) {
      *error = fmt::format("`{}` names a file for the input `{}` twice", option,
                           name);
      return false;
    }
  }
  return true;
}

/// The file that feeds `input`: the one `NAME=FILE` names, else the one
/// file named after the input among the folders.
std::optional<std::string> fileFor(const std::vector<std::string> &sources,
                                   const std::string &option,
                                   const InputSpec &input, std::string *error) {
  for (const std::string &source : sources) {
    size_t equals = source.find('=');
    if (equals != std::string::npos && source.substr(0, equals) == input.name)
      return source.substr(equals + 1);
  }
  std::vector<std::string> found;
  for (const std::string &source : sources) {
    if (source.find('=') != std::string::npos)
      continue;
    for (const char *suffix : {".npy", ".ids", ".idx", ".idx.gz"}) {
      fs::path candidate = fs::path(source) / (input.name + suffix);
      if (fs::exists(candidate))
        found.push_back(candidate.string());
    }
  }
  if (found.size() == 1)
    return found[0];
  if (found.size() > 1) {
    *error = fmt::format("`{}` gives the input `{}` more than one file ({}): "
                         "name the one to use as `{} {}=FILE`",
                         option, input.name, fmt::join(found, ", "), option,
                         input.name);
    return std::nullopt;
  }
  *error = fmt::format("`{}` gives no data for the input `{}`: name it "
                       "`{} {}=FILE`, or put {}.npy (or .ids, .idx, .idx.gz) "
                       "in a folder it names",
                       option, input.name, option, input.name, input.name);
  return std::nullopt;
}

/// Every fed input's column, checked against the model.
class ExampleSet {
public:
  static std::optional<ExampleSet> load(const std::vector<std::string> &sources,
                                        const std::string &option,
                                        const std::vector<InputSpec> &inputs,
                                        std::string *error);

  int64_t size() const { return count; }
  const Column *column(const std::string &name) const {
    for (const Column &column : columns)
      if (column.input.name == name)
        return &column;
    return nullptr;
  }
  /// Writes examples `indices` into the inputs of `instance`, time-major.
  void copy(std::span<const int64_t> indices, Instance &instance) const;

private:
  std::vector<Column> columns;
  int64_t count = 0;
};

std::optional<ExampleSet>
ExampleSet::load(const std::vector<std::string> &sources,
                 const std::string &option,
                 const std::vector<InputSpec> &inputs, std::string *error) {
  if (!checkSources(sources, option, inputs, error))
    return std::nullopt;
  ExampleSet set;
  std::string first; // the file that set the number of examples
  for (const InputSpec &input : inputs) {
    std::optional<std::string> path = fileFor(sources, option, input, error);
    if (!path)
      return std::nullopt;
    std::optional<ArrayFile> file = readArrayFile(*path, error);
    if (!file)
      return std::nullopt;
    Column column;
    column.input = input;
    column.steps = std::max<int64_t>(input.steps, 1);
    column.inner = product(input.shape);
    const NpyArray &array = file->array;
    int64_t examples = array.shape.empty() ? 0 : array.shape[0];
    std::vector<int64_t> perExample(
        array.shape.begin() + (array.shape.empty() ? 0 : 1), array.shape.end());
    std::string takes = input.steps
                            ? fmt::format("{} steps of [{}]", input.steps,
                                          fmt::join(input.shape, ", "))
                            : fmt::format("[{}]", fmt::join(input.shape, ", "));
    if (!array.shape.empty() && examples == 0) {
      *error = fmt::format("{}: holds no examples (its shape is [{}])", *path,
                           fmt::join(array.shape, ", "));
      return std::nullopt;
    }
    if (examples == 0 || product(perExample) != column.steps * column.inner) {
      *error =
          fmt::format("{}: an array of shape [{}] (examples first) "
                      "does not fit the input `{}`, which takes {} per "
                      "example",
                      *path, fmt::join(array.shape, ", "), input.name, takes);
      return std::nullopt;
    }
    if (set.columns.empty()) {
      set.count = examples;
      first = *path;
    } else if (examples != set.count) {
      *error = fmt::format("{}: {} examples, and {} has {}", *path, examples,
                           first, set.count);
      return std::nullopt;
    }
    if (input.isToken) {
      if (array.dtype != NpyArray::DType::I64) {
        *error = fmt::format("{}: holds floats, and the input `{}` takes "
                             "token ids (integers)",
                             *path, input.name);
        return std::nullopt;
      }
      column.ids = array.toInt64s();
      auto outside =
          std::find_if(column.ids.begin(), column.ids.end(),
                       [&](int64_t id) { return id < 0 || id >= input.vocab; });
      if (outside != column.ids.end()) {
        *error = fmt::format("{}: the token id {} is outside the input "
                             "`{}`'s vocabulary [0, {})",
                             *path, *outside, input.name, input.vocab);
        return std::nullopt;
      }
    } else {
      column.values = array.toFloats();
      if (file->bytes)
        for (float &value : column.values)
          value /= 255.0f;
    }
    set.columns.push_back(std::move(column));
  }
  return set;
}

void ExampleSet::copy(std::span<const int64_t> indices,
                      Instance &instance) const {
  int64_t batch = static_cast<int64_t>(indices.size());
  for (const Column &column : columns) {
    bool isIds = column.input.isToken;
    size_t width = isIds ? sizeof(int64_t) : sizeof(float);
    auto *target = static_cast<char *>(instance.buffer(column.input.name));
    auto *source = isIds ? reinterpret_cast<const char *>(column.ids.data())
                         : reinterpret_cast<const char *>(column.values.data());
    size_t run = column.inner * width;
    for (int64_t b = 0; b < batch; ++b) {
      const char *example = source + indices[b] * column.steps * run;
      for (int64_t t = 0; t < column.steps; ++t)
        std::memcpy(target + (t * batch + b) * run, example + t * run, run);
    }
  }
}

/// How `--score OUTPUT=TARGET` compares an output with a target input.
struct Scoring {
  OutputSpec output;
  InputSpec target;
  bool bits = false;     ///< Float target: a bit is 1 where the output > 0.
  int64_t classes = 0;   ///< Token target: the output's last axis.
  int64_t offset = 0;    ///< The target step of the output's first step.
  int64_t positions = 0; ///< Predictions per step of one example.
};

std::optional<Scoring> scoringFor(const std::string &option,
                                  const TrainingModel &model,
                                  std::string *error) {
  size_t equals = option.find('=');
  std::string outputName = option.substr(0, equals);
  std::string targetName =
      equals == std::string::npos ? "" : option.substr(equals + 1);
  Scoring scoring;
  auto output = std::find_if(
      model.outputs.begin(), model.outputs.end(),
      [&](const OutputSpec &spec) { return spec.name == outputName; });
  auto target = std::find_if(
      model.fed.begin(), model.fed.end(),
      [&](const InputSpec &spec) { return spec.name == targetName; });
  if (equals == std::string::npos || output == model.outputs.end() ||
      target == model.fed.end()) {
    *error = fmt::format(
        "`--score {}`: name an output and the input it "
        "should match, as OUTPUT=INPUT (outputs: {})",
        option,
        fmt::join(model.outputs | std::views::transform(&OutputSpec::name),
                  ", "));
    return std::nullopt;
  }
  scoring.output = *output;
  scoring.target = *target;
  std::vector<int64_t> shape = output->shape;
  int64_t outputSteps = std::max<int64_t>(output->steps, 1);
  int64_t targetSteps = std::max<int64_t>(target->steps, 1);
  bool stepsFit =
      outputSteps <= targetSteps && (output->steps > 0) == (target->steps > 0);
  scoring.offset = targetSteps - outputSteps;
  if (target->isToken) {
    scoring.classes = shape.empty() ? 0 : shape.back();
    if (!shape.empty())
      shape.pop_back();
    scoring.positions = product(shape);
    if (!stepsFit || scoring.classes < target->vocab ||
        scoring.positions != product(target->shape)) {
      *error = fmt::format("`--score {}`: `{}` must give scores over the "
                           "{} classes of `{}` at each of its steps and "
                           "positions",
                           option, outputName, target->vocab, targetName);
      return std::nullopt;
    }
  } else {
    scoring.bits = true;
    scoring.positions = product(shape);
    if (!stepsFit || shape != target->shape) {
      *error = fmt::format("`--score {}`: `{}` must have the shape of `{}`",
                           option, outputName, targetName);
      return std::nullopt;
    }
  }
  return scoring;
}

/// Running totals of a validation's scores.
struct Tally {
  int64_t right = 0, positions = 0, exact = 0, examples = 0;
};

void score(const Scoring &scoring, const Column &target,
           std::span<const int64_t> indices, Instance &instance, Tally &tally) {
  int64_t batch = static_cast<int64_t>(indices.size());
  int64_t steps = std::max<int64_t>(scoring.output.steps, 1);
  int64_t width = scoring.bits ? 1 : scoring.classes;
  auto *output =
      static_cast<const float *>(instance.buffer(scoring.output.name));
  for (int64_t b = 0; b < batch; ++b) {
    bool allRight = true;
    int64_t example = indices[b] * target.steps * target.inner;
    for (int64_t t = 0; t < steps; ++t) {
      int64_t targetStep = example + (t + scoring.offset) * target.inner;
      for (int64_t p = 0; p < scoring.positions; ++p) {
        const float *scores =
            output + ((t * batch + b) * scoring.positions + p) * width;
        bool right;
        if (scoring.bits) {
          float bit = target.values[targetStep + p];
          if (bit < 0) // not scored: a step with nothing to predict
            continue;
          right = (scores[0] > 0) == (bit > 0.5f);
        } else {
          int64_t best =
              std::max_element(scores, scores + scoring.classes) - scores;
          right = best == target.ids[targetStep + p];
        }
        tally.right += right;
        ++tally.positions;
        allRight = allRight && right;
      }
    }
    tally.exact += allRight;
    ++tally.examples;
  }
}

/// An order of the examples that is a new permutation each epoch.
class Shuffle {
public:
  Shuffle(int64_t count, uint64_t seed) : order(count), rng(seed) {
    std::iota(order.begin(), order.end(), 0);
    reshuffle();
  }
  std::vector<int64_t> next(int64_t batch) {
    std::vector<int64_t> indices;
    while (static_cast<int64_t>(indices.size()) < batch) {
      if (position == order.size()) {
        reshuffle();
        position = 0;
      }
      indices.push_back(order[position++]);
    }
    return indices;
  }

private:
  /// Fisher-Yates with the engine's raw output, the same on every
  /// standard library.
  void reshuffle() {
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[rng() % i]);
  }
  std::vector<int64_t> order;
  size_t position = 0;
  std::mt19937_64 rng;
};

class ExampleFeed final : public DataFeed {
public:
  ExampleFeed(const TrainOptions &options, const TrainingModel &model,
              ExampleSet train, ExampleSet test, std::optional<Scoring> scoring)
      : options(options), model(model), train(std::move(train)),
        test(std::move(test)), scoring(std::move(scoring)),
        shuffle(this->train.size(), options.seed ^ 0x5eedda7a5eedda7aULL) {}

  std::string describe() const override {
    return fmt::format("{} training and {} test examples", train.size(),
                       test.size());
  }
  void fillNextBatch(Instance &instance) override {
    zeroCarriedState(instance);
    train.copy(shuffle.next(options.batch), instance);
  }
  void skip(int64_t steps) override {
    for (int64_t i = 0; i < steps; ++i)
      shuffle.next(options.batch);
  }
  int64_t itemsPerStep() const override { return options.batch; }
  std::string itemName() const override { return "examples"; }
  std::optional<Validation> validate(const PreparedInstance &prepared,
                                     std::string *error) override;

private:
  void zeroCarriedState(Instance &instance) const {
    for (const InputSpec &input : model.carried)
      std::memset(instance.buffer(input.name), 0,
                  instance.elements(input.name) * sizeof(float));
  }

  const TrainOptions &options;
  const TrainingModel &model;
  ExampleSet train, test;
  std::optional<Scoring> scoring;
  Shuffle shuffle;
};

std::optional<Validation>
ExampleFeed::validate(const PreparedInstance &prepared, std::string *) {
  constexpr int64_t chunk = 256;
  Validation validation;
  Tally tally;
  std::vector<int64_t> indices;
  for (int64_t first = 0; first < test.size(); first += chunk) {
    int64_t batch = std::min(chunk, test.size() - first);
    indices.resize(batch);
    std::iota(indices.begin(), indices.end(), first);
    Instance &instance = prepared(batch);
    zeroCarriedState(instance);
    test.copy(indices, instance);
    instance.run();
    validation.loss += *static_cast<float *>(instance.buffer("loss")) * batch;
    if (scoring)
      score(*scoring, *test.column(scoring->target.name), indices, instance,
            tally);
  }
  validation.loss /= static_cast<double>(test.size());
  if (!scoring || tally.positions == 0)
    return validation;
  if (scoring->bits) {
    validation.scores.push_back(
        {"bit_error", 1.0 - double(tally.right) / double(tally.positions)});
  } else {
    validation.scores.push_back(
        {"accuracy", double(tally.right) / double(tally.positions)});
    // With one prediction per example, exact match is the accuracy.
    if (tally.positions > tally.examples)
      validation.scores.push_back(
          {"exact_match", double(tally.exact) / double(tally.examples)});
  }
  return validation;
}

} // namespace

std::unique_ptr<DataFeed> exampleFeed(const TrainOptions &options,
                                      const TrainingModel &model,
                                      std::string *error) {
  if (options.testData.empty()) {
    *error = "training on examples needs held-out ones too: `--test-data`";
    return nullptr;
  }
  std::optional<ExampleSet> train =
      ExampleSet::load(options.trainData, "--train-data", model.fed, error);
  if (!train)
    return nullptr;
  std::optional<ExampleSet> test =
      ExampleSet::load(options.testData, "--test-data", model.fed, error);
  if (!test)
    return nullptr;
  std::optional<Scoring> scoring;
  if (!options.score.empty()) {
    scoring = scoringFor(options.score, model, error);
    if (!scoring)
      return nullptr;
  }
  // Checked once every file is known to be good.
  if (options.batch > train->size()) {
    *error = fmt::format("`--batch {}` is more than the {} training "
                         "examples: give a smaller batch",
                         options.batch, train->size());
    return nullptr;
  }
  return std::make_unique<ExampleFeed>(options, model, std::move(*train),
                                       std::move(*test), std::move(scoring));
}

std::unique_ptr<DataFeed> dataFeed(const TrainOptions &options,
                                   const TrainingModel &model,
                                   std::optional<Corpus> corpus,
                                   std::string *error) {
  if (corpus)
    return textFeed(std::move(*corpus), options, model, error);
  return exampleFeed(options, model, error);
}

} // namespace weft::runtime
