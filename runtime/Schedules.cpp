// Learning-rate schedules.
#include "runtime/Schedules.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace weft::runtime {

std::optional<ScheduleKind> parseScheduleKind(const std::string &name) {
  if (name == "constant")
    return ScheduleKind::Constant;
  if (name == "step")
    return ScheduleKind::Step;
  if (name == "cosine")
    return ScheduleKind::Cosine;
  return std::nullopt;
}

double Schedule::rateAt(int64_t step, double progress) const {
  if (step < warmupSteps)
    return baseRate * static_cast<double>(step + 1) /
           static_cast<double>(warmupSteps);
  switch (kind) {
  case ScheduleKind::Constant:
    return baseRate;
  case ScheduleKind::Step: {
    int64_t periods = (step - warmupSteps) / std::max<int64_t>(every, 1);
    return baseRate * std::pow(gamma, static_cast<double>(periods));
  }
  case ScheduleKind::Cosine: {
    double done = std::clamp(progress, 0.0, 1.0);
    return baseRate * 0.5 * (1 + std::cos(std::numbers::pi * done));
  }
  }
  return baseRate;
}

} // namespace weft::runtime
