// Learning-rate schedules: take the base rate and the step (or the fraction
// of the run done), give the rate for that step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace weft::runtime {

enum class ScheduleKind {
  Constant, ///< The base rate.
  Step,     ///< The base rate times gamma^(number of `every`-step periods).
  Cosine,   ///< From the base rate down to 0 along half a cosine.
};

/// `constant`, `step` or `cosine`, or nothing for another name.
std::optional<ScheduleKind> parseScheduleKind(const std::string &name);

struct Schedule {
  ScheduleKind kind = ScheduleKind::Constant;
  double baseRate = 1e-3;
  /// Steps of linear warm-up first: step s < warmup uses base * (s + 1) /
  /// warmup. The schedule proper starts after them.
  int64_t warmupSteps = 0;
  int64_t every = 1000; ///< Step: the period.
  double gamma = 0.5;   ///< Step: the factor per period.

  /// The rate of step `step` (from 0). `progress` is how much of the run
  /// is done, in [0, 1], which the cosine follows; the others ignore it.
  double rateAt(int64_t step, double progress) const;
};

} // namespace weft::runtime
