// NumPy `.npy` files: reads format 1.0, 2.0 and 3.0 headers with C-ordered
// `<f8`, `<f4`, `<i8` or `<i4` data into an `NpyArray`, and writes an
// `NpyArray` back as format 1.0 (2.0 when the header is too long).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace weft::runtime {

/// A dense C-ordered array as stored in an `.npy` file. `bytes` holds the
/// elements in the host's (little-endian) layout for `dtype`.
struct NpyArray {
  /// The element types the runtime keeps; `<i4` is widened to `I64` on read.
  enum class DType { F32, F64, I64 };

  std::vector<int64_t> shape; ///< Empty for a 0-d array (one element).
  DType dtype = DType::F64;
  std::vector<char> bytes;

  /// Product of the dimensions; 1 for a 0-d array.
  int64_t elementCount() const;
  /// Elements converted to double, float or int64 (floats truncate toward
  /// zero when converted to int64).
  std::vector<double> toDoubles() const;
  std::vector<float> toFloats() const;
  std::vector<int64_t> toInt64s() const;

  static NpyArray fromDoubles(std::vector<int64_t> shape,
                              std::span<const double> values);
  static NpyArray fromFloats(std::vector<int64_t> shape,
                             std::span<const float> values);
  static NpyArray fromInt64s(std::vector<int64_t> shape,
                             std::span<const int64_t> values);
};

/// Bytes per element of `dtype`.
size_t elementSize(NpyArray::DType dtype);
/// The `.npy` descriptor of `dtype`: `<f4`, `<f8` or `<i8`.
const char *dtypeDescriptor(NpyArray::DType dtype);

/// Parses the bytes of a whole `.npy` file; `name` only labels errors.
std::optional<NpyArray> parseNpy(std::string_view contents,
                                 const std::string &name, std::string *error);
/// Reads an `.npy` file from disk.
std::optional<NpyArray> readNpy(const std::string &path, std::string *error);
/// The bytes of an `.npy` file holding `array`.
std::string serializeNpy(const NpyArray &array);
/// Writes `array` to `path`, replacing any file there.
bool writeNpy(const std::string &path, const NpyArray &array,
              std::string *error);

} // namespace weft::runtime
