// Training and validation windows for truncated backpropagation through
// time: takes token ids and gives time-major int64 blocks of T + 1 rows, the
// schedule of bench/torch_charlm.py's training loop and `evaluate`.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace weft::runtime {

/// A block of `batch` token windows laid out time-major: token `t` of
/// column `b` is `tokens[t * batch + b]` for `t` in [0, length]. Rows
/// [0, length) are the inputs and rows [1, length] the targets.
struct TokenWindow {
  std::vector<int64_t> tokens;
  int64_t length = 0; ///< T, the number of input steps.
  int64_t batch = 0;  ///< Columns in the block.
  /// The state carried from the previous window must restart at zero:
  /// true for the first window and whenever the cursors wrap around.
  bool resetState = false;

  int64_t at(int64_t time, int64_t column) const {
    return tokens[time * batch + column];
  }
};

/// Walks `batch` evenly spaced cursors through the training tokens, `length`
/// tokens a step, wrapping all of them back to their starts when the first
/// one would run past its stride.
class Batcher {
public:
  /// Fails when `batch` or `length` is not positive or when the tokens are
  /// too few for windows of `length + 1` at `batch` cursors. The batcher
  /// keeps a view of `train`, which must outlive it.
  static std::optional<Batcher> create(std::span<const int64_t> train,
                                       int64_t batch, int64_t length,
                                       std::string *error);

  /// The next window; advances the cursors by `length`.
  TokenWindow next();

  int64_t stride() const { return cursorStride; }
  const std::vector<int64_t> &cursors() const { return cursorPositions; }

private:
  Batcher(std::span<const int64_t> train, int64_t batch, int64_t length);

  std::span<const int64_t> train;
  int64_t batch, length, cursorStride;
  std::vector<int64_t> cursorPositions;
  bool started = false;
};

/// The validation windows of `evaluate`: the first `limit` tokens cut into
/// consecutive windows of `length` inputs (the target row reaches one token
/// further), returned in blocks of at most `maxBatch` columns. A block's loss
/// counts with weight `batch`. Empty when there are fewer than `length + 1`
/// tokens.
std::optional<std::vector<TokenWindow>>
validationWindows(std::span<const int64_t> validation, int64_t length,
                  int64_t maxBatch, std::string *error, int64_t limit = 200000);

} // namespace weft::runtime
