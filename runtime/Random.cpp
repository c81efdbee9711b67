// Portable transforms of std::mt19937_64's 64-bit draws.

#include "runtime/Random.h"

#include <cmath>
#include <numbers>

namespace weft::runtime {

double uniformUnit(std::mt19937_64 &rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

double standardNormal(std::mt19937_64 &rng) {
  // 1 - u lies in (0, 1], so the logarithm stays finite.
  double radius = std::sqrt(-2.0 * std::log(1.0 - uniformUnit(rng)));
  return radius * std::cos(2.0 * std::numbers::pi * uniformUnit(rng));
}

} // namespace weft::runtime
