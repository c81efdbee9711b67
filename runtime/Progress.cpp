// Progress formatting: pure functions of their arguments.

#include "runtime/Progress.h"

#include <cmath>
#include <fmt/format.h>

namespace weft::runtime {

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "?";
  auto whole = static_cast<int64_t>(std::llround(seconds));
  int64_t hours = whole / 3600, minutes = whole / 60 % 60, rest = whole % 60;
  if (hours > 0)
    return fmt::format("{}h{:02}m{:02}s", hours, minutes, rest);
  if (minutes > 0)
    return fmt::format("{}m{:02}s", minutes, rest);
  return fmt::format("{}s", rest);
}

std::string formatRate(double perSecond) {
  if (!std::isfinite(perSecond))
    return "?";
  if (perSecond >= 999.95e3)
    return fmt::format("{:.2f}M", perSecond / 1e6);
  if (perSecond >= 9999.5)
    return fmt::format("{:.1f}k", perSecond / 1e3);
  return fmt::format("{:.0f}", perSecond);
}

std::string formatProgress(const ProgressReport &report) {
  std::string line = fmt::format("step {}", report.step);
  if (report.totalSteps > 0)
    line += fmt::format("/{}", report.totalSteps);
  if (report.trainLoss)
    line += fmt::format("  train {:.4f}", *report.trainLoss);
  if (report.validationLoss)
    line += fmt::format("  val {:.4f}", *report.validationLoss);
  for (const auto &[name, value] : report.scores)
    line += fmt::format("  {} {:.4f}", name, value);
  line += fmt::format("  {} {}/s", formatRate(report.itemsPerSecond),
                      report.itemName);
  if (report.remainingSeconds)
    line += fmt::format("  ETA {}", formatDuration(*report.remainingSeconds));
  return line;
}

} // namespace weft::runtime
