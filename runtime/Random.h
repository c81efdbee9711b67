// Random numbers from a seeded std::mt19937_64: takes the generator and
// gives uniform and normal doubles that are the same with every standard
// library (std::normal_distribution's output is not).
#pragma once

#include <random>

namespace weft::runtime {

/// Uniform in [0, 1) from the top 53 bits of one draw.
double uniformUnit(std::mt19937_64 &rng);
/// A standard normal sample by the Box-Muller transform (two draws).
double standardNormal(std::mt19937_64 &rng);

} // namespace weft::runtime
