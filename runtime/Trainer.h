// The training loop of `weft train` and of standalone trainers: batches
// from a data feed (DataFeed.h), forward and backward through the compiled
// training step, an optimiser (SGD, momentum, Adam, AdamW) on a
// learning-rate schedule, gradient-norm clipping, periodic validation with
// the forward program, checkpoints, and the feed's ending (a text's
// sample). It drives compiled programs through their buffer tables only.
#pragma once

#include "runtime/DataFeed.h"
#include "runtime/Manifest.h"
#include "runtime/Program.h"
#include "runtime/TrainOptions.h"

namespace weft::runtime {

/// Trains with `trainProgram` (forward and backward, writing `loss` and
/// `grad_<param>`) on `feed`'s batches, and validates with `evalProgram`
/// (forward only); prints progress. Returns the process exit status.
int train(const TrainOptions &options, const Program &trainProgram,
          const Program &evalProgram, const TrainingModel &model,
          DataFeed &feed);

/// Whether `--device` can train here: `cuda` needs a GPU and its driver
/// (the error says which is missing); the others always can.
bool checkTrainingDevice(const TrainOptions &options, std::string *error);

} // namespace weft::runtime
