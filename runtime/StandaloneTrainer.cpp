// The `main` of a standalone trainer, the executable `weft build --train`
// links: the training step and the forward pass are compiled objects
// linked beside this file, each with its manifest; the command line is
// `weft train`'s, less the model and `--set`.
#include "runtime/Corpus.h"
#include "runtime/Manifest.h"
#include "runtime/Program.h"
#include "runtime/Threads.h"
#include "runtime/TrainOptions.h"
#include "runtime/Trainer.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <thread>

extern "C" {
void weft_train_step(void **buffers, int64_t batch);
void weft_eval_step(void **buffers, int64_t batch);
extern const char weft_train_manifest[];
extern const char weft_eval_manifest[];
/// What the trainer was built from: the model file and its sizes.
extern const char weft_trainer_about[];
}

namespace {

using namespace weft::runtime;

int fail(const std::string &message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

int trainLinkedModel(const TrainOptions &options) {
  std::string error;
  if (!checkTrainingDevice(options, &error))
    return fail(error);
  std::optional<Manifest> trainManifest =
      parseManifest(weft_train_manifest, &error);
  std::optional<Manifest> evalManifest =
      trainManifest ? parseManifest(weft_eval_manifest, &error) : std::nullopt;
  if (!evalManifest)
    return fail(error);
  std::optional<TrainingModel> model =
      trainingModel(*trainManifest, trainingDataOf(options), &error);
  if (!model)
    return fail(error);
  std::optional<Corpus> corpus;
  if (!options.data.empty()) {
    corpus = loadCorpus(options.data, &error);
    if (!corpus)
      return fail(error);
    int64_t distinct = static_cast<int64_t>(corpus->vocabulary.size());
    if (distinct > model->tokens.vocab)
      return fail(fmt::format(
          "{} has {} distinct bytes, but this trainer was built for at most "
          "{}: build it again with `--data` naming this text, or a larger "
          "`--set`",
          options.data, distinct, model->tokens.vocab));
  }
  std::unique_ptr<DataFeed> feed =
      dataFeed(options, *model, std::move(corpus), &error);
  if (!feed)
    return fail(error);
  LinkedProgram trainProgram(weft_train_step, trainManifest->buffers,
                             trainManifest->floatBytes);
  LinkedProgram evalProgram(weft_eval_step, evalManifest->buffers,
                            evalManifest->floatBytes);
  return train(options, trainProgram, evalProgram, *model, *feed);
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{std::string("A standalone Weft trainer for ") +
               weft_trainer_about};
  TrainOptions options;
  addTrainOptions(app, options);
  int threads = std::max(1u, std::thread::hardware_concurrency());
  app.add_option("--threads", threads,
                 "threads for matrix products and kernels (default: all "
                 "cores)")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &error) {
    return app.exit(error) == 0 ? 0 : 1;
  }
  setComputeThreads(threads);
  try {
    return trainLinkedModel(options);
  } catch (const std::exception &error) {
    return fail(std::string("internal error: ") + error.what());
  }
}
