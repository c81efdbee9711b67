// The training loop of `weft train` and of standalone trainers: truncated
// backpropagation through time over windows of a text whose recurrent
// state is carried from one window to the next, an optimiser (SGD,
// momentum, Adam, AdamW) on a learning-rate schedule, gradient-norm
// clipping, periodic validation and checkpoints, and a generated sample at
// the end. It drives compiled programs through their buffer tables only.
#pragma once

#include "runtime/Corpus.h"
#include "runtime/Manifest.h"
#include "runtime/Program.h"
#include "runtime/TrainOptions.h"
#include "runtime/Windows.h"

#include <optional>
#include <string>

namespace weft::runtime {

/// The batcher of a run, or an error that says how to make the text fit.
std::optional<Batcher> trainingBatcher(const Corpus &corpus,
                                       const TrainOptions &options,
                                       const TrainingModel &model,
                                       std::string *error);

/// Trains with `trainProgram` (forward and backward, writing `loss` and
/// `grad_<param>`) and validates and samples with `evalProgram` (forward
/// only); prints progress. Returns the process exit status.
int train(const TrainOptions &options, const Program &trainProgram,
          const Program &evalProgram, const TrainingModel &model,
          const Corpus &corpus, Batcher batcher);

} // namespace weft::runtime
