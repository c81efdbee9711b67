// The `main` of a standalone trainer, the executable `weft build --train`
// links: the training step and the forward pass are compiled objects
// linked beside this file, each with its manifest; the command line is
// `weft train`'s, less the model and `--set`. A trainer built with
// `--target=cuda` also carries each program's PTX and launch plan, and
// trains on the GPU unless told `--device cpu`.
#include "runtime/Corpus.h"
#include "runtime/Cuda.h"
#include "runtime/Manifest.h"
#include "runtime/OptionChecks.h"
#include "runtime/Program.h"
#include "runtime/Threads.h"
#include "runtime/TrainOptions.h"
#include "runtime/Trainer.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <thread>

extern "C" {
void weft_train_step(void **buffers, int64_t batch);
void weft_eval_step(void **buffers, int64_t batch);
extern const char weft_train_manifest[];
extern const char weft_eval_manifest[];
/// What the trainer was built from: the model file and its sizes.
extern const char weft_trainer_about[];
/// The bytes of the text it was built for, in hex, when built with `--data`.
extern const char weft_trainer_vocabulary[] __attribute__((weak));
/// The GPU kernels and launch plans, in trainers built for CUDA only.
extern const char weft_train_ptx[] __attribute__((weak));
extern const char weft_train_plan[] __attribute__((weak));
extern const char weft_eval_ptx[] __attribute__((weak));
extern const char weft_eval_plan[] __attribute__((weak));
}

namespace {

using namespace weft::runtime;

int fail(const std::string &message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

bool hasGpuCode() { return weft_train_ptx && weft_eval_ptx; }

/// The bytes of `weft_trainer_vocabulary`.
std::vector<uint8_t> builtVocabulary() {
  std::vector<uint8_t> bytes;
  std::string_view hex = weft_trainer_vocabulary;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<uint8_t>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return bytes;
}

/// A program's GPU step on the first GPU, from its PTX and plan; null and
/// `error` if there is none.
std::unique_ptr<Program> gpuProgram(const Manifest &manifest, const char *ptx,
                                    const char *planText, std::string *error) {
  std::optional<DevicePlan> plan = planFromJson(planText, error);
  if (!plan)
    return nullptr;
  std::unique_ptr<Device> gpu = openCudaDevice(ptx, plan->kernelCount, error);
  if (!gpu)
    return nullptr;
  return std::make_unique<DeviceProgram>(manifest.buffers, std::move(*plan),
                                         std::move(gpu));
}

/// Trains with the linked programs; `gpuByDefault` says that `--device
/// cuda` was not asked for but is this trainer's default.
int trainLinkedModel(const TrainOptions &options, bool gpuByDefault) {
  std::string error;
  if (options.device == "gpu-emulated")
    return fail("a built trainer cannot emulate the GPU (that needs the "
                "compiler): use `weft train --device gpu-emulated`");
  if (options.device == "cuda" && !hasGpuCode())
    return fail("this trainer was built for the CPU only: build it with "
                "`weft build --train --target=cuda` to train on a GPU");
  if (!checkTrainingDevice(options, &error))
    return fail(gpuByDefault ? error + "; this trainer was built for the GPU "
                                       "and trains on the CPU when told "
                                       "`--device cpu`"
                             : error);
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
    // Token ids are those of the text the trainer was built for.
    if (weft_trainer_vocabulary &&
        !useVocabulary(*corpus, builtVocabulary(), &error))
      return fail(fmt::format("{}: {}: build the trainer with `--data` "
                              "naming this text",
                              options.data, error));
  }
  std::unique_ptr<DataFeed> feed =
      dataFeed(options, *model, std::move(corpus), &error);
  if (!feed)
    return fail(error);
  if (options.device == "cuda") {
    std::unique_ptr<Program> trainProgram =
        gpuProgram(*trainManifest, weft_train_ptx, weft_train_plan, &error);
    std::unique_ptr<Program> evalProgram =
        trainProgram
            ? gpuProgram(*evalManifest, weft_eval_ptx, weft_eval_plan, &error)
            : nullptr;
    if (!evalProgram)
      return fail(error);
    return train(options, *trainProgram, *evalProgram, *model, *feed);
  }
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
      ->check(finiteNumber(true));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &error) {
    return app.exit(error) == 0 ? 0 : 1;
  }
  bool gpuByDefault = hasGpuCode() && app.get_option("--device")->count() == 0;
  if (gpuByDefault)
    options.device = "cuda";
  setComputeThreads(threadsForThisMachine(threads));
  try {
    return trainLinkedModel(options, gpuByDefault);
  } catch (const DeviceError &error) {
    return fail(std::string("on the GPU: ") + error.what());
  } catch (const std::bad_alloc &) {
    return fail("out of memory: the model's buffers, at this batch, or its "
                "data do not fit in this machine's memory");
  } catch (const std::exception &error) {
    return fail(std::string("internal error: ") + error.what());
  }
}
