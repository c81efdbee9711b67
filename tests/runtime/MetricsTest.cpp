// Tests of the JSON-lines metrics writer.

#include "runtime/Metrics.h"
#include "tests/runtime/TempDir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace weft::runtime;
using weft::runtime::testing::TempDir;

namespace {

std::vector<std::string> linesOf(const std::string &path) {
  std::ifstream stream(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(stream, line);)
    lines.push_back(line);
  return lines;
}

} // namespace

TEST(JsonLinesWriter, WritesOneFlushedObjectPerLine) {
  TempDir dir;
  std::string path = dir.path("metrics.jsonl");
  std::string error;
  std::optional<JsonLinesWriter> writer = JsonLinesWriter::open(path, &error);
  ASSERT_TRUE(writer) << error;
  ASSERT_TRUE(writer->write({{"step", 50}, {"train_loss", 2.5}}, &error));
  // Read back before the writer closes: each line is already flushed.
  std::vector<std::string> lines = linesOf(path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["step"], 50);

  ASSERT_TRUE(writer->write({{"step", 100}, {"val_loss", 2.25}}, &error));
  lines = linesOf(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["val_loss"], 2.25);
  EXPECT_EQ(writer->path(), path);
}

TEST(JsonLinesWriter, TruncatesOrAppends) {
  TempDir dir;
  std::string path = dir.write("metrics.jsonl", "{\"old\": 1}\n");
  std::string error;
  {
    std::optional<JsonLinesWriter> writer =
        JsonLinesWriter::open(path, &error, /*append=*/true);
    ASSERT_TRUE(writer) << error;
    ASSERT_TRUE(writer->write({{"new", 2}}, &error));
  }
  EXPECT_EQ(linesOf(path).size(), 2u);
  {
    std::optional<JsonLinesWriter> writer = JsonLinesWriter::open(path, &error);
    ASSERT_TRUE(writer) << error;
    // Bytes that are not UTF-8 are replaced, not thrown.
    ASSERT_TRUE(writer->write({{"text", "bad \xFF byte"}}, &error));
  }
  EXPECT_EQ(linesOf(path).size(), 1u);
}

TEST(JsonLinesWriter, ReportsAPathItCannotOpen) {
  TempDir dir;
  std::string path = dir.path("no/such/folder/metrics.jsonl");
  std::string error;
  EXPECT_FALSE(JsonLinesWriter::open(path, &error));
  EXPECT_EQ(error.rfind(path + ": cannot open metrics file", 0), 0u);
}
