// Tests of .npy reading and writing: round trips, hand-made headers of
// every version, each malformed-file error, and the shared reference files.

#include "runtime/Npy.h"
#include "tests/runtime/TempDir.h"

#include <filesystem>
#include <gtest/gtest.h>

using namespace weft::runtime;
using weft::runtime::testing::TempDir;

namespace {

/// An .npy file with the given version, header text and data bytes.
std::string makeNpy(int major, std::string header, const std::string &data) {
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  int lengthBytes = major == 1 ? 2 : 4;
  for (int i = 0; i < lengthBytes; ++i)
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

template <typename T> std::string bytesOf(std::vector<T> values) {
  return std::string(reinterpret_cast<const char *>(values.data()),
                     values.size() * sizeof(T));
}

std::string errorOf(std::string_view contents) {
  std::string error;
  EXPECT_FALSE(parseNpy(contents, "bad.npy", &error));
  EXPECT_EQ(error.rfind("bad.npy: ", 0), 0u) << error;
  return error;
}

} // namespace

TEST(Npy, RoundTripsDoublesFloatsAndIntegers) {
  TempDir dir;
  std::vector<double> doubles = {1.5, -2.25, 3e-300, 4, 5, 6};
  std::vector<float> floats = {0.5f, -1.0f, 7.25f, 1e30f};
  std::vector<int64_t> integers = {-7};
  std::vector<NpyArray> arrays = {
      NpyArray::fromDoubles({2, 3}, doubles), NpyArray::fromFloats({4}, floats),
      NpyArray::fromInt64s({}, integers), NpyArray::fromDoubles({0, 5}, {})};
  for (size_t i = 0; i < arrays.size(); ++i) {
    std::string path = dir.path("a" + std::to_string(i) + ".npy");
    std::string error;
    ASSERT_TRUE(writeNpy(path, arrays[i], &error)) << error;
    std::optional<NpyArray> back = readNpy(path, &error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->shape, arrays[i].shape);
    EXPECT_EQ(back->dtype, arrays[i].dtype);
    EXPECT_EQ(back->bytes, arrays[i].bytes);
  }
  EXPECT_EQ(arrays[2].elementCount(), 1);
  EXPECT_EQ(arrays[3].elementCount(), 0);
}

TEST(Npy, WritesNumpysLayout) {
  NpyArray array = NpyArray::fromDoubles({6, 4}, std::vector<double>(24));
  std::string file = serializeNpy(array);
  EXPECT_EQ(file.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  std::string header = file.substr(10, file.size() - 10 - 24 * 8);
  EXPECT_EQ(header.rfind("{'descr': '<f8', 'fortran_order': False, "
                         "'shape': (6, 4), }",
                         0),
            0u);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ((10 + header.size()) % 64, 0u);
  EXPECT_NE(serializeNpy(NpyArray::fromFloats({3}, std::vector<float>(3)))
                .find("'shape': (3,)"),
            std::string::npos);
}

TEST(Npy, ConvertsBetweenTypes) {
  NpyArray array = NpyArray::fromDoubles({3}, std::vector<double>{1.5, -2, 3});
  EXPECT_EQ(array.toFloats(), (std::vector<float>{1.5f, -2.0f, 3.0f}));
  EXPECT_EQ(array.toInt64s(), (std::vector<int64_t>{1, -2, 3}));
  NpyArray integers = NpyArray::fromInt64s({2}, std::vector<int64_t>{4, -5});
  EXPECT_EQ(integers.toDoubles(), (std::vector<double>{4.0, -5.0}));
}

TEST(Npy, ReadsVersionTwoAndThreeHeaders) {
  std::string data = bytesOf(std::vector<double>{1, 2});
  for (int major : {2, 3}) {
    std::string error;
    std::optional<NpyArray> array =
        parseNpy(makeNpy(major,
                         "{\"descr\": \"<f8\", \"fortran_order\": False, "
                         "\"shape\": (2,)}",
                         data),
                 "v.npy", &error);
    ASSERT_TRUE(array) << error;
    EXPECT_EQ(array->shape, (std::vector<int64_t>{2}));
    EXPECT_EQ(array->toDoubles(), (std::vector<double>{1, 2}));
  }
}

TEST(Npy, WidensInt32ToInt64) {
  std::string error;
  std::optional<NpyArray> array = parseNpy(
      makeNpy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3), }",
              bytesOf(std::vector<int32_t>{-1, 0, 70000})),
      "i.npy", &error);
  ASSERT_TRUE(array) << error;
  EXPECT_EQ(array->dtype, NpyArray::DType::I64);
  EXPECT_EQ(array->toInt64s(), (std::vector<int64_t>{-1, 0, 70000}));
}

TEST(Npy, ReportsMalformedFiles) {
  std::string good = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}";
  std::string data = bytesOf(std::vector<double>{1, 2});
  EXPECT_NE(errorOf("PK\x03\x04 not numpy").find("bad magic"),
            std::string::npos);
  EXPECT_NE(errorOf(makeNpy(1, good, data.substr(0, 12))).find("truncated"),
            std::string::npos);
  EXPECT_NE(errorOf(makeNpy(1, good, data).substr(0, 20)).find("truncated"),
            std::string::npos);
  EXPECT_NE(errorOf(makeNpy(1,
                            "{'descr': '<f8', 'fortran_order': True, "
                            "'shape': (2,)}",
                            data))
                .find("Fortran"),
            std::string::npos);
  for (std::string dtype : {"'>f8'", "'<u1'", "'<c16'", "[('a', '<f8')]"})
    EXPECT_NE(errorOf(makeNpy(1,
                              "{'descr': " + dtype +
                                  ", 'fortran_order': False, 'shape': (2,)}",
                              data))
                  .find("unsupported dtype"),
              std::string::npos)
        << dtype;
  for (std::string header : {"garbage", "{'descr': '<f8'}",
                             "{'descr': '<f8', 'fortran_order': False, "
                             "'shape': (2, x)}"})
    EXPECT_NE(errorOf(makeNpy(1, header, data)).find("cannot parse"),
              std::string::npos)
        << header;
}

TEST(Npy, ReportsFileErrorsWithThePath) {
  TempDir dir;
  std::string error;
  std::string missing = dir.path("missing.npy");
  EXPECT_FALSE(readNpy(missing, &error));
  EXPECT_EQ(error, missing + ": no such file");
  EXPECT_FALSE(readNpy(dir.root.string(), &error));
  EXPECT_NE(error.find("is a directory"), std::string::npos);
  std::string unwritable = dir.path("no/such/folder/out.npy");
  EXPECT_FALSE(writeNpy(unwritable, NpyArray::fromDoubles({}, {}), &error));
  EXPECT_NE(error.find(unwritable), std::string::npos);
}

TEST(Npy, ReadsTheSharedReferenceFiles) {
  std::string weights =
      WEFT_SHARED_DIR "/conformance/elman_rnn_tanh/params/W_ih.npy";
  std::string tokens = WEFT_SHARED_DIR "/conformance/char_lm_lstm/inputs/"
                                       "tokens.npy";
  if (!std::filesystem::exists(weights) || !std::filesystem::exists(tokens))
    GTEST_SKIP() << "shared conformance files are absent";
  std::string error;
  std::optional<NpyArray> matrix = readNpy(weights, &error);
  ASSERT_TRUE(matrix) << error;
  EXPECT_EQ(matrix->shape, (std::vector<int64_t>{6, 4}));
  EXPECT_EQ(matrix->dtype, NpyArray::DType::F64);
  EXPECT_EQ(matrix->toDoubles().size(), 24u);

  std::optional<NpyArray> ids = readNpy(tokens, &error);
  ASSERT_TRUE(ids) << error;
  EXPECT_EQ(ids->shape, (std::vector<int64_t>{9, 3}));
  EXPECT_EQ(ids->dtype, NpyArray::DType::I64);
  for (int64_t id : ids->toInt64s())
    EXPECT_GE(id, 0);
}
