// Symbolic sizes: polynomials with integer coefficients over size names, so
// that `3 * H`, `H * H` and `T + 1` can be compared before any size is known.
// Once every name is bound the polynomial is a constant.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace weft::sema {

/// A sum of integer multiples of products of size names.
class Size {
public:
  Size() = default;
  static Size constant(int64_t value);
  static Size symbol(const std::string &name);

  Size operator+(const Size &other) const;
  Size operator-(const Size &other) const;
  Size operator*(const Size &other) const;
  /// Exact division by a constant; nullopt when it does not divide.
  std::optional<Size> divide(const Size &other) const;
  bool operator==(const Size &other) const { return terms == other.terms; }

  bool isConstant() const;
  /// True when this is at least 1 for every size at least 1: a non-zero
  /// sum of terms with positive coefficients.
  bool isKnownPositive() const;
  /// The value when constant.
  std::optional<int64_t> value() const;
  /// The single symbol when this is exactly one name with coefficient 1.
  std::optional<std::string> asSymbol() const;
  /// Replaces bound names by their values.
  Size substitute(const std::map<std::string, Size> &bindings) const;
  /// Names that occur in this size.
  std::vector<std::string> symbols() const;
  /// When this is `a * X + b` for one unknown X, solves this == target.
  std::optional<std::pair<std::string, int64_t>> solveFor(int64_t target) const;

  std::string str() const;
  /// True when some coefficient on the way to this size left int64.
  bool overflowed() const { return overflow; }

private:
  bool overflow = false;
  /// Monomial (sorted names, repeated for powers) -> coefficient; no zeros.
  std::map<std::vector<std::string>, int64_t> terms;
};

/// A shape of symbolic sizes.
using Dims = std::vector<Size>;
std::string formatDims(const Dims &dims);

} // namespace weft::sema
