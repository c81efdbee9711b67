// Weight files: .npz and safetensors round trips keep names, shapes, dtypes
// and bytes; damaged files give one-line errors naming the file.
#include "runtime/Weights.h"

#include "TempDir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

using namespace weft::runtime;
using weft::runtime::testing::TempDir;

namespace {

NamedArrays sampleArrays() {
  std::vector<float> weights = {0.5f, -1.25f, 3.0f, 1e-7f, -0.0f, 42.0f};
  std::vector<double> bias = {1.0 / 3.0, -2.5};
  std::vector<int64_t> ids = {7, -1, 1LL << 40};
  return {{"rnn.W", NpyArray::fromFloats({2, 3}, weights)},
          {"rnn.b", NpyArray::fromDoubles({2}, bias)},
          {"ids", NpyArray::fromInt64s({3}, ids)},
          {"scalar", NpyArray::fromDoubles({}, std::vector<double>{2.0})}};
}

void expectSameArrays(const NamedArrays &want, const NamedArrays &got) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto &[name, array] : want) {
    auto found = std::find_if(got.begin(), got.end(), [&](const auto &entry) {
      return entry.first == name;
    });
    ASSERT_NE(found, got.end()) << name;
    EXPECT_EQ(found->second.shape, array.shape) << name;
    EXPECT_EQ(found->second.dtype, array.dtype) << name;
    EXPECT_EQ(found->second.bytes, array.bytes) << name;
  }
}

class WeightFiles : public ::testing::TestWithParam<std::string> {};

TEST_P(WeightFiles, RoundTripIsExact) {
  TempDir dir;
  std::string path = dir.path("weights" + GetParam());
  std::string error;
  ASSERT_TRUE(writeWeights(path, sampleArrays(), &error)) << error;
  std::optional<NamedArrays> read = readWeights(path, &error);
  ASSERT_TRUE(read) << error;
  expectSameArrays(sampleArrays(), *read);
}

TEST_P(WeightFiles, DamagedFilesAreErrorsNamingTheFile) {
  TempDir dir;
  std::string path = dir.path("weights" + GetParam());
  std::string error;
  ASSERT_TRUE(writeWeights(path, sampleArrays(), &error)) << error;
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  EXPECT_FALSE(readWeights(path, &error));
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(Formats, WeightFiles,
                         ::testing::Values(".npz", ".safetensors"),
                         [](const auto &info) { return info.param.substr(1); });

TEST(Safetensors, HeaderFollowsTheFormat) {
  TempDir dir;
  std::string path = dir.path("w.safetensors");
  std::string error;
  ASSERT_TRUE(writeSafetensors(path, sampleArrays(), &error)) << error;
  std::ifstream in(path, std::ios::binary);
  unsigned char size[8];
  in.read(reinterpret_cast<char *>(size), 8);
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i)
    length = (length << 8) | size[i];
  EXPECT_EQ(length % 8, 0u);
  std::string header(length, '\0');
  in.read(header.data(), length);
  EXPECT_NE(header.find("\"rnn.W\":{\"data_offsets\":[0,24],\"dtype\":\"F32\","
                        "\"shape\":[2,3]}"),
            std::string::npos)
      << header;
}

TEST(Safetensors, UnsupportedDtypeIsNamed) {
  TempDir dir;
  std::string path = dir.path("w.safetensors");
  std::string header =
      "{\"x\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}";
  std::ofstream out(path, std::ios::binary);
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i)
    out.put(static_cast<char>(length >> (8 * i)));
  out << header << "ab";
  out.close();
  std::string error;
  EXPECT_FALSE(readSafetensors(path, &error));
  EXPECT_NE(error.find("BF16"), std::string::npos) << error;
}

TEST(Weights, OtherExtensionsAreRefused) {
  std::string error;
  EXPECT_FALSE(readWeights("/tmp/weights.bin", &error));
  EXPECT_NE(error.find(".npz or .safetensors"), std::string::npos);
  EXPECT_FALSE(isWeightsFile("/tmp/folder"));
  EXPECT_TRUE(isWeightsFile("model.safetensors"));
}

} // namespace
