// Synthetic tasks: takes a task name, an example count and a seed, gives
// the task's arrays (the example first on every axis), the same on every
// machine and standard library for one seed. `weft data` writes them as
// `.npy` files; the examples `seq2seq_dates.weft`, `memn2n_qa.weft` and
// `ntm_copy.weft` train on them.
#pragma once

#include "runtime/Checkpoint.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::runtime {

// The `dates` task: a date from 1950-01-01 to 2049-12-31, drawn uniformly
// among the days, written in one of five equally likely formats, to be
// translated to ISO 8601:
//
//   3 March 2021                  03/03/2021 (day/month/year)
//   March 3, 2021                 3 Mar 2021
//   Wednesday, 3 March 2021       ->  2021-03-03
//
// Arrays:
//   src [count, S] int64   the source text, one character id a step,
//                          right-padded with id 0; S = 28, the longest
//                          text ("Wednesday, 30 September 2021")
//   tgt [count, T + 1]     the start id 0, then the 10 characters of the
//                          ISO date; T = 10

/// Source characters: the character at index i has id i + 1, and id 0 pads.
/// Vs = 43 ids.
inline constexpr std::string_view dateSourceCharacters =
    " ,/0123456789ADFJMNOSTWabcdeghilmnoprstuvy";
/// Target characters: the character at index i has id i + 1, and id 0 is
/// the start token. Vt = 12 ids.
inline constexpr std::string_view dateTargetCharacters = "0123456789-";
inline constexpr int64_t dateSourceVocabulary = 43; ///< Vs
inline constexpr int64_t dateTargetVocabulary = 12; ///< Vt
inline constexpr int64_t dateSourceLength = 28;     ///< S
inline constexpr int64_t dateTargetLength = 10;     ///< T

// The `babi1` task, after bAbI task 1 (a single supporting fact): two to
// four people move between six places in two to ten sentences, then a
// question asks where one of those who moved is; the answer is the place
// they went to last.
//
//   Mary went to the kitchen            (sentence 0)
//   Mary moved to the garden            (a move always changes place)
//   John travelled to the office
//   Mary went back to the kitchen       ("back" only to a place visited)
//   Where is Mary                   ->  kitchen
//
// Arrays, sentences in the order they happen:
//   story  [count, M, W] int64  word ids; sentence i of the story is row i,
//                               right-padded with word 0, and the rows
//                               after the last sentence are all 0; M = 10,
//                               W = 6
//   query  [count, W] int64     "Where is NAME", padded with word 0
//   answer [count] int64        the id of the place

/// Words by id; id 0 ("") is the padding. V = 20 ids.
inline constexpr std::array<std::string_view, 20> babiVocabulary = {
    "",       "Mary",   "John",      "Sandra",    "Daniel",
    "went",   "moved",  "journeyed", "travelled", "back",
    "to",     "the",    "kitchen",   "bathroom",  "hallway",
    "garden", "office", "bedroom",   "Where",     "is"};
inline constexpr int64_t babiSentences = 10;    ///< M
inline constexpr int64_t babiSentenceWords = 6; ///< W

// The `copy` task of the Neural Turing Machine (Graves et al., 2014,
// section 4.1): a sequence of L random 8-bit vectors, L uniform in
// [minLength, maxLength], then a delimiter, then the same L vectors to be
// written back while the input is blank. Every example is laid out over
// 2 S + 1 steps, S = maxLength, whatever its L:
//
//   step    0 .. L-1     L           L+1 .. 2L    2L+1 .. 2S
//   x       the bits     delimiter   zeros        zeros
//   y       -1           -1          the bits     -1
//   mask    0            0           1            0
//
// Arrays, float32:
//   x    [count, 2S + 1, 9]  the bits in channels 0-7, channel 8 is 1 on
//                            the delimiter step
//   y    [count, 2S + 1, 8]  the bits to write back; -1 marks a step with
//                            nothing to predict (`--score` skips it)
//   mask [count, 2S + 1]     1 on the steps that write back, else 0

inline constexpr int64_t copyBits = 8; ///< the width of a vector

/// Settings of the tasks that take any. Only `copy` does.
struct TaskOptions {
  int64_t minLength = 1;  ///< copy: the shortest sequence, at least 1
  int64_t maxLength = 20; ///< copy: the longest, S; at least minLength
};

/// The names `generateTask` takes: `dates`, `babi1` and `copy`.
std::vector<std::string> taskNames();

/// `count` examples of `task`, drawn from a std::mt19937_64 seeded with
/// `seed`, as named arrays in the order listed above. An unknown task, a
/// count below 1 or lengths out of order are errors.
std::optional<NamedArrays> generateTask(const std::string &task, int64_t count,
                                        uint64_t seed, std::string *error,
                                        const TaskOptions &options = {});

} // namespace weft::runtime
