// Tests of the example data files: IDX (plain and gzip, bytes, signed
// integers, floats), `.ids` text, and an error naming the file for each
// kind of malformed file.

#include "runtime/ArrayFiles.h"
#include "tests/runtime/TempDir.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <bit>

using namespace weft::runtime;
using weft::runtime::testing::TempDir;

namespace {

/// An IDX file: element type, dimensions, then the big-endian data.
std::string makeIdx(int type, std::vector<uint32_t> shape,
                    const std::string &data) {
  std::string out = {0, 0, static_cast<char>(type),
                     static_cast<char>(shape.size())};
  for (uint32_t size : shape)
    for (int shift = 24; shift >= 0; shift -= 8)
      out += static_cast<char>((size >> shift) & 0xff);
  return out + data;
}

std::string gzipped(const std::string &bytes, const std::string &path) {
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
  return path;
}

std::string errorOf(const std::string &path) {
  std::string error;
  EXPECT_FALSE(readArrayFile(path, &error));
  EXPECT_EQ(error.rfind(path, 0), 0u) << error;
  return error;
}

TEST(ArrayFiles, ReadsIdxBytesPlainAndCompressed) {
  TempDir dir;
  std::string idx =
      makeIdx(0x08, {2, 3}, std::string("\x00\x01\x02\xfd\xfe\xff", 6));
  std::string error;
  for (std::string path : {dir.write("images-idx2-ubyte", idx),
                           gzipped(idx, dir.path("images-idx2-ubyte.gz"))}) {
    std::optional<ArrayFile> file = readArrayFile(path, &error);
    ASSERT_TRUE(file) << error;
    EXPECT_TRUE(file->bytes);
    EXPECT_EQ(file->array.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(file->array.toInt64s(),
              (std::vector<int64_t>{0, 1, 2, 253, 254, 255}));
  }
}

TEST(ArrayFiles, ReadsIdxSignedIntegersAndFloats) {
  TempDir dir;
  std::string error;
  std::optional<ArrayFile> shorts = readArrayFile(
      dir.write("a.idx",
                makeIdx(0x0B, {2}, std::string("\xff\xfe\x01\x00", 4))),
      &error);
  ASSERT_TRUE(shorts) << error;
  EXPECT_FALSE(shorts->bytes);
  EXPECT_EQ(shorts->array.toInt64s(), (std::vector<int64_t>{-2, 256}));

  uint32_t half = std::bit_cast<uint32_t>(0.5f);
  std::string data;
  for (int shift = 24; shift >= 0; shift -= 8)
    data += static_cast<char>((half >> shift) & 0xff);
  std::optional<ArrayFile> floats =
      readArrayFile(dir.write("b.idx", makeIdx(0x0D, {1}, data)), &error);
  ASSERT_TRUE(floats) << error;
  EXPECT_EQ(floats->array.toDoubles(), (std::vector<double>{0.5}));
}

TEST(ArrayFiles, ReadsIdsLines) {
  TempDir dir;
  std::string error;
  std::optional<ArrayFile> file =
      readArrayFile(dir.write("t.ids", "1 2 3\n\n4 5 6\n"), &error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->array.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(file->array.toInt64s(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(ArrayFiles, NamesTheFileAndTheFault) {
  TempDir dir;
  EXPECT_NE(errorOf(dir.write("ragged.ids", "1 2\n3\n")).find(":2: 1 ids"),
            std::string::npos);
  EXPECT_NE(errorOf(dir.write("word.ids", "1 two\n")).find("`two`"),
            std::string::npos);
  EXPECT_NE(errorOf(dir.write("empty.ids", "\n")).find("no examples"),
            std::string::npos);
  EXPECT_NE(errorOf(dir.write("text.idx", "hello")).find("not an IDX"),
            std::string::npos);
  EXPECT_NE(errorOf(dir.write("short.idx", makeIdx(0x08, {4}, "ab")))
                .find("4 elements"),
            std::string::npos);
  EXPECT_NE(
      errorOf(dir.write("type.idx", makeIdx(0x07, {1}, "a"))).find("0x07"),
      std::string::npos);
  EXPECT_NE(errorOf(dir.path("absent.idx")).find("cannot open"),
            std::string::npos);
}

} // namespace
