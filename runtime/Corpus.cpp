// Corpus loading. The walk, the order, the binary test and the split follow
// `read_corpus` and `main` in bench/torch_charlm.py line for line, so that
// both trainers see the same characters.

#include "runtime/Corpus.h"
#include "runtime/Error.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iterator>

namespace fs = std::filesystem;

namespace weft::runtime {

namespace {

bool isContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

/// Length of the UTF-8 sequence starting at `text[i]`, or 0 when it is not
/// a well-formed sequence. The second byte's range excludes overlong forms,
/// surrogates (ED A0..BF) and code points above U+10FFFF.
size_t sequenceLength(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  unsigned char lead = byte(0);
  if (lead < 0x80)
    return 1;
  size_t length;
  unsigned char low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;
    high = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (i + length > text.size() || byte(1) < low || byte(1) > high)
    return 0;
  for (size_t k = 2; k < length; ++k)
    if (!isContinuation(byte(k)))
      return 0;
  return length;
}

/// Reads a whole file; false when it cannot be opened or read.
bool readFile(const std::string &path, std::string &out) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream)
    return false;
  out.assign(std::istreambuf_iterator<char>(stream),
             std::istreambuf_iterator<char>());
  return !stream.bad();
}

/// The regular, non-link files below `folder` in sorted full-path order.
/// Like `os.walk`, it does not descend into linked folders and passes over
/// folders it may not open.
std::optional<std::vector<std::string>> listFolder(const std::string &folder,
                                                   std::string *error) {
  std::vector<std::string> files;
  std::error_code code;
  fs::recursive_directory_iterator walk(
      folder, fs::directory_options::skip_permission_denied, code);
  for (; !code && walk != fs::recursive_directory_iterator();
       walk.increment(code)) {
    const fs::directory_entry &entry = *walk;
    std::error_code statusCode;
    if (!entry.is_symlink(statusCode) && entry.is_regular_file(statusCode))
      files.push_back(entry.path().string());
  }
  if (code) {
    fail(error,
         fmt::format("{}: cannot list folder: {}", folder, code.message()));
    return std::nullopt;
  }
  // std::string compares as unsigned bytes, which orders UTF-8 names the way
  // Python orders their decoded strings.
  std::sort(files.begin(), files.end());
  return files;
}

/// The file list for `path`, or an error when `path` cannot hold text.
std::optional<std::vector<std::string>> listInputs(const std::string &path,
                                                   std::string *error) {
  std::error_code code;
  fs::file_status status = fs::status(path, code);
  if (!fs::exists(status)) {
    fail(error, fmt::format("{}: no such file or folder", path));
    return std::nullopt;
  }
  if (fs::is_directory(status))
    return listFolder(path, error);
  if (fs::is_symlink(fs::symlink_status(path, code))) {
    fail(error, fmt::format("{}: is a symbolic link to a file; links are "
                            "skipped, name the file itself",
                            path));
    return std::nullopt;
  }
  if (!fs::is_regular_file(status)) {
    fail(error, fmt::format("{}: not a regular file or folder", path));
    return std::nullopt;
  }
  return std::vector<std::string>{path};
}

} // namespace

bool isText(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    if (bytes[i] == '\0')
      return false;
    size_t length = sequenceLength(bytes, i);
    if (length == 0)
      return false;
    i += length;
  }
  return true;
}

std::optional<std::string> readCorpusText(const std::string &path,
                                          std::vector<std::string> *files,
                                          std::string *error) {
  std::optional<std::vector<std::string>> inputs = listInputs(path, error);
  if (!inputs)
    return std::nullopt;

  // Every listed file is read, binary or not, as the anchor does; only the
  // text ones join the corpus.
  std::string text, contents;
  for (const std::string &file : *inputs) {
    if (!readFile(file, contents)) {
      fail(error, fmt::format("{}: cannot be read", file));
      return std::nullopt;
    }
    if (!isText(contents)) {
      // A file without NUL bytes is most likely text in another encoding
      // (Latin-1): worth a word, unlike the binary indexes beside texts.
      if (inputs->size() > 1 && contents.find('\0') == std::string::npos)
        std::fprintf(stderr, "note: %s is not UTF-8 text; it is skipped\n",
                     file.c_str());
      continue;
    }
    text += contents;
    if (files && !contents.empty())
      files->push_back(file);
  }

  if (!text.empty())
    return text;
  bool single = inputs->size() == 1 && (*inputs)[0] == path;
  if (single && contents.empty())
    fail(error, fmt::format("{}: file is empty", path));
  else if (single)
    fail(error, fmt::format("{}: binary file (a NUL byte or not UTF-8)", path));
  else
    fail(error, fmt::format("{}: no text files (binary files and links are "
                            "skipped)",
                            path));
  return std::nullopt;
}

Corpus tokenizeCorpus(std::string_view text, double trainFraction) {
  Corpus corpus;
  std::array<bool, 256> present{};
  for (char c : text)
    present[static_cast<unsigned char>(c)] = true;
  std::array<int64_t, 256> index{};
  for (int byte = 0; byte < 256; ++byte)
    if (present[byte]) {
      index[byte] = static_cast<int64_t>(corpus.vocabulary.size());
      corpus.vocabulary.push_back(static_cast<uint8_t>(byte));
    }

  // Python's `int(len(ids) * 0.95)`: a double product truncated.
  size_t split =
      static_cast<size_t>(static_cast<double>(text.size()) * trainFraction);
  split = std::min(split, text.size());
  corpus.train.reserve(split);
  corpus.validation.reserve(text.size() - split);
  for (size_t i = 0; i < text.size(); ++i) {
    int64_t id = index[static_cast<unsigned char>(text[i])];
    (i < split ? corpus.train : corpus.validation).push_back(id);
  }
  return corpus;
}

bool useVocabulary(Corpus &corpus, const std::vector<uint8_t> &vocabulary,
                   std::string *error) {
  std::array<int64_t, 256> index;
  index.fill(-1);
  for (size_t i = 0; i < vocabulary.size(); ++i)
    index[vocabulary[i]] = static_cast<int64_t>(i);
  std::vector<int64_t> renumbered(corpus.vocabulary.size());
  for (size_t i = 0; i < corpus.vocabulary.size(); ++i) {
    uint8_t byte = corpus.vocabulary[i];
    if (index[byte] < 0) {
      *error = fmt::format("the byte 0x{:02x} ({}) is not among the {} the "
                           "model was built for",
                           byte,
                           byte >= 0x20 && byte < 0x7f
                               ? fmt::format("`{}`", static_cast<char>(byte))
                               : std::string("not printable"),
                           vocabulary.size());
      return false;
    }
    renumbered[i] = index[byte];
  }
  for (auto *tokens : {&corpus.train, &corpus.validation})
    for (int64_t &token : *tokens)
      token = renumbered[token];
  corpus.vocabulary = vocabulary;
  return true;
}

std::optional<Corpus> loadCorpus(const std::string &path, std::string *error) {
  std::vector<std::string> files;
  std::optional<std::string> text = readCorpusText(path, &files, error);
  if (!text)
    return std::nullopt;
  Corpus corpus = tokenizeCorpus(*text, 0.95);
  corpus.files = std::move(files);
  return corpus;
}

} // namespace weft::runtime
