// Where a training run's batches come from and how it is validated. The
// Trainer (Trainer.h) drives its programs through this interface; a
// TextFeed cuts one text into windows whose recurrent state carries over,
// an ExampleFeed draws shuffled examples from arrays, one per input.
#pragma once

#include "runtime/Corpus.h"
#include "runtime/Manifest.h"
#include "runtime/Program.h"
#include "runtime/TrainOptions.h"
#include "runtime/Weights.h"

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace weft::runtime {

/// A validation's mean loss and the scores of `--score`.
struct Validation {
  double loss = 0;
  /// `accuracy` and `exact_match`, or `bit_error`, in [0, 1].
  std::vector<std::pair<std::string, double>> scores;
};

/// Gives the forward program's buffers for `batch` examples, holding the
/// current parameters.
using PreparedInstance = std::function<Instance &(int64_t batch)>;

class DataFeed {
public:
  virtual ~DataFeed() = default;

  /// One line about the data, printed before training.
  virtual std::string describe() const = 0;
  /// Writes the next training batch into the inputs of `instance`.
  virtual void fillNextBatch(Instance &instance) = 0;
  /// Runs after each training step: a text's window carries its state on.
  virtual void afterStep(Instance &) {}
  /// Moves past the batches of `steps` steps, for a resumed run.
  virtual void skip(int64_t steps) = 0;
  /// What a step reads (characters or examples), and their name.
  virtual int64_t itemsPerStep() const = 0;
  virtual std::string itemName() const = 0;
  /// The loss and scores on the held-out data; nothing when there is too
  /// little of it.
  virtual std::optional<Validation> validate(const PreparedInstance &prepared,
                                             std::string *error) = 0;
  /// What a checkpoint keeps besides the parameters and the optimiser.
  virtual NamedArrays state(Instance &) { return {}; }
  /// Takes back what `state` kept; `where` names the checkpoint.
  virtual bool restore(const NamedArrays &, Instance &, const std::string &,
                       std::string *) {
    return true;
  }
  /// What the run ends with: a text's generated sample, else nothing.
  virtual std::string finish(const PreparedInstance &, std::mt19937_64 &,
                             std::string *) {
    return "";
  }
};

/// Windows of `corpus` for `model.tokens`; an error says how to make the
/// text fit.
std::unique_ptr<DataFeed> textFeed(Corpus corpus, const TrainOptions &options,
                                   const TrainingModel &model,
                                   std::string *error);

/// Examples from `--train-data` and `--test-data` for `model.fed`, scored
/// with `--score`; an error names the file, input or option at fault.
std::unique_ptr<DataFeed> exampleFeed(const TrainOptions &options,
                                      const TrainingModel &model,
                                      std::string *error);

/// The feed `options` ask for: `--data`'s text, already read as `corpus`,
/// or else the examples of `--train-data` and `--test-data`.
std::unique_ptr<DataFeed> dataFeed(const TrainOptions &options,
                                   const TrainingModel &model,
                                   std::optional<Corpus> corpus,
                                   std::string *error);

/// How `options` train: on text (`--data`) or on examples.
inline TrainingData trainingDataOf(const TrainOptions &options) {
  return options.data.empty() ? TrainingData::Examples : TrainingData::Text;
}

} // namespace weft::runtime
