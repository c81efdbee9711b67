// `weft train`: compiles a model twice (a training step with its
// gradients, and a forward pass for validation and sampling) with the
// vocabulary of the text bound, and hands both to the runtime's training
// loop (runtime/Trainer.h).
#include "compiler/driver/Commands.h"
#include "compiler/driver/Pipeline.h"
#include "runtime/Corpus.h"
#include "runtime/Trainer.h"

#include <fmt/format.h>

namespace weft::driver {

int trainCommand(const TrainOptions &options) {
  std::string error;
  std::optional<runtime::Corpus> corpus =
      runtime::loadCorpus(options.training.data, &error);
  if (!corpus) {
    std::fprintf(stderr, "weft: error: %s\n", error.c_str());
    return 1;
  }
  Compilation trainProgram, evalProgram;
  if (!compileForTraining(options.model, options.sizes,
                          corpus->vocabulary.size(), trainProgram, evalProgram))
    return 1;
  // The model's shape and the text's length are checked before any code is
  // generated or any buffer allocated.
  std::optional<runtime::TrainingModel> model = runtime::trainingModel(
      trainProgram.manifest({}, codegen::FloatType::F32), &error);
  std::optional<runtime::Batcher> batcher;
  if (model)
    batcher =
        runtime::trainingBatcher(*corpus, options.training, *model, &error);
  if (!batcher) {
    std::fprintf(stderr, "weft: error: %s\n", error.c_str());
    return 1;
  }
  if (!trainProgram.compile(codegen::FloatType::F32) ||
      !evalProgram.compile(codegen::FloatType::F32))
    return 1;
  return runtime::train(options.training, *trainProgram.executable,
                        *evalProgram.executable, *model, *corpus,
                        std::move(*batcher));
}

} // namespace weft::driver
