// Training text for character-level models: takes a file or a folder of
// text files and gives the byte vocabulary, the token ids, and the 95% / 5%
// split by position, exactly as the PyTorch anchor's `read_corpus` does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::runtime {

/// A tokenised corpus: token `i` is the index of its byte in `vocabulary`.
struct Corpus {
  std::vector<uint8_t> vocabulary; ///< Sorted distinct bytes of the text.
  std::vector<int64_t> train;      ///< The first `int(n * 0.95)` tokens.
  std::vector<int64_t> validation; ///< The rest.
  std::vector<std::string> files;  ///< The text files read, in order.
};

/// True when `bytes` has no NUL byte and is valid UTF-8 by Python's strict
/// decoder (no overlong forms, no surrogates, nothing above U+10FFFF).
bool isText(std::string_view bytes);

/// The text under `path`: the file itself, or every regular text file below
/// the folder concatenated in sorted full-path order. Symbolic links
/// (including `path` itself when it links to a file) and binary files are
/// skipped. `files`, when given, receives the files used.
std::optional<std::string> readCorpusText(const std::string &path,
                                          std::vector<std::string> *files,
                                          std::string *error);

/// Builds the vocabulary and token ids of `text` and splits them at
/// `int(size * trainFraction)`.
Corpus tokenizeCorpus(std::string_view text, double trainFraction = 0.95);

/// Gives `corpus` the token ids of `vocabulary` (sorted distinct bytes, of
/// the text a trainer was built for), which must hold every byte of the
/// corpus; false, and the error names a byte that it lacks, otherwise.
bool useVocabulary(Corpus &corpus, const std::vector<uint8_t> &vocabulary,
                   std::string *error);

/// `readCorpusText` then `tokenizeCorpus`.
std::optional<Corpus> loadCorpus(const std::string &path, std::string *error);

} // namespace weft::runtime
