// `weft build` end to end: a standalone trainer trains as `weft train` does
// and needs neither LLVM nor ANTLR; the forward pass embedded in a C
// program (examples/embed) computes what `weft run` computes.
#include "CommandSupport.h"
#include "runtime/Npy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <set>

namespace fs = std::filesystem;

namespace {

using namespace weft::test;

/// A metrics file's records without their times, which differ run to run.
std::vector<std::string> recordsWithoutTimes(const fs::path &metrics) {
  std::vector<std::string> records;
  std::ifstream in(metrics);
  const std::regex elapsed("\"elapsed_s\":[^,}]*,?");
  for (std::string line; std::getline(in, line);)
    records.push_back(std::regex_replace(line, elapsed, ""));
  return records;
}

TEST(BuildTrainer, TrainsAsWeftTrainDoesWithoutTheCompiler) {
  fs::path dir = freshDir("build-trainer");
  fs::path text = writeSampleText(dir);
  fs::path trainer = dir / "trainer";
  std::string model = fmt::format("{}/examples/char_lm.weft", WEFT_SOURCE_DIR);
  CommandResult built = runCommand(
      fmt::format("'{}' build '{}' --train --data '{}' -o '{}'", WEFT_BINARY,
                  model, text.string(), trainer.string()));
  ASSERT_EQ(built.status, 0) << built.output;

  CommandResult linked = runCommand("readelf -d '" + trainer.string() + "'");
  ASSERT_EQ(linked.status, 0) << linked.output;
  EXPECT_NE(linked.output.find("NEEDED"), std::string::npos);
  EXPECT_EQ(linked.output.find("LLVM"), std::string::npos) << linked.output;
  EXPECT_EQ(linked.output.find("antlr"), std::string::npos) << linked.output;

  std::string flags = fmt::format(
      "--data '{}' --steps 6 --eval-every 3 --batch 4 --seed 11 --sample 0 "
      "--threads 1",
      text.string());
  CommandResult standalone =
      runCommand(fmt::format("'{}' {} --metrics '{}'", trainer.string(), flags,
                             (dir / "standalone.jsonl").string()));
  ASSERT_EQ(standalone.status, 0) << standalone.output;
  CommandResult jit =
      runCommand(fmt::format("'{}' train '{}' {} --metrics '{}'", WEFT_BINARY,
                             model, flags, (dir / "jit.jsonl").string()));
  ASSERT_EQ(jit.status, 0) << jit.output;
  std::vector<std::string> expected = recordsWithoutTimes(dir / "jit.jsonl");
  ASSERT_GE(expected.size(), 3u);
  EXPECT_EQ(recordsWithoutTimes(dir / "standalone.jsonl"), expected);
}

/// A built trainer's token ids are those of its text: a text with more
/// bytes, or with a byte that text lacked, is refused.
TEST(BuildTrainer, RefusesATextWithMoreBytesThanItWasBuiltFor) {
  fs::path dir = freshDir("build-narrow");
  fs::path text = writeSampleText(dir);
  fs::path wide = dir / "wide.txt";
  {
    std::ofstream out(wide);
    for (int line = 0; line < 400; ++line)
      out << "QUITE DIFFERENT CAPITALS #" << line << " & symbols!?\n";
  }
  fs::path trainer = dir / "trainer";
  CommandResult built = runCommand(fmt::format(
      "'{}' build '{}/examples/char_lm.weft' --train --data '{}' -o '{}'",
      WEFT_BINARY, WEFT_SOURCE_DIR, text.string(), trainer.string()));
  ASSERT_EQ(built.status, 0) << built.output;
  CommandResult refused = runCommand(fmt::format(
      "'{}' --data '{}' --steps 1", trainer.string(), wide.string()));
  EXPECT_EQ(refused.status, 1) << refused.output;
  EXPECT_NE(refused.output.find(wide.string()), std::string::npos)
      << refused.output;
  // As few bytes, but one the trainer's text did not have.
  fs::path other = dir / "other.txt";
  {
    std::ofstream out(other);
    for (int line = 0; line < 500; ++line)
      out << "note " << line % 17 << ": keep " << line % 5
          << " lamps lit by the Quay.\n";
  }
  CommandResult unknown = runCommand(fmt::format(
      "'{}' --data '{}' --steps 1", trainer.string(), other.string()));
  EXPECT_EQ(unknown.status, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("the byte 0x51 (`Q`) is not among"),
            std::string::npos)
      << unknown.output;
}

TEST(BuildCommand, RejectsAPrefixThatIsNotACName) {
  fs::path dir = freshDir("build-prefix");
  CommandResult result = runCommand(
      fmt::format("'{}' build '{}/examples/char_lm.weft' --emit=obj --set V=40 "
                  "--prefix 9lives -o '{}'",
                  WEFT_BINARY, WEFT_SOURCE_DIR, (dir / "model.o").string()));
  EXPECT_EQ(result.status, 1) << result.output;
  EXPECT_NE(result.output.find("not a C identifier"), std::string::npos)
      << result.output;
  EXPECT_FALSE(fs::exists(dir / "model.o"));
}

/// examples/embed/generate.c, built by its script, reports the loss of the
/// text's first window; `weft run` on the same weights and window agrees.
TEST(BuildEmbedded, CProgramComputesWhatWeftRunDoes) {
  fs::path dir = freshDir("build-embed");
  fs::path text = writeSampleText(dir);
  fs::path weights = dir / "weights.npz";
  std::string model = fmt::format("{}/examples/char_lm.weft", WEFT_SOURCE_DIR);
  CommandResult trained = runCommand(fmt::format(
      "'{}' train '{}' --data '{}' --steps 3 --batch 4 --sample 0 --save '{}'",
      WEFT_BINARY, model, text.string(), weights.string()));
  ASSERT_EQ(trained.status, 0) << trained.output;
  CommandResult built = runCommand(fmt::format(
      "WEFT_BUILD='{}' '{}/examples/embed/build.sh' '{}' '{}'", WEFT_BUILD_DIR,
      WEFT_SOURCE_DIR, text.string(), dir.string()));
  ASSERT_EQ(built.status, 0) << built.output;
  CommandResult generated = runCommand(
      fmt::format("'{}' '{}' '{}' 'note ' 40", (dir / "generate").string(),
                  weights.string(), text.string()));
  ASSERT_EQ(generated.status, 0) << generated.output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(generated.output, match,
                                std::regex("first window: ([0-9.]+)\n")))
      << generated.output;
  double embeddedLoss = std::stod(match[1]);
  EXPECT_NE(generated.output.find("\nnote "), std::string::npos)
      << generated.output;

  // The same window, numbered as `weft train` numbers bytes.
  std::string bytes = readFile(text);
  std::set<unsigned char> distinct(bytes.begin(), bytes.end());
  std::vector<int64_t> window;
  for (int step = 0; step < 65; ++step)
    window.push_back(
        std::distance(distinct.begin(),
                      distinct.find(static_cast<unsigned char>(bytes[step]))));
  fs::path inputs = dir / "inputs";
  fs::create_directories(inputs);
  std::string error;
  ASSERT_TRUE(weft::runtime::writeNpy(
      (inputs / "text.npy").string(),
      weft::runtime::NpyArray::fromInt64s({65, 1}, window), &error))
      << error;
  std::vector<float> zeros(256, 0.0f);
  ASSERT_TRUE(weft::runtime::writeNpy(
      (inputs / "h.init.npy").string(),
      weft::runtime::NpyArray::fromFloats({1, 256}, zeros), &error))
      << error;
  CommandResult ran = runCommand(fmt::format(
      "'{}' run '{}' --set V={} --params '{}' --inputs '{}' --outputs '{}' "
      "--grads '{}'",
      WEFT_BINARY, model, distinct.size(), weights.string(), inputs.string(),
      (dir / "outputs").string(), (dir / "grads").string()));
  ASSERT_EQ(ran.status, 0) << ran.output;
  std::optional<weft::runtime::NpyArray> loss =
      weft::runtime::readNpy((dir / "outputs" / "loss.npy").string(), &error);
  ASSERT_TRUE(loss) << error;
  EXPECT_NEAR(loss->toDoubles()[0], embeddedLoss, 2e-5);
}

} // namespace
