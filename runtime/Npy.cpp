// NumPy `.npy` reading and writing. The header is a Python dict literal;
// a small recursive reader takes exactly the three keys NumPy writes.

#include "runtime/Npy.h"
#include "runtime/Error.h"

#include <bit>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iterator>

namespace weft::runtime {

static_assert(std::endian::native == std::endian::little,
              "the runtime stores .npy data in the host's byte order");

namespace {

constexpr std::string_view Magic = "\x93NUMPY";

/// What the header dict says about the data that follows it.
struct NpyHeader {
  std::string descriptor;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
};

/// Reads the Python dict literal of an `.npy` header, e.g.
/// `{'descr': '<f8', 'fortran_order': False, 'shape': (6, 4), }`.
class HeaderReader {
public:
  explicit HeaderReader(std::string_view text) : text(text) {}

  /// Fills `header`; on failure returns false with a reason in `problem`.
  bool read(NpyHeader &header) {
    bool sawDescr = false, sawOrder = false, sawShape = false;
    if (!expect('{'))
      return false;
    while (!peek('}')) {
      std::string key;
      if (!readString(key) || !expect(':'))
        return false;
      bool ok = true;
      if (key == "descr")
        ok = sawDescr = readDescriptor(header.descriptor);
      else if (key == "fortran_order")
        ok = sawOrder = readBool(header.fortranOrder);
      else if (key == "shape")
        ok = sawShape = readShape(header.shape);
      else
        return setProblem(fmt::format("unknown key '{}'", key));
      if (!ok)
        return false;
      if (!peek('}') && !expect(','))
        return false;
    }
    expect('}');
    if (!sawDescr || !sawOrder || !sawShape)
      return setProblem("'descr', 'fortran_order' or 'shape' is missing");
    return true;
  }

  std::string problem;

private:
  std::string_view text;
  size_t position = 0;

  bool setProblem(std::string message) {
    if (problem.empty())
      problem = std::move(message);
    return false;
  }

  void skipSpace() {
    while (position < text.size() &&
           (text[position] == ' ' || text[position] == '\t' ||
            text[position] == '\n' || text[position] == '\r'))
      ++position;
  }

  bool peek(char c) {
    skipSpace();
    return position < text.size() && text[position] == c;
  }

  bool expect(char c) {
    if (!peek(c))
      return setProblem(fmt::format("expected '{}' at offset {}", c, position));
    ++position;
    return true;
  }

  bool readString(std::string &out) {
    skipSpace();
    if (position >= text.size() ||
        (text[position] != '\'' && text[position] != '"'))
      return setProblem(
          fmt::format("expected a string at offset {}", position));
    char quote = text[position++];
    size_t end = text.find(quote, position);
    if (end == std::string_view::npos)
      return setProblem("unterminated string");
    out = std::string(text.substr(position, end - position));
    position = end + 1;
    return true;
  }

  /// A structured dtype is a list, not a string: name it as unsupported.
  bool readDescriptor(std::string &out) {
    if (peek('['))
      return setProblem("unsupported dtype: structured arrays");
    return readString(out);
  }

  bool readBool(bool &out) {
    skipSpace();
    for (auto [word, value] : {std::pair{"True", true}, {"False", false}}) {
      std::string_view w = word;
      if (text.substr(position, w.size()) == w) {
        position += w.size();
        out = value;
        return true;
      }
    }
    return setProblem("'fortran_order' is not True or False");
  }

  bool readInteger(int64_t &out) {
    skipSpace();
    size_t start = position;
    int64_t value = 0;
    while (position < text.size() && text[position] >= '0' &&
           text[position] <= '9') {
      int digit = text[position++] - '0';
      if (__builtin_mul_overflow(value, 10, &value) ||
          __builtin_add_overflow(value, digit, &value))
        return setProblem("a dimension in 'shape' is too large");
    }
    if (position == start)
      return setProblem(
          fmt::format("expected a dimension at offset {}", start));
    // Files written by Python 2 may spell long integers `3L`.
    if (position < text.size() && text[position] == 'L')
      ++position;
    out = value;
    return true;
  }

  bool readShape(std::vector<int64_t> &shape) {
    shape.clear();
    if (!expect('('))
      return false;
    while (!peek(')')) {
      int64_t dimension;
      if (!readInteger(dimension))
        return false;
      shape.push_back(dimension);
      if (!peek(')') && !expect(','))
        return false;
    }
    return expect(')');
  }
};

/// Maps a descriptor to the stored type and the size of one file element.
bool decodeDescriptor(std::string_view descriptor, NpyArray::DType &dtype,
                      size_t &fileElementSize) {
  // `=` is native order, which the static_assert above makes little-endian.
  if (descriptor.size() != 3 || (descriptor[0] != '<' && descriptor[0] != '='))
    return false;
  std::string_view kind = descriptor.substr(1);
  if (kind == "f8")
    dtype = NpyArray::DType::F64, fileElementSize = 8;
  else if (kind == "f4")
    dtype = NpyArray::DType::F32, fileElementSize = 4;
  else if (kind == "i8")
    dtype = NpyArray::DType::I64, fileElementSize = 8;
  else if (kind == "i4")
    dtype = NpyArray::DType::I64, fileElementSize = 4;
  else
    return false;
  return true;
}

uint32_t readLittleEndian(std::string_view bytes) {
  uint32_t value = 0;
  for (size_t i = bytes.size(); i-- > 0;)
    value = value << 8 | static_cast<unsigned char>(bytes[i]);
  return value;
}

/// Splits off the header text; `headerEnd` is where the data starts.
bool splitHeader(std::string_view contents, const std::string &name,
                 std::string_view &header, size_t &headerEnd,
                 std::string *error) {
  if (contents.size() < Magic.size() + 2 ||
      contents.substr(0, Magic.size()) != Magic)
    return fail(error,
                fmt::format("{}: not a .npy file (bad magic string)", name));
  int major = static_cast<unsigned char>(contents[Magic.size()]);
  if (major < 1 || major > 3)
    return fail(error,
                fmt::format("{}: unsupported .npy format version {}.{}", name,
                            major,
                            static_cast<int>(contents[Magic.size() + 1])));
  // Version 1.0 stores the header length in two bytes, later ones in four.
  size_t lengthBytes = major == 1 ? 2 : 4;
  size_t lengthStart = Magic.size() + 2;
  if (contents.size() < lengthStart + lengthBytes)
    return fail(error, fmt::format("{}: truncated .npy header", name));
  size_t headerLength =
      readLittleEndian(contents.substr(lengthStart, lengthBytes));
  size_t headerStart = lengthStart + lengthBytes;
  if (contents.size() - headerStart < headerLength)
    return fail(error, fmt::format("{}: truncated .npy header", name));
  header = contents.substr(headerStart, headerLength);
  headerEnd = headerStart + headerLength;
  return true;
}

/// Product of `shape`, or nullopt when a dimension is negative or the
/// data would not fit in memory.
std::optional<int64_t> countElements(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t dimension : shape)
    if (dimension < 0 || __builtin_mul_overflow(count, dimension, &count) ||
        count > (int64_t(1) << 56))
      return std::nullopt;
  return count;
}

} // namespace

size_t elementSize(NpyArray::DType dtype) {
  return dtype == NpyArray::DType::F32 ? 4 : 8;
}

const char *dtypeDescriptor(NpyArray::DType dtype) {
  switch (dtype) {
  case NpyArray::DType::F32:
    return "<f4";
  case NpyArray::DType::F64:
    return "<f8";
  case NpyArray::DType::I64:
    return "<i8";
  }
  return "<f8";
}

int64_t NpyArray::elementCount() const {
  return countElements(shape).value_or(0);
}

namespace {

/// Element `i` of `array` converted to `T`.
template <typename T> T elementAs(const NpyArray &array, size_t i) {
  const char *at = array.bytes.data() + i * elementSize(array.dtype);
  switch (array.dtype) {
  case NpyArray::DType::F32: {
    float value;
    std::memcpy(&value, at, sizeof value);
    return static_cast<T>(value);
  }
  case NpyArray::DType::F64: {
    double value;
    std::memcpy(&value, at, sizeof value);
    return static_cast<T>(value);
  }
  case NpyArray::DType::I64: {
    int64_t value;
    std::memcpy(&value, at, sizeof value);
    return static_cast<T>(value);
  }
  }
  return T();
}

template <typename T> std::vector<T> convertAll(const NpyArray &array) {
  size_t count = array.bytes.size() / elementSize(array.dtype);
  std::vector<T> values(count);
  for (size_t i = 0; i < count; ++i)
    values[i] = elementAs<T>(array, i);
  return values;
}

template <typename T>
NpyArray makeArray(std::vector<int64_t> shape, NpyArray::DType dtype,
                   std::span<const T> values) {
  NpyArray array;
  array.shape = std::move(shape);
  array.dtype = dtype;
  array.bytes.resize(values.size_bytes());
  std::memcpy(array.bytes.data(), values.data(), values.size_bytes());
  return array;
}

} // namespace

std::vector<double> NpyArray::toDoubles() const {
  return convertAll<double>(*this);
}
std::vector<float> NpyArray::toFloats() const {
  return convertAll<float>(*this);
}
std::vector<int64_t> NpyArray::toInt64s() const {
  return convertAll<int64_t>(*this);
}

NpyArray NpyArray::fromDoubles(std::vector<int64_t> shape,
                               std::span<const double> values) {
  return makeArray(std::move(shape), DType::F64, values);
}
NpyArray NpyArray::fromFloats(std::vector<int64_t> shape,
                              std::span<const float> values) {
  return makeArray(std::move(shape), DType::F32, values);
}
NpyArray NpyArray::fromInt64s(std::vector<int64_t> shape,
                              std::span<const int64_t> values) {
  return makeArray(std::move(shape), DType::I64, values);
}

namespace {

/// Checks what the header describes and works out the stored type, the
/// size of one element in the file, and the element count.
bool interpretHeader(const NpyHeader &header, const std::string &name,
                     NpyArray::DType &dtype, size_t &fileElementSize,
                     int64_t &count, std::string *error) {
  if (header.fortranOrder)
    return fail(error, fmt::format("{}: Fortran-ordered arrays are not "
                                   "supported",
                                   name));
  if (!decodeDescriptor(header.descriptor, dtype, fileElementSize))
    return fail(error, fmt::format("{}: unsupported dtype '{}' (expected <f8, "
                                   "<f4, <i8 or <i4)",
                                   name, header.descriptor));
  std::optional<int64_t> elements = countElements(header.shape);
  if (!elements)
    return fail(error, fmt::format("{}: invalid shape in .npy header", name));
  count = *elements;
  return true;
}

} // namespace

std::optional<NpyArray> parseNpy(std::string_view contents,
                                 const std::string &name, std::string *error) {
  std::string_view headerText;
  size_t dataStart;
  if (!splitHeader(contents, name, headerText, dataStart, error))
    return std::nullopt;
  NpyHeader header;
  HeaderReader reader(headerText);
  if (!reader.read(header)) {
    fail(error,
         fmt::format("{}: cannot parse .npy header: {}", name, reader.problem));
    return std::nullopt;
  }
  NpyArray array;
  size_t fileElementSize;
  int64_t count;
  if (!interpretHeader(header, name, array.dtype, fileElementSize, count,
                       error))
    return std::nullopt;

  // Trailing bytes after the data are ignored, as numpy.load does.
  size_t dataBytes = static_cast<size_t>(count) * fileElementSize;
  if (contents.size() - dataStart < dataBytes) {
    fail(error, fmt::format("{}: truncated data: expected {} bytes, found {}",
                            name, dataBytes, contents.size() - dataStart));
    return std::nullopt;
  }
  array.shape = std::move(header.shape);
  std::string_view data = contents.substr(dataStart, dataBytes);
  if (fileElementSize == elementSize(array.dtype)) {
    array.bytes.assign(data.begin(), data.end());
    return array;
  }
  // `<i4` widens to int64 element by element.
  std::vector<int64_t> widened(count);
  for (size_t i = 0; i < widened.size(); ++i) {
    int32_t value;
    std::memcpy(&value, data.data() + i * 4, sizeof value);
    widened[i] = value;
  }
  return NpyArray::fromInt64s(std::move(array.shape), widened);
}

std::optional<NpyArray> readNpy(const std::string &path, std::string *error) {
  std::error_code code;
  if (!std::filesystem::exists(path, code)) {
    fail(error, fmt::format("{}: no such file", path));
    return std::nullopt;
  }
  if (std::filesystem::is_directory(path, code)) {
    fail(error, fmt::format("{}: is a directory, not a .npy file", path));
    return std::nullopt;
  }
  std::ifstream stream(path, std::ios::binary);
  std::string contents((std::istreambuf_iterator<char>(stream)),
                       std::istreambuf_iterator<char>());
  if (!stream && !stream.eof()) {
    fail(error, fmt::format("{}: cannot be read", path));
    return std::nullopt;
  }
  return parseNpy(contents, path, error);
}

std::string serializeNpy(const NpyArray &array) {
  std::string shape = "(";
  for (size_t i = 0; i < array.shape.size(); ++i)
    shape += fmt::format("{}{}", i ? ", " : "", array.shape[i]);
  shape += array.shape.size() == 1 ? ",)" : ")";
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                  dtypeDescriptor(array.dtype), shape);

  // Pad with spaces and end with a newline so that the data starts on a
  // 64-byte boundary, as NumPy does.
  size_t lengthBytes = header.size() + 11 > 65535 ? 4 : 2;
  size_t prefix = Magic.size() + 2 + lengthBytes;
  size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';

  std::string out(Magic);
  out += static_cast<char>(lengthBytes == 2 ? 1 : 2);
  out += '\0';
  for (size_t i = 0; i < lengthBytes; ++i)
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  out += header;
  out.append(array.bytes.begin(), array.bytes.end());
  return out;
}

bool writeNpy(const std::string &path, const NpyArray &array,
              std::string *error) {
  std::optional<int64_t> count = countElements(array.shape);
  if (!count || static_cast<size_t>(*count) * elementSize(array.dtype) !=
                    array.bytes.size())
    return fail(error, fmt::format("{}: the array's data does not match its "
                                   "shape",
                                   path));
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  if (!stream)
    return fail(error, fmt::format("{}: cannot be opened for writing", path));
  std::string contents = serializeNpy(array);
  stream.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  stream.close();
  if (!stream)
    return fail(error, fmt::format("{}: write failed", path));
  return true;
}

} // namespace weft::runtime
