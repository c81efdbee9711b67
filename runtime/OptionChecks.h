// Checks of numbers on a command line that say in words what is wrong:
// CLI11's own ranges print the largest double in full, and let NaN and
// infinity through.
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdlib>
#include <string>

namespace weft::runtime {

/// A finite number above 0 (`positive`), or at least 0.
inline CLI::Validator finiteNumber(bool positive) {
  return CLI::Validator(
      [positive](std::string &text) -> std::string {
        char *end = nullptr;
        double value = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !std::isfinite(value))
          return "`" + text + "` is not a finite number";
        if (positive ? value <= 0 : value < 0)
          return "`" + text + "` must be " +
                 (positive ? "above 0" : "0 or more");
        return "";
      },
      positive ? "POSITIVE" : "NONNEGATIVE");
}

} // namespace weft::runtime
