// The training options on a command line, for `weft train` and for the
// standalone trainers.
#include "runtime/TrainOptions.h"
#include "runtime/OptionChecks.h"

#include <CLI/CLI.hpp>

namespace weft::runtime {

void addTrainOptions(CLI::App &app, TrainOptions &options) {
  CLI::Option *text = app.add_option(
      "--data", options.data,
      "train on text: a text file, or a folder of them (windows of the "
      "model's token stream)");
  CLI::Option *trainData =
      app.add_option("--train-data", options.trainData,
                     "train on examples: INPUT=FILE, or a folder of "
                     "INPUT.npy (.ids, .idx, .idx.gz) files; repeat for "
                     "each input");
  CLI::Option *testData = app.add_option(
      "--test-data", options.testData,
      "the held-out examples, as --train-data gives the training ones");
  app.add_option("--score", options.score,
                 "with examples, OUTPUT=INPUT: validation reports the "
                 "accuracy and exact match of OUTPUT's likeliest class "
                 "against INPUT's ids (or bit error for a float INPUT)")
      ->needs(trainData);
  text->excludes(trainData);
  trainData->needs(testData);
  testData->needs(trainData);
  app.add_option("--device", options.device,
                 "cpu; cuda, the first GPU (float32); or gpu-emulated, the "
                 "GPU's kernels and launch plan run on this CPU (slow: for "
                 "checking the GPU path without a GPU)")
      ->check(CLI::IsMember({"cpu", "cuda", "gpu-emulated"}));
  app.add_option("--steps", options.steps, "stop after this many steps")
      ->check(finiteNumber(false));
  app.add_option("--seed", options.seed, "random seed");
  app.add_option("--metrics", options.metricsPath,
                 "write one JSON object per line here");
  app.add_option("--checkpoint", options.checkpointDir,
                 "write the parameters here at every validation");
  app.add_option("--batch", options.batch, "windows or examples per step")
      ->check(finiteNumber(true));
  CLI::Option *resume =
      app.add_option("--resume", options.resumeDir,
                     "continue from the latest checkpoint in this folder, "
                     "as the run that wrote it would have (checkpoints "
                     "keep going there)");
  app.add_option("--load", options.loadWeights,
                 "start from these weights (.npz or .safetensors)")
      ->excludes(resume);
  app.add_option("--save", options.saveWeights,
                 "write the trained weights here at the end (.npz or "
                 ".safetensors)");
  app.add_option("--lr", options.learningRate, "base learning rate")
      ->check(finiteNumber(true));
  app.add_option("--optimizer", options.optimizer,
                 "sgd, momentum, adam or adamw (adam)")
      ->check(CLI::IsMember({"sgd", "momentum", "adam", "adamw"}));
  CLI::Option *momentum =
      app.add_option("--momentum", options.momentum, "momentum's factor (0.9)")
          ->check(CLI::Range(0.0, 1.0));
  app.add_option("--weight-decay", options.weightDecay,
                 "L2 penalty (sgd, momentum, adam) or decoupled decay "
                 "(adamw) (0)")
      ->check(finiteNumber(false));
  app.add_option("--schedule", options.schedule,
                 "learning rate: constant, step or cosine (to 0 at the "
                 "end of --steps, else of --seconds)")
      ->check(CLI::IsMember({"constant", "step", "cosine"}));
  app.add_option("--warmup", options.warmupSteps,
                 "steps of linear warm-up first (0)")
      ->check(finiteNumber(false));
  CLI::Option *decayEvery =
      app.add_option("--decay-every", options.decayEvery,
                     "`step` schedule: steps per decay (1000)")
          ->check(finiteNumber(true));
  CLI::Option *decayFactor =
      app.add_option("--decay-factor", options.decayFactor,
                     "`step` schedule: factor per decay (0.5)")
          ->check(CLI::Range(0.0, 1.0));
  app.add_option("--clip", options.clip,
                 "global gradient-norm limit (0: no clipping)")
      ->check(finiteNumber(false));
  app.add_option("--seconds", options.maxSeconds,
                 "stop after this much training time")
      ->check(finiteNumber(true));
  app.add_option("--eval-every", options.evalEvery,
                 "validate every this many steps")
      ->check(finiteNumber(true));
  app.add_option("--sample", options.sampleLength,
                 "characters of text to generate at the end")
      ->check(finiteNumber(false));
  app.add_option("--temperature", options.temperature,
                 "sampling temperature; 0 picks the likeliest")
      ->check(finiteNumber(false));

  // Options that would be silently ignored are errors instead.
  app.callback([&options, text, trainData, momentum, decayEvery, decayFactor] {
    if (text->count() == 0 && trainData->count() == 0)
      throw CLI::RequiredError("--data or --train-data");
    if (momentum->count() > 0 && options.optimizer != "momentum")
      throw CLI::ValidationError("--momentum",
                                 "applies to `--optimizer momentum` only");
    if ((decayEvery->count() > 0 || decayFactor->count() > 0) &&
        options.schedule != "step")
      throw CLI::ValidationError(decayEvery->count() > 0 ? "--decay-every"
                                                         : "--decay-factor",
                                 "applies to `--schedule step` only");
  });
}

} // namespace weft::runtime
