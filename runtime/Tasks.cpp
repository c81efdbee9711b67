// The `dates`, `babi1` and `copy` generators. Every random choice is an integer
// below a bound, made from the raw 64-bit draws of std::mt19937_64 by
// rejection, so that a seed gives the same data with any standard library
// (std::uniform_int_distribution's algorithm is not specified).

#include "runtime/Tasks.h"

#include "runtime/Error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <random>

namespace weft::runtime {

namespace {

/// A uniform integer in [0, bound): draws past the largest multiple of
/// `bound` are thrown away so that every remainder is equally likely.
int64_t below(std::mt19937_64 &rng, int64_t bound) {
  assert(bound > 0 && "an empty range");
  uint64_t range = static_cast<uint64_t>(bound);
  uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t draw;
  do
    draw = rng();
  while (draw >= limit);
  return static_cast<int64_t>(draw % range);
}

/// A uniform integer in [low, high].
int64_t between(std::mt19937_64 &rng, int64_t low, int64_t high) {
  return low + below(rng, high - low + 1);
}

//===--- dates ------------------------------------------------------------===//

constexpr std::array<std::string_view, 12> monthNames = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
/// Monday first, as ISO 8601 counts the week.
constexpr std::array<std::string_view, 7> dayNames = {
    "Monday", "Tuesday",  "Wednesday", "Thursday",
    "Friday", "Saturday", "Sunday"};

struct Date {
  int64_t year, month, day; ///< month 1-12, day 1-31
  int64_t weekday;          ///< 0 = Monday ... 6 = Sunday
};

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar. The
/// year is counted from March, so that the leap day ends it, in eras of
/// 400 years (146097 days).
int64_t daysFromCivil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2;
  int64_t era = (year >= 0 ? year : year - 399) / 400;
  int64_t yearOfEra = year - era * 400;
  int64_t dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int64_t dayOfEra =
      yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/// The inverse of `daysFromCivil`, with the day of the week: 1970-01-01
/// was a Thursday (3).
Date civilFromDays(int64_t days) {
  int64_t shifted = days + 719468;
  int64_t era = (shifted >= 0 ? shifted : shifted - 146096) / 146097;
  int64_t dayOfEra = shifted - era * 146097;
  int64_t yearOfEra =
      (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
  int64_t dayOfYear =
      dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
  int64_t monthFromMarch = (5 * dayOfYear + 2) / 153;
  Date date;
  date.day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1;
  date.month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  date.year = yearOfEra + era * 400 + (date.month <= 2);
  date.weekday = ((days % 7 + 7) % 7 + 3) % 7;
  return date;
}

/// The date in one of the five human formats, chosen by `format`.
std::string humanDate(const Date &date, int64_t format) {
  std::string_view month = monthNames[date.month - 1];
  switch (format) {
  case 0:
    return fmt::format("{} {} {}", date.day, month, date.year);
  case 1:
    return fmt::format("{:02}/{:02}/{}", date.day, date.month, date.year);
  case 2:
    return fmt::format("{} {}, {}", month, date.day, date.year);
  case 3:
    return fmt::format("{} {} {}", date.day, month.substr(0, 3), date.year);
  default:
    return fmt::format("{}, {} {} {}", dayNames[date.weekday], date.day, month,
                       date.year);
  }
}

/// Appends the ids of `text` in `alphabet` (id = index + 1), then `pad`
/// up to `length` ids.
void appendIds(std::vector<int64_t> &ids, std::string_view text,
               std::string_view alphabet, int64_t length, int64_t pad) {
  assert(static_cast<int64_t>(text.size()) <= length && "text too long");
  for (char c : text) {
    size_t index = alphabet.find(c);
    assert(index != std::string_view::npos && "a character outside the "
                                              "alphabet");
    ids.push_back(static_cast<int64_t>(index) + 1);
  }
  ids.insert(ids.end(), length - static_cast<int64_t>(text.size()), pad);
}

NamedArrays generateDates(int64_t count, std::mt19937_64 &rng) {
  int64_t first = daysFromCivil(1950, 1, 1);
  int64_t last = daysFromCivil(2049, 12, 31);
  std::vector<int64_t> source, target;
  source.reserve(count * dateSourceLength);
  target.reserve(count * (dateTargetLength + 1));
  for (int64_t example = 0; example < count; ++example) {
    Date date = civilFromDays(between(rng, first, last));
    std::string text = humanDate(date, below(rng, 5));
    std::string iso =
        fmt::format("{:04}-{:02}-{:02}", date.year, date.month, date.day);
    appendIds(source, text, dateSourceCharacters, dateSourceLength, 0);
    target.push_back(0); // the start token
    appendIds(target, iso, dateTargetCharacters, dateTargetLength, 0);
  }
  NamedArrays arrays;
  arrays.emplace_back("src",
                      NpyArray::fromInt64s({count, dateSourceLength}, source));
  arrays.emplace_back(
      "tgt", NpyArray::fromInt64s({count, dateTargetLength + 1}, target));
  return arrays;
}

//===--- babi1 ------------------------------------------------------------===//

/// The id of a word of `babiVocabulary`.
int64_t wordId(std::string_view word) {
  auto found = std::find(babiVocabulary.begin(), babiVocabulary.end(), word);
  assert(found != babiVocabulary.end() && "a word outside the vocabulary");
  return found - babiVocabulary.begin();
}

constexpr std::array<std::string_view, 4> people = {"Mary", "John", "Sandra",
                                                    "Daniel"};
constexpr std::array<std::string_view, 6> places = {
    "kitchen", "bathroom", "hallway", "garden", "office", "bedroom"};
constexpr std::array<std::string_view, 4> verbs = {"went", "moved", "journeyed",
                                                   "travelled"};
/// The choice of verb that stands for "went back".
constexpr int64_t wentBack = verbs.size();

/// Shuffles `values` in place by Fisher-Yates with `below`.
void shuffle(std::vector<int64_t> &values, std::mt19937_64 &rng) {
  for (int64_t i = static_cast<int64_t>(values.size()) - 1; i > 0; --i)
    std::swap(values[i], values[below(rng, i + 1)]);
}

/// Who moves in each sentence of a story of `sentences`: `cast` distinct
/// people (indices into `people`), each at least once, in random order.
std::vector<int64_t> drawMovers(int64_t sentences, int64_t cast,
                                std::mt19937_64 &rng) {
  std::vector<int64_t> everyone = {0, 1, 2, 3};
  shuffle(everyone, rng);
  std::vector<int64_t> movers(everyone.begin(), everyone.begin() + cast);
  while (static_cast<int64_t>(movers.size()) < sentences)
    movers.push_back(movers[below(rng, cast)]);
  shuffle(movers, rng);
  return movers;
}

/// Writes one story into `story` (M * W ids), returns the person asked
/// about and writes where they are into `answer`.
int64_t drawStory(std::mt19937_64 &rng, int64_t *story, int64_t *answer) {
  int64_t sentences = between(rng, 2, babiSentences);
  int64_t cast = between(rng, 2, std::min<int64_t>(4, sentences));
  std::vector<int64_t> movers = drawMovers(sentences, cast, rng);
  // Where each person is, and which places they have been to.
  std::array<int64_t, 4> at = {-1, -1, -1, -1};
  std::array<std::array<bool, 6>, 4> visited = {};

  for (int64_t i = 0; i < sentences; ++i) {
    int64_t person = movers[i];
    // A move goes somewhere else than where the person is.
    int64_t place = below(rng, at[person] < 0 ? 6 : 5);
    if (at[person] >= 0 && place >= at[person])
      ++place;
    int64_t verb = below(rng, visited[person][place] ? 5 : 4);
    std::vector<std::string_view> words = {people[person]};
    if (verb == wentBack) {
      words.push_back("went");
      words.push_back("back");
    } else {
      words.push_back(verbs[verb]);
    }
    words.push_back("to");
    words.push_back("the");
    words.push_back(places[place]);
    for (size_t w = 0; w < words.size(); ++w)
      story[i * babiSentenceWords + w] = wordId(words[w]);
    at[person] = place;
    visited[person][place] = true;
  }
  int64_t asked = movers[below(rng, sentences)];
  *answer = wordId(places[at[asked]]);
  return asked;
}

NamedArrays generateBabi1(int64_t count, std::mt19937_64 &rng) {
  int64_t storySize = babiSentences * babiSentenceWords;
  std::vector<int64_t> stories(count * storySize, 0);
  std::vector<int64_t> queries(count * babiSentenceWords, 0);
  std::vector<int64_t> answers(count, 0);
  for (int64_t example = 0; example < count; ++example) {
    int64_t asked =
        drawStory(rng, &stories[example * storySize], &answers[example]);
    int64_t *query = &queries[example * babiSentenceWords];
    query[0] = wordId("Where");
    query[1] = wordId("is");
    query[2] = wordId(people[asked]);
  }
  NamedArrays arrays;
  arrays.emplace_back(
      "story",
      NpyArray::fromInt64s({count, babiSentences, babiSentenceWords}, stories));
  arrays.emplace_back(
      "query", NpyArray::fromInt64s({count, babiSentenceWords}, queries));
  arrays.emplace_back("answer", NpyArray::fromInt64s({count}, answers));
  return arrays;
}

//===--- copy -------------------------------------------------------------===//

NamedArrays generateCopy(int64_t count, const TaskOptions &options,
                         std::mt19937_64 &rng) {
  const int64_t steps = 2 * options.maxLength + 1;
  const int64_t inputWidth = copyBits + 1; // the bits and the delimiter
  std::vector<float> inputs(count * steps * inputWidth, 0.0f);
  std::vector<float> targets(count * steps * copyBits, -1.0f);
  std::vector<float> mask(count * steps, 0.0f);
  for (int64_t example = 0; example < count; ++example) {
    float *x = &inputs[example * steps * inputWidth];
    float *y = &targets[example * steps * copyBits];
    float *m = &mask[example * steps];
    int64_t length = between(rng, options.minLength, options.maxLength);
    // Each bit is read on step t and written back on step t + length + 1.
    for (int64_t t = 0; t < length; ++t) {
      for (int64_t bit = 0; bit < copyBits; ++bit) {
        float value = static_cast<float>(below(rng, 2));
        x[t * inputWidth + bit] = value;
        y[(t + length + 1) * copyBits + bit] = value;
      }
      m[t + length + 1] = 1.0f;
    }
    x[length * inputWidth + copyBits] = 1.0f; // the delimiter
  }
  NamedArrays arrays;
  arrays.emplace_back("x",
                      NpyArray::fromFloats({count, steps, inputWidth}, inputs));
  arrays.emplace_back("y",
                      NpyArray::fromFloats({count, steps, copyBits}, targets));
  arrays.emplace_back("mask", NpyArray::fromFloats({count, steps}, mask));
  return arrays;
}

} // namespace

std::vector<std::string> taskNames() { return {"dates", "babi1", "copy"}; }

std::optional<NamedArrays> generateTask(const std::string &task, int64_t count,
                                        uint64_t seed, std::string *error,
                                        const TaskOptions &options) {
  if (count < 1) {
    fail(error,
         fmt::format("the example count must be at least 1, not {}", count));
    return std::nullopt;
  }
  if (options.minLength < 1 || options.minLength > options.maxLength) {
    fail(error, fmt::format("the lengths must satisfy 1 <= minimum <= "
                            "maximum, not {} and {}",
                            options.minLength, options.maxLength));
    return std::nullopt;
  }
  std::mt19937_64 rng(seed);
  if (task == "dates")
    return generateDates(count, rng);
  if (task == "babi1")
    return generateBabi1(count, rng);
  if (task == "copy")
    return generateCopy(count, options, rng);
  fail(error, fmt::format("unknown task `{}`; the tasks are {}", task,
                          fmt::join(taskNames(), ", ")));
  return std::nullopt;
}

} // namespace weft::runtime
