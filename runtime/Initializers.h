// Parameter initialisers: take a shape, a name with its arguments and a
// seeded generator, and fill a float or double buffer with zeros, ones,
// normal, uniform, Glorot-uniform or (semi-)orthogonal values.
#pragma once

#include "runtime/Random.h"
#include <cstdint>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft::runtime {

/// The fans of `shape` as Glorot uses them: fan_out = shape[0], fan_in =
/// product of the rest; a vector has fan_in = fan_out = shape[0], a scalar 1.
void glorotFans(std::span<const int64_t> shape, int64_t &fanIn,
                int64_t &fanOut);

template <typename Real> void fillConstant(std::span<Real> out, double value);
template <typename Real>
void fillNormal(std::span<Real> out, double mean, double deviation,
                std::mt19937_64 &rng);
/// Uniform in [low, high).
template <typename Real>
void fillUniform(std::span<Real> out, double low, double high,
                 std::mt19937_64 &rng);
/// Xavier uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).
template <typename Real>
void fillGlorot(std::span<const int64_t> shape, std::span<Real> out,
                std::mt19937_64 &rng, double gain = 1.0);
/// `gain` times the Q factor of a normal [rows, cols] matrix (cols = product
/// of shape[1:]), signs fixed so that diag(R) > 0: orthonormal columns when
/// rows > cols, else orthonormal rows. Needs at least two dimensions.
template <typename Real>
bool fillOrthogonal(std::span<const int64_t> shape, std::span<Real> out,
                    std::mt19937_64 &rng, std::string *error,
                    double gain = 1.0);

/// Fills `out` (of `shape`, C order) by the initialiser a program names:
/// `zeros`, `ones`, `normal(mean, std)`, `uniform(low, high)`,
/// `glorot` or `glorot(gain)`, `orthogonal` or `orthogonal(gain)`. Fails on
/// an unknown name, a wrong argument count, or a buffer that does not match
/// the shape.
bool initialize(std::string_view name, const std::vector<double> &args,
                std::span<const int64_t> shape, std::span<double> out,
                std::mt19937_64 &rng, std::string *error);
bool initialize(std::string_view name, const std::vector<double> &args,
                std::span<const int64_t> shape, std::span<float> out,
                std::mt19937_64 &rng, std::string *error);

} // namespace weft::runtime
