// End-to-end tests of the `weft` command: golden diagnostics for malformed
// models, and one-line errors for bad training data. Set
// WEFT_UPDATE_GOLDEN=1 to rewrite the golden files from the current output.
#include "CommandSupport.h"
#include "runtime/Cuda.h"
#include "runtime/Npy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/wait.h>

namespace fs = std::filesystem;

namespace {

using namespace weft::test;

class Diagnostics : public testing::TestWithParam<std::string> {};

TEST_P(Diagnostics, MatchGolden) {
  fs::path dir = WEFT_DIAGNOSTICS_DIR;
  std::string name = GetParam();
  CommandResult result = runCommand(fmt::format(
      "cd '{}' && '{}' check {}.weft", dir.string(), WEFT_BINARY, name));
  EXPECT_EQ(result.status, 1) << result.output;
  // Paths into the standard library differ between checkouts.
  std::string stdlib = std::string(WEFT_SOURCE_DIR) + "/stdlib";
  for (size_t at; (at = result.output.find(stdlib)) != std::string::npos;)
    result.output.replace(at, stdlib.size(), "<stdlib>");
  fs::path golden = dir / (name + ".expected");
  if (std::getenv("WEFT_UPDATE_GOLDEN")) {
    std::ofstream(golden) << result.output;
    return;
  }
  EXPECT_EQ(result.output, readFile(golden));
}

std::vector<std::string> diagnosticCases() {
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(WEFT_DIAGNOSTICS_DIR))
    if (entry.path().extension() == ".weft")
      names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Golden, Diagnostics,
                         testing::ValuesIn(diagnosticCases()),
                         [](const testing::TestParamInfo<std::string> &info) {
                           return info.param;
                         });

/// `weft train` on bad data: one line naming the path, and status 1.
void expectDataError(const std::string &path) {
  CommandResult result = runCommand(
      fmt::format("'{}' train '{}/examples/char_lm.weft' --data '{}'",
                  WEFT_BINARY, WEFT_SOURCE_DIR, path));
  EXPECT_EQ(result.status, 1) << result.output;
  EXPECT_NE(result.output.find(path), std::string::npos) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1)
      << result.output;
}

/// Writes a float64 `.npy` of zeros of `shape` at `path`.
void writeZeros(const fs::path &path, std::vector<int64_t> shape) {
  weft::runtime::NpyArray array;
  array.shape = std::move(shape);
  array.bytes.assign(array.elementCount() * sizeof(double), 0);
  std::string error;
  ASSERT_TRUE(weft::runtime::writeNpy(path.string(), array, &error)) << error;
}

TEST(TrainData, MissingPath) {
  expectDataError((freshDir("missing") / "no-such-file.txt").string());
}

TEST(TrainData, EmptyFile) {
  fs::path file = freshDir("empty") / "empty.txt";
  std::ofstream(file).close();
  expectDataError(file.string());
}

/// A text in another encoding in a folder of texts is skipped with a note,
/// unlike the binary files kept beside texts.
TEST(TrainData, FolderWithALatin1FileSaysItIsSkipped) {
  fs::path dir = freshDir("latin1");
  writeSampleText(dir);
  std::ofstream(dir / "latin1.txt", std::ios::binary) << "caf\xe9 au lait\n";
  CommandResult result = runCommand(
      fmt::format("'{}' train '{}/examples/char_lm.weft' --data '{}' "
                  "--steps 0 --batch 4 --sample 0",
                  WEFT_BINARY, WEFT_SOURCE_DIR, dir.string()));
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("latin1.txt is not UTF-8 text; it is skipped"),
            std::string::npos)
      << result.output;
}

TEST(TrainData, FolderWithoutText) {
  fs::path dir = freshDir("binary");
  std::ofstream(dir / "index.dat", std::ios::binary)
      << std::string("\x00\x01\x02\xff", 4);
  expectDataError(dir.string());
}

/// Example sources that are ambiguous or name nothing are one-line errors
/// that say which source; `INPUT=FILE` overrides a folder.
TEST(TrainData, ExampleSourcesAreCheckedBeforeTraining) {
  fs::path dir = freshDir("sources");
  std::ofstream(dir / "linear.weft")
      << "model Linear(T) {\n"
         "  time t < T\n"
         "  input x[t]: [9]\n"
         "  input y[t]: [8]\n"
         "  input mask[t]: []\n"
         "  param W: [8, 9] = glorot\n"
         "  loss = sum(t) sum((W @ x[t] - y[t]) * (W @ x[t] - y[t])) + "
         "sum(t) mask[t]\n"
         "}\n";
  for (const char *folder : {"one", "two"}) {
    CommandResult made =
        runCommand(fmt::format("cd '{}' && '{}' data copy --count 8 --seed 1 "
                               "--min-length 2 --max-length 3 -o {}",
                               dir.string(), WEFT_BINARY, folder));
    ASSERT_EQ(made.status, 0) << made.output;
  }
  auto train = [&](const std::string &sources) {
    return runCommand(fmt::format("cd '{}' && '{}' train linear.weft --set "
                                  "T=7 --steps 1 --batch 4 --test-data one {}",
                                  dir.string(), WEFT_BINARY, sources));
  };
  std::map<std::string, std::string> errors = {
      {"--train-data nowhere", "nowhere: no such folder"},
      {"--train-data one --train-data two",
       "more than one file (one/mask.npy, two/mask.npy)"},
      {"--train-data one --train-data x=missing.npy",
       "missing.npy: no such file"},
      {"--train-data one --train-data z=one/x.npy",
       "the model has no input `z`"},
      {"--train-data one --train-data x=two/x.npy --train-data x=one/x.npy",
       "names a file for the input `x` twice"}};
  for (const auto &[sources, message] : errors) {
    CommandResult result = train(sources);
    EXPECT_EQ(result.status, 1) << sources << "\n" << result.output;
    EXPECT_NE(result.output.find(message), std::string::npos) << sources << "\n"
                                                              << result.output;
  }
  writeZeros(dir / "empty.npy", {0, 7, 9});
  CommandResult empty = train("--train-data one --train-data x=empty.npy");
  EXPECT_EQ(empty.status, 1) << empty.output;
  EXPECT_NE(empty.output.find("empty.npy: holds no examples"),
            std::string::npos)
      << empty.output;
  CommandResult tooLarge = runCommand(
      fmt::format("cd '{}' && '{}' train linear.weft --set T=7 --steps 1 "
                  "--batch 9 --train-data one --test-data one",
                  dir.string(), WEFT_BINARY));
  EXPECT_EQ(tooLarge.status, 1) << tooLarge.output;
  EXPECT_NE(
      tooLarge.output.find("`--batch 9` is more than the 8 training examples"),
      std::string::npos)
      << tooLarge.output;
  CommandResult overridden = train("--train-data one --train-data x=two/x.npy");
  EXPECT_EQ(overridden.status, 0) << overridden.output;
}

/// Options that would do nothing with the others given, or that are out
/// of range, are errors that say why.
TEST(TrainOptions, RejectsOptionsThatWouldBeIgnored) {
  fs::path text = freshDir("ignored") / "text.txt";
  std::ofstream(text) << "some text to train on, never read.\n";
  std::string command =
      fmt::format("'{}' train '{}/examples/char_lm.weft' --data '{}' ",
                  WEFT_BINARY, WEFT_SOURCE_DIR, text.string());
  for (auto [flags, expected] :
       {std::pair{"--momentum 0.5", "`--optimizer momentum` only"},
        std::pair{"--optimizer sgd --momentum 0.5",
                  "`--optimizer momentum` only"},
        std::pair{"--decay-every 10", "`--schedule step` only"},
        std::pair{"--schedule cosine --decay-factor 0.1",
                  "`--schedule step` only"},
        std::pair{"--resume ckpt --load w.npz", "--resume excludes --load"},
        std::pair{"--lr nan", "--lr: `nan` is not a finite number"},
        std::pair{"--batch 0", "--batch: `0` must be above 0"}}) {
    CommandResult result = runCommand(command + flags);
    EXPECT_EQ(result.status, 1) << flags << "\n" << result.output;
    EXPECT_NE(result.output.find(expected), std::string::npos) << flags << "\n"
                                                               << result.output;
  }
  CommandResult neither = runCommand(fmt::format(
      "'{}' train '{}/examples/char_lm.weft'", WEFT_BINARY, WEFT_SOURCE_DIR));
  EXPECT_EQ(neither.status, 1) << neither.output;
  EXPECT_NE(neither.output.find("--data or --train-data"), std::string::npos)
      << neither.output;
}

/// Without a GPU, `--device=cuda` says so in one line, with status 1.
TEST(TrainOptions, CudaDeviceWithoutAGpuIsAOneLineError) {
  std::string why;
  if (weft::runtime::cudaDeviceCount(&why))
    GTEST_SKIP() << "this machine has a GPU: tests/driver/GpuTest.cpp";
  fs::path text = freshDir("cuda") / "text.txt";
  std::ofstream(text) << "text for a device that is not there.\n";
  CommandResult result = runCommand(
      fmt::format("'{}' train '{}/examples/char_lm.weft' --data '{}' "
                  "--device=cuda --steps 1",
                  WEFT_BINARY, WEFT_SOURCE_DIR, text.string()));
  EXPECT_EQ(result.status, 1) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1)
      << result.output;
  EXPECT_NE(result.output.find("GPU"), std::string::npos) << result.output;
}

/// `weft train` with each optimiser and schedule: a few steps on generated
/// text finish with status 0 and write finite losses to the metrics file,
/// with a validation at every `--eval-every` steps.
void expectTrainingRuns(const std::string &name, const std::string &flags) {
  fs::path dir = freshDir("train-" + name);
  fs::path text = dir / "text.txt";
  {
    std::ofstream out(text);
    for (int line = 0; line < 600; ++line)
      out << "line " << line % 37 << ": the quick brown fox jumps over "
          << (line % 3 ? "the lazy dog" : "a sleeping cat") << ".\n";
  }
  fs::path metrics = dir / "metrics.jsonl";
  CommandResult result = runCommand(fmt::format(
      "'{}' train '{}/examples/char_lm.weft' --data '{}' --steps 6 "
      "--eval-every 3 --batch 4 --sample 0 --metrics '{}' {}",
      WEFT_BINARY, WEFT_SOURCE_DIR, text.string(), metrics.string(), flags));
  ASSERT_EQ(result.status, 0) << result.output;
  std::ifstream in(metrics);
  std::string line;
  int validations = 0, records = 0;
  while (std::getline(in, line)) {
    ++records;
    size_t at = line.find("\"val_loss\":");
    if (at == std::string::npos)
      continue;
    ++validations;
    double loss = std::stod(line.substr(at + 11));
    EXPECT_TRUE(std::isfinite(loss) && loss > 0) << line;
  }
  EXPECT_EQ(validations, 3) << "steps 0, 3 and 6";
  EXPECT_GE(records, 3);
}

TEST(Train, AdamWithCosineScheduleAndWarmup) {
  expectTrainingRuns("adamw", "--optimizer adamw --weight-decay 0.01 "
                              "--schedule cosine --warmup 2");
}

TEST(Train, MomentumWithStepSchedule) {
  expectTrainingRuns("momentum", "--optimizer momentum --lr 0.3 "
                                 "--schedule step --decay-every 2");
}

/// The last `val_loss` of a metrics file, as written.
std::string lastValidation(const fs::path &metrics) {
  std::ifstream in(metrics);
  std::string line, last;
  while (std::getline(in, line))
    if (size_t at = line.find("\"val_loss\":"); at != std::string::npos)
      last = line.substr(at + 11, line.find_first_of(",}", at) - at - 11);
  return last;
}

/// Weights saved at the end of a run and loaded into a new one give the
/// same validation loss before any step, in both formats.
TEST(Train, SavedWeightsLoadBack) {
  for (std::string extension : {".npz", ".safetensors"}) {
    fs::path dir = freshDir("weights" + extension.substr(1));
    fs::path text = dir / "text.txt";
    {
      std::ofstream out(text);
      for (int line = 0; line < 400; ++line)
        out << "entry " << line % 13 << " reads " << line % 7 << " words.\n";
    }
    fs::path weights = dir / ("w" + extension);
    std::string command = fmt::format(
        "'{}' train '{}/examples/char_lm.weft' --data '{}' --batch 4 "
        "--sample 0 --eval-every 4 ",
        WEFT_BINARY, WEFT_SOURCE_DIR, text.string());
    CommandResult trained = runCommand(
        command + fmt::format("--steps 4 --save '{}' --metrics '{}'",
                              weights.string(), (dir / "a.jsonl").string()));
    ASSERT_EQ(trained.status, 0) << trained.output;
    CommandResult loaded = runCommand(
        command + fmt::format("--steps 0 --load '{}' --metrics '{}'",
                              weights.string(), (dir / "b.jsonl").string()));
    ASSERT_EQ(loaded.status, 0) << loaded.output;
    std::string end = lastValidation(dir / "a.jsonl");
    EXPECT_FALSE(end.empty());
    EXPECT_EQ(lastValidation(dir / "b.jsonl"), end) << extension;
  }
}

/// The losses a metrics file records, by step, as written.
std::map<int64_t, std::string> lossesByStep(const fs::path &metrics) {
  std::map<int64_t, std::string> losses;
  std::ifstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    size_t step = line.find("\"step\":");
    size_t train = line.find("\"train_loss\":");
    if (step == std::string::npos || train == std::string::npos)
      continue;
    losses[std::stoll(line.substr(step + 7))] = line.substr(train);
  }
  return losses;
}

/// A run killed (SIGKILL) in the middle and resumed from its last
/// checkpoint records the same losses, step for step, as a run that was
/// never stopped, in the same metrics file; resuming with another
/// optimiser, or on a text of other bytes, is refused.
TEST(Train, KilledAndResumedRunMatchesAnUninterruptedOne) {
  fs::path dir = freshDir("resume");
  fs::path text = dir / "text.txt";
  {
    std::ofstream out(text);
    for (int line = 0; line < 800; ++line)
      out << "record " << line % 29 << " of " << line % 11 << " is kept.\n";
  }
  std::string command =
      fmt::format("'{}' train '{}/examples/char_lm.weft' --data '{}' --batch 4 "
                  "--sample 0 --eval-every 2 --steps 40 --threads 1 ",
                  WEFT_BINARY, WEFT_SOURCE_DIR, text.string());
  fs::path checkpoints = dir / "checkpoints";
  fs::path metrics = dir / "b.jsonl";
  CommandResult killed = runCommand(fmt::format(
      "bash -c '{} --checkpoint {} --metrics {} >/dev/null & pid=$!; "
      "while [ ! -e {}/step-000000004 ]; do sleep 0.02; done; "
      "kill -9 $pid; wait $pid; exit 0'",
      command, checkpoints.string(), metrics.string(), checkpoints.string()));
  ASSERT_EQ(killed.status, 0) << killed.output;
  fs::path otherText = dir / "other.txt";
  {
    std::ofstream out(otherText);
    for (int line = 0; line < 800; ++line)
      out << "record " << line % 29 << " of " << line % 11 << " is Kept.\n";
  }
  CommandResult otherBytes = runCommand(fmt::format(
      "'{}' train '{}/examples/char_lm.weft' --data '{}' --batch 4 "
      "--sample 0 --eval-every 2 --steps 40 --threads 1 --resume '{}'",
      WEFT_BINARY, WEFT_SOURCE_DIR, otherText.string(), checkpoints.string()));
  EXPECT_EQ(otherBytes.status, 1) << otherBytes.output;
  EXPECT_NE(otherBytes.output.find("trained on a text of other bytes"),
            std::string::npos)
      << otherBytes.output;
  CommandResult again = runCommand(
      command + fmt::format("--checkpoint '{}'", checkpoints.string()));
  EXPECT_EQ(again.status, 1) << again.output;
  EXPECT_NE(again.output.find("holds the checkpoints of an earlier run"),
            std::string::npos)
      << again.output;
  CommandResult otherOptimizer =
      runCommand(command + fmt::format("--resume '{}' --optimizer sgd",
                                       checkpoints.string()));
  EXPECT_EQ(otherOptimizer.status, 1) << otherOptimizer.output;
  EXPECT_NE(otherOptimizer.output.find("was trained with Adam or AdamW"),
            std::string::npos)
      << otherOptimizer.output;
  CommandResult resumed =
      runCommand(command + fmt::format("--resume '{}' --metrics '{}'",
                                       checkpoints.string(), metrics.string()));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  CommandResult whole = runCommand(
      command + fmt::format("--metrics '{}'", (dir / "a.jsonl").string()));
  ASSERT_EQ(whole.status, 0) << whole.output;

  // The resumed run's file holds the killed run's steps, then its own.
  std::map<int64_t, std::string> expected = lossesByStep(dir / "a.jsonl");
  std::map<int64_t, std::string> got = lossesByStep(metrics);
  EXPECT_EQ(got, expected);
  std::ifstream in(metrics);
  int64_t lastStep = -1;
  for (std::string line; std::getline(in, line);) {
    int64_t step = std::stoll(line.substr(line.find("\"step\":") + 7));
    EXPECT_GE(step, lastStep) << line;
    lastStep = step;
  }
}

TEST(Train, PlainSgd) { expectTrainingRuns("sgd", "--optimizer sgd --lr 0.5"); }

TEST(Train, WithoutClipping) { expectTrainingRuns("no-clip", "--clip 0"); }

/// `weft plot` draws a PNG from metrics files; a malformed line is a
/// one-line error naming the file and the line.
TEST(Plot, WritesAPngAndRejectsMalformedMetrics) {
  fs::path dir = freshDir("plot");
  fs::path metrics = dir / "run.jsonl";
  {
    std::ofstream out(metrics);
    for (int step = 0; step <= 100; step += 10)
      out << fmt::format("{{\"step\":{},\"train_loss\":{}}}\n", step,
                         4.0 / (1 + step * 0.05));
    out << "{\"step\":100,\"val_loss\":1.9}\n";
  }
  fs::path png = dir / "curves.png";
  CommandResult drawn = runCommand(fmt::format(
      "'{}' plot '{}' -o '{}'", WEFT_BINARY, metrics.string(), png.string()));
  ASSERT_EQ(drawn.status, 0) << drawn.output;
  std::ifstream image(png, std::ios::binary);
  char signature[8] = {};
  image.read(signature, 8);
  EXPECT_EQ(std::string(signature + 1, 3), "PNG");
  EXPECT_GT(fs::file_size(png), 2000u);

  fs::path broken = dir / "broken.jsonl";
  std::ofstream(broken) << "{\"step\":0,\"train_loss\":4}\nnot json\n";
  CommandResult failed =
      runCommand(fmt::format("'{}' plot '{}' -o '{}'", WEFT_BINARY,
                             broken.string(), (dir / "x.png").string()));
  EXPECT_EQ(failed.status, 1);
  EXPECT_NE(failed.output.find(broken.string() + "` line 2"), std::string::npos)
      << failed.output;

  // PNG only: another name would hold PNG bytes under a misleading name.
  CommandResult svg =
      runCommand(fmt::format("'{}' plot '{}' -o '{}'", WEFT_BINARY,
                             metrics.string(), (dir / "x.svg").string()));
  EXPECT_EQ(svg.status, 1) << svg.output;
  EXPECT_NE(svg.output.find("writes PNG images"), std::string::npos)
      << svg.output;
}

/// Sizes too large to lay out are located errors once they are numbers:
/// a default over the limit, and a parameter whose element count would
/// overflow although each of its sizes is allowed.
TEST(Sizes, TooLargeToLayOutAreLocatedErrors) {
  fs::path dir = freshDir("sizes");
  std::ofstream(dir / "default.weft") << "model M(H = 4294967296) {\n"
                                         "  input x: [4]\n"
                                         "  param W: [H, H] = zeros\n"
                                         "  loss = sum(x) + sum(W)\n"
                                         "}\n";
  std::ofstream(dir / "cube.weft") << "model M(H) {\n"
                                      "  input x: [4]\n"
                                      "  param W: [H, H, H] = zeros\n"
                                      "  loss = sum(x) + sum(W)\n"
                                      "}\n";
  CommandResult tooLarge =
      runCommand(fmt::format("cd '{}' && '{}' --emit=lowered default.weft",
                             dir.string(), WEFT_BINARY));
  EXPECT_EQ(tooLarge.status, 1);
  EXPECT_NE(tooLarge.output.find("default.weft:1:9: error: the size `H` = "
                                 "4294967296 is larger than 2147483648"),
            std::string::npos)
      << tooLarge.output;
  CommandResult overflowing = runCommand(
      fmt::format("cd '{}' && '{}' --emit=lowered cube.weft --set H=2097152",
                  dir.string(), WEFT_BINARY));
  EXPECT_EQ(overflowing.status, 1);
  EXPECT_NE(overflowing.output.find("cube.weft:3:3: error: the parameter `W` "
                                    "has shape [2097152, 2097152, 2097152]"),
            std::string::npos)
      << overflowing.output;
}

/// `weft run` names the file of an input that is missing or has the wrong
/// rank, before it tries to bind sizes from the others.
TEST(Run, ArrayErrorsNameTheFile) {
  fs::path dir = freshDir("run-arrays");
  std::ofstream(dir / "model.weft") << "model M(T, I) {\n"
                                       "  time t < T\n"
                                       "  input x[t]: [I]\n"
                                       "  param W: [2, I] = glorot\n"
                                       "  loss = sum(t) sum(W @ x[t])\n"
                                       "}\n";
  fs::create_directories(dir / "params");
  fs::create_directories(dir / "inputs");
  writeZeros(dir / "params" / "W.npy", {2, 3});
  std::string command = fmt::format(
      "cd '{}' && '{}' run model.weft --params params --inputs inputs "
      "--outputs out --grads grads",
      dir.string(), WEFT_BINARY);

  CommandResult missing = runCommand(command);
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.output, "weft: error: `inputs/x.npy` is missing: the "
                            "model's input `x` needs it\n");

  writeZeros(dir / "inputs" / "x.npy", {6});
  CommandResult flat = runCommand(command);
  EXPECT_EQ(flat.status, 1);
  EXPECT_EQ(std::count(flat.output.begin(), flat.output.end(), '\n'), 1)
      << flat.output;
  EXPECT_EQ(flat.output.find("weft: error: `inputs/x.npy` has shape [6]"), 0u)
      << flat.output;
}

/// `--params` is needed only by a model that has parameters.
TEST(Run, ParamsFolderOnlyWhereThereAreParameters) {
  fs::path dir = freshDir("run-params");
  std::ofstream(dir / "square.weft") << "model Square(T) {\n"
                                        "  time t < T\n"
                                        "  input x[t]: [3]\n"
                                        "  loss = sum(t) sum(x[t] * x[t])\n"
                                        "}\n";
  std::ofstream(dir / "linear.weft") << "model Linear(T) {\n"
                                        "  time t < T\n"
                                        "  input x[t]: [3]\n"
                                        "  param W: [2, 3] = glorot\n"
                                        "  loss = sum(t) sum(W @ x[t])\n"
                                        "}\n";
  fs::create_directories(dir / "inputs");
  writeZeros(dir / "inputs" / "x.npy", {4, 2, 3});
  auto run = [&](const char *model) {
    return runCommand(fmt::format("cd '{}' && '{}' run {} --inputs inputs "
                                  "--outputs out --grads grads",
                                  dir.string(), WEFT_BINARY, model));
  };
  CommandResult square = run("square.weft");
  EXPECT_EQ(square.status, 0) << square.output;
  EXPECT_TRUE(fs::exists(dir / "grads" / "grad_x.npy"));
  // Without `--grads`, the outputs alone.
  CommandResult forward = runCommand(
      fmt::format("cd '{}' && '{}' run square.weft --inputs inputs --outputs "
                  "forward",
                  dir.string(), WEFT_BINARY));
  EXPECT_EQ(forward.status, 0) << forward.output;
  EXPECT_TRUE(fs::exists(dir / "forward" / "loss.npy"));
  EXPECT_FALSE(fs::exists(dir / "forward" / "grad_x.npy"));
  CommandResult linear = run("linear.weft");
  EXPECT_EQ(linear.status, 1);
  EXPECT_EQ(linear.output,
            "weft: error: the model has parameters (`W` first): give them "
            "with `--params DIR` (or an .npz or .safetensors file)\n");
}

/// A parameter nothing reads is a warning, and `--save` for a model with
/// no parameters is refused before training, not after.
TEST(Params, UnusedIsAWarningAndNoneToSaveAnError) {
  fs::path dir = freshDir("params-unused");
  std::ofstream(dir / "unused.weft") << "model M(T) {\n"
                                        "  time t < T\n"
                                        "  input x[t]: [9]\n"
                                        "  param P: [9] = zeros\n"
                                        "  loss = sum(t) sum(x[t] * x[t])\n"
                                        "}\n";
  CommandResult checked = runCommand(fmt::format(
      "cd '{}' && '{}' check unused.weft", dir.string(), WEFT_BINARY));
  EXPECT_EQ(checked.status, 0) << checked.output;
  EXPECT_NE(checked.output.find("unused.weft:4:9: warning: the parameter `P` "
                                "is never used"),
            std::string::npos)
      << checked.output;

  std::ofstream(dir / "none.weft") << "model M(T) {\n"
                                      "  time t < T\n"
                                      "  input x[t]: [9]\n"
                                      "  loss = sum(t) sum(x[t] * x[t])\n"
                                      "}\n";
  CommandResult made =
      runCommand(fmt::format("cd '{}' && '{}' data copy --count 8 --seed 1 "
                             "--min-length 2 --max-length 3 -o copy",
                             dir.string(), WEFT_BINARY));
  ASSERT_EQ(made.status, 0) << made.output;
  CommandResult saved = runCommand(fmt::format(
      "cd '{}' && '{}' train none.weft --set T=7 --train-data x=copy/x.npy "
      "--test-data x=copy/x.npy --steps 1 --batch 4 --save out.npz",
      dir.string(), WEFT_BINARY));
  EXPECT_EQ(saved.status, 1) << saved.output;
  EXPECT_NE(saved.output.find("the model has no parameters to save"),
            std::string::npos)
      << saved.output;
  EXPECT_EQ(saved.output.find("step 1"), std::string::npos) << saved.output;
}

/// `ones(N)` is a constant, as `zeros(N)` is.
TEST(Run, OnesIsAConstant) {
  fs::path dir = freshDir("run-ones");
  std::ofstream(dir / "ones.weft") << "model M {\n"
                                      "  input x: [4]\n"
                                      "  loss = sum(ones(4) + x * x)\n"
                                      "}\n";
  fs::create_directories(dir / "inputs");
  writeZeros(dir / "inputs" / "x.npy", {2, 4});
  CommandResult result = runCommand(
      fmt::format("cd '{}' && '{}' run ones.weft --inputs inputs --outputs "
                  "out --dtype f64",
                  dir.string(), WEFT_BINARY));
  ASSERT_EQ(result.status, 0) << result.output;
  std::string error;
  auto loss =
      weft::runtime::readNpy((dir / "out" / "loss.npy").string(), &error);
  ASSERT_TRUE(loss) << error;
  EXPECT_EQ(loss->toDoubles(), std::vector<double>{4.0});
}

/// More threads than cores would only spin: the count is lowered, with a
/// note.
TEST(Threads, MoreThanTheCoresAreLowered) {
  CommandResult result =
      runCommand(fmt::format("'{}' --threads 100000 check '{}/stdlib/gru.weft'",
                             WEFT_BINARY, WEFT_SOURCE_DIR));
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("note: --threads 100000 is more than this "
                               "machine's"),
            std::string::npos)
      << result.output;
}

TEST(Check, StandardLibraryAndExamplesAreClean) {
  for (const char *folder : {"stdlib", "examples", "tests/conformance"}) {
    for (const auto &entry :
         fs::directory_iterator(fs::path(WEFT_SOURCE_DIR) / folder)) {
      if (entry.path().extension() != ".weft")
        continue;
      CommandResult result = runCommand(
          fmt::format("'{}' check '{}'", WEFT_BINARY, entry.path().string()));
      EXPECT_EQ(result.status, 0) << entry.path() << "\n" << result.output;
      EXPECT_EQ(result.output, "") << entry.path();
    }
  }
}

} // namespace
