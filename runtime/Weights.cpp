// `.npz` through libzip, safetensors by its (small) specification, headers
// through nlohmann::json.
#include "runtime/Weights.h"

#include "runtime/Npy.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zip.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace weft::runtime {

namespace {

namespace fs = std::filesystem;

bool endsWith(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Moves the finished temporary file over `path`.
bool replaceWith(const std::string &temporary, const std::string &path,
                 std::string *error) {
  std::error_code code;
  fs::rename(temporary, path, code);
  if (code) {
    *error = fmt::format("cannot write `{}`: {}", path, code.message());
    fs::remove(temporary, code);
    return false;
  }
  return true;
}

std::string zipError(zip_t *archive) {
  return zip_error_strerror(zip_get_error(archive));
}

/// The safetensors dtype of an array, and back.
const char *safetensorsType(NpyArray::DType dtype) {
  switch (dtype) {
  case NpyArray::DType::F32:
    return "F32";
  case NpyArray::DType::F64:
    return "F64";
  case NpyArray::DType::I64:
    return "I64";
  }
  return "F64";
}

std::optional<NpyArray::DType> parseSafetensorsType(const std::string &name) {
  if (name == "F32")
    return NpyArray::DType::F32;
  if (name == "F64")
    return NpyArray::DType::F64;
  if (name == "I64")
    return NpyArray::DType::I64;
  return std::nullopt;
}

} // namespace

bool writeNpz(const std::string &path, const NamedArrays &arrays,
              std::string *error) {
  std::string temporary = path + ".tmp";
  int code = 0;
  zip_t *archive =
      zip_open(temporary.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (!archive) {
    *error = fmt::format("cannot create `{}` (libzip error {})", path, code);
    return false;
  }
  // libzip reads the entries' bytes when the archive closes.
  std::vector<std::string> contents;
  contents.reserve(arrays.size());
  for (const auto &[name, array] : arrays) {
    contents.push_back(serializeNpy(array));
    zip_source_t *source = zip_source_buffer(archive, contents.back().data(),
                                             contents.back().size(), 0);
    if (!source || zip_file_add(archive, (name + ".npy").c_str(), source,
                                ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) < 0) {
      *error = fmt::format("cannot write `{}`: {}", path, zipError(archive));
      if (source)
        zip_source_free(source);
      zip_discard(archive);
      return false;
    }
  }
  if (zip_close(archive) != 0) {
    *error = fmt::format("cannot write `{}`: {}", path, zipError(archive));
    zip_discard(archive);
    return false;
  }
  return replaceWith(temporary, path, error);
}

std::optional<NamedArrays> readNpz(const std::string &path,
                                   std::string *error) {
  int code = 0;
  zip_t *archive = zip_open(path.c_str(), ZIP_RDONLY, &code);
  if (!archive) {
    zip_error_t problem;
    zip_error_init_with_code(&problem, code);
    *error = fmt::format("cannot read `{}` as an .npz archive: {}", path,
                         zip_error_strerror(&problem));
    zip_error_fini(&problem);
    return std::nullopt;
  }
  NamedArrays arrays;
  zip_int64_t entries = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(archive, i, 0, &stat) != 0 || !stat.name)
      continue;
    std::string entry = stat.name;
    if (!endsWith(entry, ".npy"))
      continue;
    std::string contents(stat.size, '\0');
    zip_file_t *file = zip_fopen_index(archive, i, 0);
    bool read = file && zip_fread(file, contents.data(), stat.size) ==
                            static_cast<zip_int64_t>(stat.size);
    if (file)
      zip_fclose(file);
    if (!read) {
      *error = fmt::format("`{}`: cannot read its entry `{}`", path, entry);
      zip_discard(archive);
      return std::nullopt;
    }
    std::optional<NpyArray> array =
        parseNpy(contents, path + ":" + entry, error);
    if (!array) {
      zip_discard(archive);
      return std::nullopt;
    }
    arrays.push_back({entry.substr(0, entry.size() - 4), std::move(*array)});
  }
  zip_discard(archive);
  return arrays;
}

bool writeSafetensors(const std::string &path, const NamedArrays &arrays,
                      std::string *error) {
  nlohmann::json header = nlohmann::json::object();
  size_t offset = 0;
  for (const auto &[name, array] : arrays) {
    header[name] = {{"dtype", safetensorsType(array.dtype)},
                    {"shape", array.shape},
                    {"data_offsets", {offset, offset + array.bytes.size()}}};
    offset += array.bytes.size();
  }
  header["__metadata__"] = {{"format", "pt"}, {"written_by", "weft"}};
  std::string text = header.dump();
  // The data starts on an 8-byte boundary: pad the header with spaces.
  text.append((8 - text.size() % 8) % 8, ' ');
  uint64_t length = text.size();
  unsigned char lengthBytes[8];
  for (int i = 0; i < 8; ++i)
    lengthBytes[i] = static_cast<unsigned char>(length >> (8 * i));

  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(lengthBytes), 8);
    out << text;
    for (const auto &[name, array] : arrays)
      out.write(array.bytes.data(), array.bytes.size());
    if (!out.flush()) {
      *error = fmt::format("cannot write `{}`", path);
      return false;
    }
  }
  return replaceWith(temporary, path, error);
}

std::optional<NamedArrays> readSafetensors(const std::string &path,
                                           std::string *error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = fmt::format("cannot open `{}`", path);
    return std::nullopt;
  }
  std::string contents((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  auto fail = [&](const std::string &what) {
    *error = fmt::format("`{}` is not a safetensors file: {}", path, what);
    return std::nullopt;
  };
  if (contents.size() < 8)
    return fail("it is shorter than its 8-byte header length");
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i)
    length = (length << 8) | static_cast<unsigned char>(contents[i]);
  if (length > contents.size() - 8)
    return fail("its header length runs past the end of the file");
  nlohmann::json header = nlohmann::json::parse(
      contents.begin() + 8, contents.begin() + 8 + length, nullptr, false);
  if (!header.is_object())
    return fail("its header is not a JSON object");
  size_t dataStart = 8 + length;
  size_t dataSize = contents.size() - dataStart;

  NamedArrays arrays;
  for (const auto &[name, entry] : header.items()) {
    if (name == "__metadata__")
      continue;
    if (!entry.is_object() || !entry.contains("dtype") ||
        !entry.contains("shape") || !entry.contains("data_offsets"))
      return fail(
          fmt::format("tensor `{}` lacks dtype, shape or offsets", name));
    std::optional<NpyArray::DType> dtype;
    if (entry["dtype"].is_string())
      dtype = parseSafetensorsType(entry["dtype"].get<std::string>());
    if (!dtype)
      return fail(fmt::format("tensor `{}` has dtype {}, and Weft reads F32, "
                              "F64 and I64",
                              name, entry["dtype"].dump()));
    NpyArray array;
    array.dtype = *dtype;
    const nlohmann::json &shape = entry["shape"];
    const nlohmann::json &offsets = entry["data_offsets"];
    if (!shape.is_array() || !offsets.is_array() || offsets.size() != 2)
      return fail(
          fmt::format("tensor `{}` has a malformed shape or offsets", name));
    for (const nlohmann::json &dimension : shape) {
      if (!dimension.is_number_unsigned())
        return fail(fmt::format("tensor `{}` has a malformed shape", name));
      array.shape.push_back(dimension.get<int64_t>());
    }
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      return fail(fmt::format("tensor `{}` has malformed offsets", name));
    uint64_t begin = offsets[0].get<uint64_t>();
    uint64_t end = offsets[1].get<uint64_t>();
    uint64_t expected =
        static_cast<uint64_t>(array.elementCount()) * elementSize(array.dtype);
    if (begin > end || end > dataSize || end - begin != expected)
      return fail(fmt::format("tensor `{}`'s bytes [{}, {}) do not hold its "
                              "shape within the file",
                              name, begin, end));
    array.bytes.assign(contents.begin() + dataStart + begin,
                       contents.begin() + dataStart + end);
    arrays.push_back({name, std::move(array)});
  }
  return arrays;
}

bool isWeightsFile(const std::string &path) {
  return endsWith(path, ".npz") || endsWith(path, ".safetensors");
}

std::optional<NamedArrays> readWeights(const std::string &path,
                                       std::string *error) {
  if (endsWith(path, ".npz"))
    return readNpz(path, error);
  if (endsWith(path, ".safetensors"))
    return readSafetensors(path, error);
  *error = fmt::format("`{}`: weights files end in .npz or .safetensors", path);
  return std::nullopt;
}

bool writeWeights(const std::string &path, const NamedArrays &arrays,
                  std::string *error) {
  if (endsWith(path, ".npz"))
    return writeNpz(path, arrays, error);
  if (endsWith(path, ".safetensors"))
    return writeSafetensors(path, arrays, error);
  *error = fmt::format("`{}`: weights files end in .npz or .safetensors", path);
  return false;
}

} // namespace weft::runtime
