// Temperature sampling by inverse transform over the softmax weights,
// computed in double after subtracting the largest logit.

#include "runtime/Sampling.h"
#include "runtime/Error.h"
#include "runtime/Random.h"

#include <cmath>
#include <fmt/format.h>
#include <vector>

namespace weft::runtime {

namespace {

template <typename Real>
std::optional<int64_t> sampleAs(std::span<const Real> logits,
                                double temperature, std::mt19937_64 &rng,
                                std::string *error) {
  if (logits.empty() || !(temperature >= 0) || std::isinf(temperature)) {
    fail(error, fmt::format("sampling needs logits and a finite temperature "
                            ">= 0 (got {} logits, temperature {})",
                            logits.size(), temperature));
    return std::nullopt;
  }
  size_t best = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i]) || logits[i] == INFINITY) {
      fail(error, fmt::format("sampling: logit {} is {}", i, logits[i]));
      return std::nullopt;
    }
    if (logits[i] > logits[best])
      best = i;
  }
  if (logits[best] == -INFINITY) {
    fail(error, "sampling: every logit is -inf");
    return std::nullopt;
  }
  if (temperature == 0)
    return static_cast<int64_t>(best);

  // exp((l - max) / temperature) keeps every weight in [0, 1].
  std::vector<double> weights(logits.size());
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    weights[i] =
        std::exp((static_cast<double>(logits[i]) - logits[best]) / temperature);
    total += weights[i];
  }
  double threshold = uniformUnit(rng) * total;
  for (size_t i = 0; i < weights.size(); ++i) {
    threshold -= weights[i];
    if (threshold < 0 && weights[i] > 0)
      return static_cast<int64_t>(i);
  }
  // Rounding can leave a sliver past the last weight: take the last
  // index that has any weight.
  size_t last = weights.size();
  while (weights[--last] == 0) {
  }
  return static_cast<int64_t>(last);
}

} // namespace

std::optional<int64_t> sampleIndex(std::span<const double> logits,
                                   double temperature, std::mt19937_64 &rng,
                                   std::string *error) {
  return sampleAs(logits, temperature, rng, error);
}

std::optional<int64_t> sampleIndex(std::span<const float> logits,
                                   double temperature, std::mt19937_64 &rng,
                                   std::string *error) {
  return sampleAs(logits, temperature, rng, error);
}

} // namespace weft::runtime
