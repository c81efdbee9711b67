// Sampling for text generation: takes a vector of logits, a temperature
// and a seeded generator, and gives the index of the chosen token.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>

namespace weft::runtime {

/// Draws an index from softmax(logits / temperature); temperature 0 gives
/// the first largest logit. Fails on no logits, a negative, infinite or
/// NaN temperature, a NaN or +inf logit, or every logit at -inf.
std::optional<int64_t> sampleIndex(std::span<const double> logits,
                                   double temperature, std::mt19937_64 &rng,
                                   std::string *error);
std::optional<int64_t> sampleIndex(std::span<const float> logits,
                                   double temperature, std::mt19937_64 &rng,
                                   std::string *error);

} // namespace weft::runtime
