// Readers of the data files of training on examples: see ArrayFiles.h.
#include "runtime/ArrayFiles.h"

#include <fmt/format.h>
#include <zlib.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>

namespace weft::runtime {

namespace {

bool endsWith(const std::string &text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The whole file, decompressed when it is gzip (zlib reads plain files
/// unchanged).
std::optional<std::string> readMaybeCompressed(const std::string &path,
                                               std::string *error) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) {
    *error = fmt::format("{}: cannot open it", path);
    return std::nullopt;
  }
  std::string bytes;
  char chunk[1 << 16];
  int count;
  while ((count = gzread(file, chunk, sizeof chunk)) > 0)
    bytes.append(chunk, static_cast<size_t>(count));
  int status = Z_OK;
  const char *message = gzerror(file, &status);
  bool failed = count < 0 || (status != Z_OK && status != Z_STREAM_END);
  std::string reason = failed ? message : "";
  gzclose(file);
  if (failed) {
    *error = fmt::format("{}: cannot decompress it ({})", path, reason);
    return std::nullopt;
  }
  return bytes;
}

uint32_t bigEndian32(const unsigned char *bytes) {
  return (uint32_t(bytes[0]) << 24) | (uint32_t(bytes[1]) << 16) |
         (uint32_t(bytes[2]) << 8) | uint32_t(bytes[3]);
}

/// IDX: two zero bytes, the element type, the number of dimensions, each
/// dimension as a big-endian 32-bit count, then the elements, big-endian.
std::optional<ArrayFile> readIdx(const std::string &path, std::string *error) {
  std::optional<std::string> contents = readMaybeCompressed(path, error);
  if (!contents)
    return std::nullopt;
  auto bytes = reinterpret_cast<const unsigned char *>(contents->data());
  size_t size = contents->size();
  auto fail = [&](const std::string &what) -> std::optional<ArrayFile> {
    *error = fmt::format("{}: {}", path, what);
    return std::nullopt;
  };
  if (size < 4 || bytes[0] != 0 || bytes[1] != 0)
    return fail("not an IDX file (it does not start with two zero bytes; "
                "data files are .npy, .ids or IDX)");
  int type = bytes[2], dimensions = bytes[3];
  int width = type == 0x08 || type == 0x09   ? 1
              : type == 0x0B                 ? 2
              : type == 0x0C || type == 0x0D ? 4
              : type == 0x0E                 ? 8
                                             : 0;
  if (width == 0)
    return fail(fmt::format("unknown IDX element type 0x{:02x}", type));
  if (dimensions == 0 || size < 4 + 4 * size_t(dimensions))
    return fail("the IDX header is cut short");
  ArrayFile file;
  int64_t count = 1;
  for (int d = 0; d < dimensions; ++d) {
    file.array.shape.push_back(bigEndian32(bytes + 4 + 4 * d));
    count *= file.array.shape.back();
  }
  size_t offset = 4 + 4 * size_t(dimensions);
  if (size - offset != size_t(count) * width)
    return fail(fmt::format("the header promises {} elements of {} bytes, "
                            "and {} bytes follow",
                            count, width, size - offset));
  const unsigned char *data = bytes + offset;
  auto element = [&](int64_t i) {
    uint64_t raw = 0;
    for (int b = 0; b < width; ++b)
      raw = (raw << 8) | data[i * width + b];
    return raw;
  };
  bool isFloat = type == 0x0D || type == 0x0E;
  if (isFloat) {
    std::vector<double> values(count);
    for (int64_t i = 0; i < count; ++i)
      values[i] = type == 0x0D ? std::bit_cast<float>(uint32_t(element(i)))
                               : std::bit_cast<double>(element(i));
    file.array = NpyArray::fromDoubles(file.array.shape, values);
    return file;
  }
  std::vector<int64_t> values(count);
  for (int64_t i = 0; i < count; ++i) {
    uint64_t raw = element(i);
    // Sign-extend the signed types.
    int shift = 64 - 8 * width;
    values[i] = type == 0x08 ? int64_t(raw) : int64_t(raw << shift) >> shift;
  }
  file.array = NpyArray::fromInt64s(file.array.shape, values);
  file.bytes = type == 0x08;
  return file;
}

/// `.ids`: one example per line, each as many ids as the first.
std::optional<ArrayFile> readIds(const std::string &path, std::string *error) {
  std::ifstream in(path);
  if (!in) {
    *error = fmt::format("{}: cannot open it", path);
    return std::nullopt;
  }
  std::vector<int64_t> values;
  int64_t width = -1, examples = 0, lineNumber = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineNumber;
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    std::istringstream fields(line);
    int64_t count = 0;
    for (std::string field; fields >> field; ++count) {
      size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(field, &used);
      } catch (const std::exception &) {
        used = 0;
      }
      if (used != field.size() || id < 0) {
        *error = fmt::format("{}:{}: `{}` is not a token id (a "
                             "non-negative integer)",
                             path, lineNumber, field);
        return std::nullopt;
      }
      values.push_back(id);
    }
    if (width >= 0 && count != width) {
      *error = fmt::format("{}:{}: {} ids, and the lines before have {}", path,
                           lineNumber, count, width);
      return std::nullopt;
    }
    width = count;
    ++examples;
  }
  if (examples == 0) {
    *error = fmt::format("{}: no examples (one line of ids each)", path);
    return std::nullopt;
  }
  ArrayFile file;
  file.array = NpyArray::fromInt64s({examples, width}, values);
  return file;
}

} // namespace

std::optional<ArrayFile> readArrayFile(const std::string &path,
                                       std::string *error) {
  if (endsWith(path, ".npy")) {
    std::optional<NpyArray> array = readNpy(path, error);
    if (!array)
      return std::nullopt;
    return ArrayFile{std::move(*array), false};
  }
  if (endsWith(path, ".ids"))
    return readIds(path, error);
  return readIdx(path, error);
}

} // namespace weft::runtime
