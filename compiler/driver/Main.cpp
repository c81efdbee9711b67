// The `weft` command: parses the command line and runs one subcommand.
#include "compiler/driver/Commands.h"
#include "compiler/driver/Pipeline.h"
#include "runtime/DeviceProgram.h"
#include "runtime/OptionChecks.h"
#include "runtime/Tasks.h"
#include "runtime/Threads.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <thread>

#include <cstdio>
#include <exception>
#include <new>

namespace {

/// `weft run`'s options for taking optimiser steps; each hyperparameter
/// needs `--optimizer`, which needs `--steps-over`, and the other way round.
void addOptimizerStepOptions(CLI::App &runApp,
                             weft::driver::OptimizerStepOptions &stepping) {
  CLI::Option *stepsOver = runApp.add_option(
      "--steps-over", stepping.stepsOver,
      "INPUT=FILE: one optimiser step per slice of FILE (steps first), fed "
      "as INPUT");
  CLI::Option *optimizer =
      runApp.add_option("--optimizer", stepping.optimizer, "sgd or adam")
          ->check(CLI::IsMember({"sgd", "adam"}));
  stepsOver->needs(optimizer);
  optimizer->needs(stepsOver);
  runApp.add_option("--lr", stepping.learningRate, "learning rate (1e-3)")
      ->check(weft::runtime::finiteNumber(true))
      ->needs(optimizer);
  runApp.add_option("--momentum", stepping.momentum, "SGD momentum (0)")
      ->check(weft::runtime::finiteNumber(false))
      ->needs(optimizer);
  runApp.add_option("--beta1", stepping.beta1, "Adam's beta1 (0.9)")
      ->check(CLI::Range(0.0, 1.0))
      ->needs(optimizer);
  runApp.add_option("--beta2", stepping.beta2, "Adam's beta2 (0.999)")
      ->check(CLI::Range(0.0, 1.0))
      ->needs(optimizer);
  runApp.add_option("--eps", stepping.epsilon, "Adam's epsilon (1e-8)")
      ->check(weft::runtime::finiteNumber(false))
      ->needs(optimizer);
  runApp
      .add_option("--clip", stepping.clip,
                  "global gradient-norm limit before each step (none)")
      ->check(weft::runtime::finiteNumber(true))
      ->needs(optimizer);
}

/// Accepts a C identifier: `weft build --prefix` names C functions.
const CLI::Validator cIdentifier(
    [](std::string &text) -> std::string {
      auto isStart = [](char c) {
        return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
      };
      bool valid =
          !text.empty() && isStart(text[0]) &&
          std::all_of(text.begin(), text.end(), [&](char c) {
            return isStart(c) || std::isdigit(static_cast<unsigned char>(c));
          });
      return valid ? std::string()
                   : "`" + text +
                         "` is not a C identifier (letters, digits "
                         "and `_`, not starting with a digit)";
    },
    "C_NAME");

} // namespace

int main(int argc, char **argv) {
  using namespace weft::driver;
  CLI::App app{"Weft: a compiler for recurrent neural networks"};
  app.require_subcommand(0, 1);
  // Options of the whole command may also follow a subcommand; subcommands
  // take this setting when they are made.
  app.fallthrough();

  EmitOptions emit;
  app.add_option("--emit", emit.stage,
                 "print one stage: ast, ir, grad-ir, lowered, llvm, ptx");
  app.add_option("file", emit.file, "model file, with --emit");
  app.add_option("--set", emit.sizes, "bind a size: NAME=N");
  app.add_flag("--f64", emit.useDouble, "compute in float64");
  app.add_option("--gpu", emit.gpu,
                 "with --emit=ptx: the GPU architecture: sm_75, sm_80 "
                 "(the default), sm_86, sm_89 or sm_90");
  // Products and kernels are split between the threads of one pool.
  int threads = std::max(1u, std::thread::hardware_concurrency());
  app.add_option("--threads", threads,
                 "threads for matrix products and kernels (default: all "
                 "cores)")
      ->check(weft::runtime::finiteNumber(true));
  int optLevel = 2;
  app.add_option("--opt-level", optLevel,
                 "LLVM optimisation, 0 (compiles fastest) to 3")
      ->check(CLI::Range(0, 3));

  std::vector<std::string> checkFiles;
  CLI::App *check = app.add_subcommand("check", "check model files");
  check->add_option("files", checkFiles, "model files")->required();

  RunOptions run;
  std::string runType = "f32";
  CLI::App *runApp = app.add_subcommand(
      "run", "run a model once on .npy arrays; write outputs and gradients");
  runApp->add_option("model", run.model, "model file")->required();
  runApp->add_option("--params", run.paramsDir,
                     "folder of <param>.npy, or an .npz or .safetensors file "
                     "(not needed by a model without parameters)");
  runApp->add_option("--inputs", run.inputsDir, "folder of <input>.npy")
      ->required();
  runApp->add_option("--outputs", run.outputsDir, "folder for outputs")
      ->required();
  runApp->add_option("--grads", run.gradsDir,
                     "folder for gradients (without it, only the outputs are "
                     "written)");
  runApp->add_option("--dtype", runType, "f32 or f64")
      ->check(CLI::IsMember({"f32", "f64"}));
  runApp->add_option("--set", run.sizes, "bind a size: NAME=N");
  runApp
      ->add_option("--device", run.device,
                   "cpu; cuda, the GPU (float32); or gpu-emulated, the GPU's "
                   "kernels and launch plan run on this CPU")
      ->check(CLI::IsMember({"cpu", "cuda", "gpu-emulated"}));
  addOptimizerStepOptions(*runApp, run.stepping);

  TrainOptions train;
  CLI::App *trainApp = app.add_subcommand(
      "train", "train a model on text, or on examples (--train-data)");
  trainApp->add_option("model", train.model, "model file")->required();
  trainApp->add_option("--set", train.sizes, "bind a size: NAME=N");
  weft::runtime::addTrainOptions(*trainApp, train.training);

  BuildOptions build;
  CLI::App *buildApp = app.add_subcommand(
      "build", "compile a model ahead of time: a standalone trainer, or an "
               "object file and C header to embed");
  buildApp->add_option("model", build.model, "model file")->required();
  CLI::Option *buildTrain = buildApp->add_flag(
      "--train", build.train,
      "write an executable that trains the model, with `weft train`'s "
      "options");
  CLI::Option *buildEmit =
      buildApp
          ->add_option("--emit", build.emit,
                       "obj: the forward pass as an object file; header: "
                       "its C header")
          ->check(CLI::IsMember({"obj", "header"}));
  buildTrain->excludes(buildEmit);
  buildApp
      ->add_option("--target", build.target,
                   "with --train: cpu, or cuda: the trainer also carries the "
                   "model's GPU kernels and trains on the GPU by default")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->needs(buildTrain);
  buildApp->add_option("-o,--output", build.output, "the file to write")
      ->required();
  buildApp->add_option("--set", build.sizes, "bind a size: NAME=N");
  buildApp->add_option("--data", build.data,
                       "size the vocabulary to the distinct bytes of this text "
                       "(or folder)");
  buildApp
      ->add_option("--prefix", build.prefix,
                   "C names' prefix (default: the model's name in lower "
                   "case)")
      ->check(cIdentifier);

  weft::driver::PlotOptions plot;
  CLI::App *plotApp =
      app.add_subcommand("plot", "draw the loss curves of metrics files");
  plotApp->add_option("metrics", plot.metrics, "`weft train --metrics` files")
      ->required()
      ->check(CLI::ExistingFile);
  plotApp->add_option("-o,--output", plot.output, "the PNG to write")
      ->required();
  plotApp->add_flag("--time", plot.byTime,
                    "against the elapsed seconds, not the step");

  weft::driver::DataOptions data;
  CLI::App *dataApp = app.add_subcommand(
      "data", "generate a synthetic task's arrays as .npy files");
  dataApp->add_option("task", data.task, "dates, babi1 or copy")
      ->required()
      ->check(CLI::IsMember(weft::runtime::taskNames()));
  dataApp->add_option("--count", data.count, "number of examples (1000)");
  dataApp->add_option("--seed", data.seed, "random seed (1)");
  dataApp->add_option_function<int64_t>(
      "--min-length", [&](const int64_t &length) { data.minLength = length; },
      "copy: the shortest sequence (1)");
  dataApp->add_option_function<int64_t>(
      "--max-length", [&](const int64_t &length) { data.maxLength = length; },
      "copy: the longest sequence, and half the steps (20)");
  dataApp->add_option("-o,--output", data.output, "the folder to write")
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &error) {
    // Help exits 0; every usage error exits 1, like any other error.
    return app.exit(error) == 0 ? 0 : 1;
  }
  weft::runtime::setComputeThreads(
      weft::runtime::threadsForThisMachine(threads));
  weft::driver::setOptimizationLevel(optLevel);

  // A bug in the compiler must not end in a crash without a word.
  try {
    if (*check)
      return checkCommand(checkFiles);
    if (*runApp) {
      run.useDouble = runType == "f64";
      return runCommand(run);
    }
    if (*trainApp)
      return trainCommand(train);
    if (*buildApp)
      return buildCommand(build);
    if (*plotApp)
      return plotCommand(plot);
    if (*dataApp)
      return dataCommand(data);
    if (!emit.stage.empty() && !emit.file.empty())
      return emitCommand(emit);
  } catch (const weft::runtime::DeviceError &error) {
    // The GPU refused a call (out of memory, a kernel that faulted): the
    // user's to know, not a compiler bug.
    std::fprintf(stderr, "weft: error: on the GPU: %s\n", error.what());
    return 1;
  } catch (const std::bad_alloc &) {
    std::fputs("weft: error: out of memory: the model's buffers, at these "
               "sizes and this batch, or its data do not fit in this "
               "machine's memory\n",
               stderr);
    return 1;
  } catch (const std::exception &error) {
    std::fprintf(stderr, "weft: internal error: %s\n", error.what());
    return 1;
  }
  if (!emit.file.empty() || !emit.stage.empty())
    std::fputs(emit.file.empty()
                   ? "weft: error: `--emit` needs a model file\n"
                   : "weft: error: name a subcommand (check, run, train) or "
                     "a stage with `--emit=STAGE`\n",
               stderr);
  else
    std::fputs(app.help().c_str(), stderr);
  return 1;
}
