// The examples end to end, each in a tiny version: fashion_rows learns
// synthetic images in Fashion-MNIST's IDX files, through `weft train` and
// through a trainer from `weft build --train`, which agree; seq2seq_dates
// and memn2n_qa train on `weft data`'s tasks, hyper_lm on text; bad
// example data gets one line naming the file or the input.
#include "CommandSupport.h"
#include "runtime/Npy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <random>
#include <regex>

namespace fs = std::filesystem;

namespace {

using namespace weft::test;

std::string idxHeader(int type, std::vector<uint32_t> shape) {
  std::string out = {0, 0, static_cast<char>(type),
                     static_cast<char>(shape.size())};
  for (uint32_t size : shape)
    for (int shift = 24; shift >= 0; shift -= 8)
      out += static_cast<char>((size >> shift) & 0xff);
  return out;
}

/// `count` 28 x 28 images of class k = i % 10 with a bright band at rows
/// 2k and 2k + 1 over dim noise, and their labels; the images compressed.
void writeImages(const fs::path &dir, const std::string &prefix, int count,
                 uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string images = idxHeader(0x08, {uint32_t(count), 28, 28});
  std::string labels = idxHeader(0x08, {uint32_t(count)});
  for (int i = 0; i < count; ++i) {
    int label = i % 10;
    labels += static_cast<char>(label);
    for (int row = 0; row < 28; ++row)
      for (int column = 0; column < 28; ++column)
        images +=
            static_cast<char>(row / 2 == label ? 200 + rng() % 56 : rng() % 60);
  }
  gzFile file =
      gzopen((dir / (prefix + "-images-idx3-ubyte.gz")).c_str(), "wb");
  gzwrite(file, images.data(), static_cast<unsigned>(images.size()));
  gzclose(file);
  std::ofstream(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary)
      << labels;
}

std::string dataFlags(const fs::path &dir) {
  return fmt::format("--train-data pixels='{0}/train-images-idx3-ubyte.gz' "
                     "--train-data label='{0}/train-labels-idx1-ubyte' "
                     "--test-data pixels='{0}/test-images-idx3-ubyte.gz' "
                     "--test-data label='{0}/test-labels-idx1-ubyte'",
                     dir.string());
}

/// The last value of `field` in a metrics file.
double lastValue(const fs::path &metrics, const std::string &field) {
  std::ifstream in(metrics);
  double value = -1;
  std::regex pattern("\"" + field + "\":([-0-9.e]+)");
  std::smatch match;
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, match, pattern))
      value = std::stod(match[1]);
  return value;
}

TEST(Examples, FashionRowsLearnsAndAStandaloneTrainerAgrees) {
  fs::path dir = freshDir("examples-fashion");
  writeImages(dir, "train", 400, 1);
  writeImages(dir, "test", 100, 2);
  std::string model =
      fmt::format("{}/examples/fashion_rows.weft", WEFT_SOURCE_DIR);
  std::string flags = dataFlags(dir) +
                      " --score logits=label --steps 40 --eval-every 20 "
                      "--batch 20 --seed 4 --threads 1";
  CommandResult jit =
      runCommand(fmt::format("'{}' train '{}' {} --metrics '{}'", WEFT_BINARY,
                             model, flags, (dir / "jit.jsonl").string()));
  ASSERT_EQ(jit.status, 0) << jit.output;
  EXPECT_NE(jit.output.find("400 training and 100 test examples"),
            std::string::npos)
      << jit.output;
  double accuracy = lastValue(dir / "jit.jsonl", "accuracy");
  EXPECT_GT(accuracy, 0.6) << jit.output;

  fs::path trainer = dir / "trainer";
  CommandResult built = runCommand(fmt::format(
      "'{}' build '{}' --train -o '{}'", WEFT_BINARY, model, trainer.string()));
  ASSERT_EQ(built.status, 0) << built.output;
  CommandResult standalone =
      runCommand(fmt::format("'{}' {} --metrics '{}'", trainer.string(), flags,
                             (dir / "standalone.jsonl").string()));
  ASSERT_EQ(standalone.status, 0) << standalone.output;
  EXPECT_EQ(lastValue(dir / "standalone.jsonl", "val_loss"),
            lastValue(dir / "jit.jsonl", "val_loss"));
  EXPECT_EQ(lastValue(dir / "standalone.jsonl", "accuracy"), accuracy);
}

/// A generated task's example trains a few steps: `weft data` writes its
/// training and test sets (with `generateFlags`), and validation reports
/// `scoreName`, within [0, 1].
void expectGeneratedTaskTrains(const std::string &task,
                               const std::string &model,
                               const std::string &score,
                               const std::string &scoreName = "accuracy",
                               const std::string &generateFlags = "",
                               const std::string &trainFlags = "") {
  fs::path dir = freshDir("examples-" + task);
  for (auto [set, seed] : {std::pair{"train", 1}, std::pair{"test", 2}}) {
    CommandResult generated = runCommand(fmt::format(
        "'{}' data {} --count 200 --seed {} {} -o '{}'", WEFT_BINARY, task,
        seed, generateFlags, (dir / set).string()));
    ASSERT_EQ(generated.status, 0) << generated.output;
  }
  fs::path metrics = dir / "metrics.jsonl";
  CommandResult trained = runCommand(fmt::format(
      "'{}' train '{}/examples/{}' --train-data '{}' --test-data '{}' "
      "--score {} --steps 6 --eval-every 3 --batch 16 --metrics '{}' {}",
      WEFT_BINARY, WEFT_SOURCE_DIR, model, (dir / "train").string(),
      (dir / "test").string(), score, metrics.string(), trainFlags));
  ASSERT_EQ(trained.status, 0) << trained.output;
  double value = lastValue(metrics, scoreName);
  EXPECT_GE(value, 0.0) << trained.output;
  EXPECT_LE(value, 1.0) << trained.output;
  EXPECT_GT(lastValue(metrics, "val_loss"), 0.0) << trained.output;
}

TEST(Examples, Seq2SeqDatesTrainsOnGeneratedDates) {
  expectGeneratedTaskTrains("dates", "seq2seq_dates.weft", "logits=tgt");
}

TEST(Examples, MemN2NTrainsOnGeneratedStories) {
  expectGeneratedTaskTrains("babi1", "memn2n_qa.weft", "logits=answer");
}

TEST(Examples, HyperLmTrainsOnText) {
  fs::path dir = freshDir("examples-hyper");
  {
    std::ofstream out(dir / "text.txt");
    for (int line = 0; line < 300; ++line)
      out << "the hyper cell " << line % 9 << " writes its own weights.\n";
  }
  fs::path metrics = dir / "metrics.jsonl";
  CommandResult trained = runCommand(fmt::format(
      "'{}' train '{}/examples/hyper_lm.weft' --data '{}' --steps 4 "
      "--eval-every 2 --batch 4 --sample 20 --metrics '{}'",
      WEFT_BINARY, WEFT_SOURCE_DIR, (dir / "text.txt").string(),
      metrics.string()));
  ASSERT_EQ(trained.status, 0) << trained.output;
  EXPECT_GT(lastValue(metrics, "val_loss"), 0.0) << trained.output;
  EXPECT_NE(trained.output.find("--- sample"), std::string::npos);
}

/// A batch whose loss is not finite is skipped, and training goes on; a
/// run of them is divergence, an error.
TEST(Examples, NonFiniteBatchesAreSkippedUntilTrainingDiverges) {
  fs::path dir = freshDir("examples-nonfinite");
  auto train = [&](const std::string &name, std::vector<float> values) {
    fs::path folder = dir / name;
    fs::create_directories(folder);
    std::string error;
    EXPECT_TRUE(weft::runtime::writeNpy(
        (folder / "x.npy").string(),
        weft::runtime::NpyArray::fromFloats({int64_t(values.size())}, values),
        &error))
        << error;
    return runCommand(fmt::format(
        "'{}' train '{}/tests/driver/models/log_of_input.weft' "
        "--train-data '{}' --test-data '{}' --steps 30 --batch 4 "
        "--eval-every 10 --optimizer sgd --lr 0.1",
        WEFT_BINARY, WEFT_SOURCE_DIR, folder.string(), folder.string()));
  };
  std::vector<float> mostlyPositive(40, 1.0f);
  mostlyPositive[7] = -1.0f;
  CommandResult skipped = train("one-bad", mostlyPositive);
  EXPECT_EQ(skipped.status, 0) << skipped.output;
  EXPECT_NE(skipped.output.find("the update is skipped"), std::string::npos)
      << skipped.output;
  CommandResult diverged = train("all-bad", std::vector<float>(40, -1.0f));
  EXPECT_EQ(diverged.status, 1) << diverged.output;
  EXPECT_NE(diverged.output.find("training has diverged"), std::string::npos)
      << diverged.output;
}

/// One line of error, naming `expected`, and status 1.
void expectExampleError(const std::string &flags, const std::string &expected) {
  CommandResult result = runCommand(
      fmt::format("'{}' train '{}/examples/fashion_rows.weft' {} --steps 1",
                  WEFT_BINARY, WEFT_SOURCE_DIR, flags));
  EXPECT_EQ(result.status, 1) << result.output;
  EXPECT_NE(result.output.find(expected), std::string::npos) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1)
      << result.output;
}

TEST(Examples, BadDataNamesTheFileOrTheInput) {
  fs::path dir = freshDir("examples-bad");
  writeImages(dir, "train", 20, 1);
  writeImages(dir, "test", 10, 2);
  std::string images = (dir / "train-images-idx3-ubyte.gz").string();
  std::string labels = (dir / "train-labels-idx1-ubyte").string();
  std::string test = fmt::format(
      "--test-data pixels='{0}/test-images-idx3-ubyte.gz' --test-data "
      "label='{0}/test-labels-idx1-ubyte'",
      dir.string());
  // No data for `label`.
  expectExampleError(fmt::format("--train-data pixels='{}' {}", images, test),
                     "no data for the input `label`");
  // Images where labels belong: the shape does not fit.
  expectExampleError(fmt::format("--train-data pixels='{}' --train-data "
                                 "label='{}' {}",
                                 images, images, test),
                     images + ": an array of shape [20, 28, 28]");
  // Labels beyond the 10 classes.
  std::string ids = (dir / "labels.ids").string();
  {
    std::ofstream out(ids);
    for (int i = 0; i < 20; ++i)
      out << (i == 5 ? 12 : i % 10) << "\n";
  }
  expectExampleError(fmt::format("--train-data pixels='{}' --train-data "
                                 "label='{}' {}",
                                 images, ids, test),
                     ids + ": the token id 12 is outside");
  // Differing numbers of examples.
  expectExampleError(fmt::format("--train-data pixels='{}' --train-data "
                                 "label='{}/test-labels-idx1-ubyte' {}",
                                 images, dir.string(), test),
                     "20 examples, and");
  // A score naming no output.
  expectExampleError(fmt::format("--train-data pixels='{}' --train-data "
                                 "label='{}' {} --score nothing=label",
                                 images, labels, test),
                     "`--score nothing=label`");
}

TEST(Examples, NtmCopyTrainsOnGeneratedSequences) {
  // Sequences of up to 5 vectors over 11 steps, compiled without LLVM's
  // optimisations, keep the run to seconds.
  expectGeneratedTaskTrains("copy", "ntm_copy.weft", "o=y", "bit_error",
                            "--max-length 5",
                            "--set S=5 --clip 10 --opt-level 0 --threads 1");
}

} // namespace
