// The truncated-BPTT schedule. The arithmetic copies torch_charlm.py:
// stride = (len(train) - 1) // B, the wrap test cursors[0] + T + 1 > stride,
// and evaluate()'s n = (len(val) - 1) // T * T.

#include "runtime/Windows.h"
#include "runtime/Error.h"

#include <algorithm>
#include <fmt/format.h>

namespace weft::runtime {

std::optional<Batcher> Batcher::create(std::span<const int64_t> train,
                                       int64_t batch, int64_t length,
                                       std::string *error) {
  if (batch <= 0 || length <= 0) {
    fail(error, fmt::format("batch ({}) and window length ({}) must be "
                            "positive",
                            batch, length));
    return std::nullopt;
  }
  int64_t size = static_cast<int64_t>(train.size());
  int64_t stride = size > 0 ? (size - 1) / batch : 0;
  if (stride < length + 1) {
    fail(error, fmt::format("the training text ({} characters) is too short "
                            "for {} cursors of windows of {}",
                            size, batch, length + 1));
    return std::nullopt;
  }
  return Batcher(train, batch, length);
}

Batcher::Batcher(std::span<const int64_t> train, int64_t batch, int64_t length)
    : train(train), batch(batch), length(length),
      cursorStride((static_cast<int64_t>(train.size()) - 1) / batch),
      cursorPositions(batch) {
  for (int64_t b = 0; b < batch; ++b)
    cursorPositions[b] = b * cursorStride;
}

TokenWindow Batcher::next() {
  TokenWindow window;
  window.length = length;
  window.batch = batch;
  window.resetState = !started;
  started = true;

  // Wrap before the first cursor would read past its own stretch.
  if (cursorPositions[0] + length + 1 > cursorStride) {
    for (int64_t b = 0; b < batch; ++b)
      cursorPositions[b] = b * cursorStride;
    window.resetState = true;
  }

  window.tokens.resize((length + 1) * batch);
  for (int64_t t = 0; t <= length; ++t)
    for (int64_t b = 0; b < batch; ++b)
      window.tokens[t * batch + b] = train[cursorPositions[b] + t];
  for (int64_t &cursor : cursorPositions)
    cursor += length;
  return window;
}

std::optional<std::vector<TokenWindow>>
validationWindows(std::span<const int64_t> validation, int64_t length,
                  int64_t maxBatch, std::string *error, int64_t limit) {
  if (length <= 0 || maxBatch <= 0) {
    fail(error, fmt::format("window length ({}) and validation batch ({}) "
                            "must be positive",
                            length, maxBatch));
    return std::nullopt;
  }
  int64_t size = std::min(static_cast<int64_t>(validation.size()), limit);
  int64_t windowCount = size > 0 ? (size - 1) / length : 0;

  // Window `j` starts at token j * T; blocks take consecutive windows.
  std::vector<TokenWindow> blocks;
  for (int64_t first = 0; first < windowCount; first += maxBatch) {
    TokenWindow block;
    block.length = length;
    block.batch = std::min(maxBatch, windowCount - first);
    block.resetState = true;
    block.tokens.resize((length + 1) * block.batch);
    for (int64_t t = 0; t <= length; ++t)
      for (int64_t b = 0; b < block.batch; ++b)
        block.tokens[t * block.batch + b] =
            validation[(first + b) * length + t];
    blocks.push_back(std::move(block));
  }
  return blocks;
}

} // namespace weft::runtime
