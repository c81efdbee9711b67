// `weft train`: compiles a model twice (a training step with its
// gradients, and a forward pass for validation and sampling), with the
// vocabulary of the text bound when it trains on text, and hands both to
// the runtime's training loop (runtime/Trainer.h) with the data's feed.
#include "compiler/driver/Commands.h"
#include "compiler/driver/Pipeline.h"
#include "runtime/Corpus.h"
#include "runtime/Trainer.h"

#include <fmt/format.h>

namespace weft::driver {

int trainCommand(const TrainOptions &options) {
  std::string error;
  auto fail = [&] {
    std::fprintf(stderr, "weft: error: %s\n", error.c_str());
    return 1;
  };
  if (!runtime::checkTrainingDevice(options.training, &error))
    return fail();
  std::optional<runtime::Corpus> corpus;
  std::optional<int64_t> vocabulary;
  if (!options.training.data.empty()) {
    corpus = runtime::loadCorpus(options.training.data, &error);
    if (!corpus)
      return fail();
    vocabulary = corpus->vocabulary.size();
  }
  Compilation trainProgram, evalProgram;
  if (!compileForTraining(options.model, options.sizes, vocabulary,
                          trainProgram, evalProgram))
    return 1;
  // The model's inputs and the data are checked before any code is
  // generated or any buffer allocated.
  std::optional<runtime::TrainingModel> model =
      runtime::trainingModel(trainProgram.manifest({}, codegen::FloatType::F32),
                             runtime::trainingDataOf(options.training), &error);
  if (!model)
    return fail();
  std::unique_ptr<runtime::DataFeed> feed =
      runtime::dataFeed(options.training, *model, std::move(corpus), &error);
  if (!feed)
    return fail();
  const std::string &device = options.training.device;
  auto compile = [&](Compilation &compilation) {
    return device == "cpu" ? compilation.compile(codegen::FloatType::F32)
                           : compilation.compileForDevice(device);
  };
  if (!compile(trainProgram) || !compile(evalProgram))
    return 1;
  return runtime::train(options.training, trainProgram.step(),
                        evalProgram.step(), *model, *feed);
}

} // namespace weft::driver
