// Progress lines for the terminal: takes where training stands (step,
// losses, throughput, time left) and gives one formatted line, e.g.
// `step 120/1000  train 2.3456  val 2.4001  12.3k chars/s  ETA 1m23s`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace weft::runtime {

/// Where training stands when a progress line is printed.
struct ProgressReport {
  int64_t step = 0;
  int64_t totalSteps = 0;          ///< 0 or less when training runs for a time.
  std::optional<double> trainLoss; ///< Absent before the first step.
  std::optional<double> validationLoss;
  /// Validation scores by name (`accuracy`, `exact_match`, `bit_error`).
  std::vector<std::pair<std::string, double>> scores;
  double itemsPerSecond = 0;
  std::string itemName = "chars";         ///< What the rate counts.
  std::optional<double> remainingSeconds; ///< Absent: no ETA shown.
};

/// Whole seconds as `45s`, `1m23s` or `2h05m09s`; `?` when negative or not
/// finite.
std::string formatDuration(double seconds);
/// A rate as `950`, `12.3k` or `4.56M`.
std::string formatRate(double perSecond);
/// The progress line; parts without a value are left out.
std::string formatProgress(const ProgressReport &report);

} // namespace weft::runtime
