// Training on one text: truncated backpropagation through time over
// windows of the text, each column of the batch reading on from where it
// stopped, with the recurrent state carried from one window to the next.
#include "runtime/DataFeed.h"
#include "runtime/Sampling.h"
#include "runtime/Windows.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace weft::runtime {

namespace {

class TextFeed final : public DataFeed {
public:
  TextFeed(Corpus corpus, const TrainOptions &options,
           const TrainingModel &model)
      : corpus(std::move(corpus)), options(options), model(model) {}

  /// Makes the batcher, once the corpus has its final place.
  bool start(std::string *error);

  std::string describe() const override;
  void fillNextBatch(Instance &instance) override;
  void afterStep(Instance &instance) override;
  void skip(int64_t steps) override;
  int64_t itemsPerStep() const override {
    return options.batch * (model.tokens.steps - 1);
  }
  std::string itemName() const override { return "chars"; }
  std::optional<Validation> validate(const PreparedInstance &prepared,
                                     std::string *error) override;
  NamedArrays state(Instance &instance) override;
  bool restore(const NamedArrays &state, Instance &instance,
               const std::string &where, std::string *error) override;
  std::string finish(const PreparedInstance &prepared, std::mt19937_64 &rng,
                     std::string *error) override;

private:
  void zeroCarriedState(Instance &instance) const;
  void copyTokens(const TokenWindow &window, Instance &instance) const;

  Corpus corpus;
  const TrainOptions &options;
  const TrainingModel &model;
  std::optional<Batcher> batcher;
};

bool TextFeed::start(std::string *error) {
  batcher = Batcher::create(corpus.train, options.batch, model.tokens.steps - 1,
                            error);
  if (!batcher)
    *error += "; use more text, a smaller `--batch`, or shorter windows";
  return batcher.has_value();
}

std::string TextFeed::describe() const {
  std::string line = fmt::format(
      "vocabulary {} bytes (ln {:.4f}), {} training and {} validation "
      "characters",
      corpus.vocabulary.size(),
      std::log(static_cast<double>(corpus.vocabulary.size())),
      corpus.train.size(), corpus.validation.size());
  if (corpus.validation.size() < size_t(model.tokens.steps))
    line += "\nthe validation text is shorter than one window: no "
            "validation loss";
  return line;
}

void TextFeed::zeroCarriedState(Instance &instance) const {
  for (const InputSpec &input : model.carried)
    std::memset(instance.buffer(input.name), 0,
                instance.elements(input.name) * sizeof(float));
}

void TextFeed::copyTokens(const TokenWindow &window, Instance &instance) const {
  std::memcpy(instance.buffer(model.tokens.name), window.tokens.data(),
              window.tokens.size() * sizeof(int64_t));
}

void TextFeed::fillNextBatch(Instance &instance) {
  TokenWindow window = batcher->next();
  if (window.resetState)
    zeroCarriedState(instance);
  copyTokens(window, instance);
}

/// The state after the window's last step starts the next window.
void TextFeed::afterStep(Instance &instance) {
  for (const InputSpec &input : model.carried)
    std::memcpy(instance.buffer(input.name), instance.buffer(input.carriedFrom),
                instance.elements(input.name) * sizeof(float));
}

void TextFeed::skip(int64_t steps) {
  for (int64_t i = 0; i < steps; ++i)
    batcher->next();
}

/// The mean loss over the validation windows, each starting from zero
/// state.
std::optional<Validation> TextFeed::validate(const PreparedInstance &prepared,
                                             std::string *error) {
  auto windows =
      validationWindows(corpus.validation, model.tokens.steps - 1, 256, error);
  if (!windows || windows->empty())
    return std::nullopt;
  double total = 0;
  int64_t count = 0;
  for (const TokenWindow &window : *windows) {
    Instance &instance = prepared(window.batch);
    zeroCarriedState(instance);
    copyTokens(window, instance);
    instance.run();
    total += *static_cast<float *>(instance.buffer("loss")) * window.batch;
    count += window.batch;
  }
  return Validation{total / static_cast<double>(count), {}};
}

NamedArrays TextFeed::state(Instance &instance) {
  NamedArrays state;
  for (const InputSpec &input : model.carried) {
    auto *values = static_cast<const float *>(instance.buffer(input.name));
    size_t count = instance.elements(input.name);
    state.push_back({"carry." + input.name,
                     NpyArray::fromFloats({int64_t(count)}, {values, count})});
  }
  // Token i is the i-th distinct byte of the text: a text of other bytes
  // would give the weights other meanings.
  std::vector<int64_t> bytes(corpus.vocabulary.begin(),
                             corpus.vocabulary.end());
  state.push_back(
      {"vocabulary", NpyArray::fromInt64s({int64_t(bytes.size())}, bytes)});
  return state;
}

bool TextFeed::restore(const NamedArrays &state, Instance &instance,
                       const std::string &where, std::string *error) {
  if (const NpyArray *saved = findArray(state, "vocabulary")) {
    std::vector<int64_t> bytes(corpus.vocabulary.begin(),
                               corpus.vocabulary.end());
    if (saved->toInt64s() != bytes) {
      *error = fmt::format("`{}` was trained on a text of other bytes: "
                           "resume it on the same text, whose bytes give "
                           "the token ids",
                           where);
      return false;
    }
  }
  for (const InputSpec &input : model.carried) {
    const NpyArray *carry = findArray(state, "carry." + input.name);
    size_t count = instance.elements(input.name);
    if (!carry) {
      *error = fmt::format("`{}` lacks the carried state `{}` of this model",
                           where, input.name);
      return false;
    }
    if (static_cast<size_t>(carry->elementCount()) != count) {
      // The state holds one row per window of the batch.
      size_t perExample = count / std::max<int64_t>(options.batch, 1);
      *error = fmt::format(
          "`{}` carries `{}` for {} windows, and this run has `--batch {}`: "
          "resume with the batch it was trained with",
          where, input.name,
          perExample ? carry->elementCount() / int64_t(perExample) : 0,
          options.batch);
      return false;
    }
    std::vector<float> values = carry->toFloats();
    std::memcpy(instance.buffer(input.name), values.data(),
                count * sizeof(float));
  }
  return true;
}

/// Continues the start of the validation text, one byte at a time, reading
/// the logits at the last position of a sliding window.
std::string TextFeed::finish(const PreparedInstance &prepared,
                             std::mt19937_64 &rng, std::string *error) {
  int64_t length = model.tokens.steps - 1;
  if (options.sampleLength == 0 || model.logits.empty() ||
      static_cast<int64_t>(corpus.validation.size()) < length)
    return "";
  std::vector<int64_t> context(corpus.validation.begin(),
                               corpus.validation.begin() + length);
  Instance &instance = prepared(1);
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
      break;
    context.push_back(*next);
    text += static_cast<char>(corpus.vocabulary[*next]);
  }
  return fmt::format("\n--- sample (temperature {:.2f}) ---\n{}",
                     options.temperature, text);
}

} // namespace

std::unique_ptr<DataFeed> textFeed(Corpus corpus, const TrainOptions &options,
                                   const TrainingModel &model,
                                   std::string *error) {
  auto feed = std::make_unique<TextFeed>(std::move(corpus), options, model);
  if (!feed->start(error))
    return nullptr;
  return feed;
}

} // namespace weft::runtime
