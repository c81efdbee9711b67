// The runtime's one error convention. A function that can fail on user data
// returns `bool` or `std::optional<T>` and, on failure, writes a one-line
// message that names the file or value at fault into `*error`.
#pragma once

#include <string>

namespace weft::runtime {

/// Stores `message` in `*error` when the caller asked for it; returns false
/// so that a failing function can end with `return fail(error, ...)`.
inline bool fail(std::string *error, std::string message) {
  if (error)
    *error = std::move(message);
  return false;
}

} // namespace weft::runtime
