// Initialisers. Random numbers come from Random.h's transforms of
// std::mt19937_64, and the orthogonal initialiser runs its own Householder
// QR.

#include "runtime/Initializers.h"
#include "runtime/Error.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace weft::runtime {

void glorotFans(std::span<const int64_t> shape, int64_t &fanIn,
                int64_t &fanOut) {
  if (shape.empty()) {
    fanIn = fanOut = 1;
    return;
  }
  fanOut = shape[0];
  fanIn = shape.size() == 1 ? shape[0] : 1;
  for (size_t i = 1; i < shape.size(); ++i)
    fanIn *= shape[i];
}

template <typename Real> void fillConstant(std::span<Real> out, double value) {
  std::fill(out.begin(), out.end(), static_cast<Real>(value));
}

template <typename Real>
void fillNormal(std::span<Real> out, double mean, double deviation,
                std::mt19937_64 &rng) {
  for (Real &value : out)
    value = static_cast<Real>(mean + deviation * standardNormal(rng));
}

template <typename Real>
void fillUniform(std::span<Real> out, double low, double high,
                 std::mt19937_64 &rng) {
  for (Real &value : out)
    value = static_cast<Real>(low + (high - low) * uniformUnit(rng));
}

template <typename Real>
void fillGlorot(std::span<const int64_t> shape, std::span<Real> out,
                std::mt19937_64 &rng, double gain) {
  int64_t fanIn, fanOut;
  glorotFans(shape, fanIn, fanOut);
  double bound = gain * std::sqrt(6.0 / static_cast<double>(fanIn + fanOut));
  fillUniform(out, -bound, bound, rng);
}

namespace {

/// A row-major matrix of doubles, just enough for one QR factorisation.
struct Matrix {
  int64_t rows, cols;
  std::vector<double> values;

  Matrix(int64_t rows, int64_t cols)
      : rows(rows), cols(cols), values(rows * cols, 0.0) {}
  double &operator()(int64_t i, int64_t j) { return values[i * cols + j]; }
};

/// Applies the reflection I - 2 v v^T (v of unit length, acting on rows
/// [first, rows)) to columns [fromColumn, cols) of `matrix`.
void reflect(Matrix &matrix, const std::vector<double> &v, int64_t first,
             int64_t fromColumn) {
  for (int64_t j = fromColumn; j < matrix.cols; ++j) {
    double dot = 0;
    for (int64_t i = first; i < matrix.rows; ++i)
      dot += v[i - first] * matrix(i, j);
    for (int64_t i = first; i < matrix.rows; ++i)
      matrix(i, j) -= 2.0 * dot * v[i - first];
  }
}

/// The reduced Q of a tall matrix (rows >= cols) with its columns' signs
/// chosen so that R has a positive diagonal: that makes Q unique, the same
/// as torch.nn.init.orthogonal_'s `q *= sign(diag(r))`.
Matrix orthonormalColumns(Matrix a) {
  int64_t m = a.rows, n = a.cols;
  std::vector<std::vector<double>> reflectors(n);
  std::vector<double> diagonalSign(n, 1.0);

  // Householder: reflector k maps column k below the diagonal onto e_k,
  // leaving R(k, k) = alpha.
  for (int64_t k = 0; k < n; ++k) {
    double norm = 0;
    for (int64_t i = k; i < m; ++i)
      norm += a(i, k) * a(i, k);
    norm = std::sqrt(norm);
    if (norm == 0)
      continue;
    double alpha = a(k, k) > 0 ? -norm : norm;
    std::vector<double> v(m - k);
    for (int64_t i = k; i < m; ++i)
      v[i - k] = a(i, k);
    v[0] -= alpha;
    double length = 0;
    for (double x : v)
      length += x * x;
    length = std::sqrt(length);
    for (double &x : v)
      x /= length;
    reflect(a, v, k, k);
    reflectors[k] = std::move(v);
    diagonalSign[k] = alpha > 0 ? 1.0 : -1.0;
  }

  // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of I.
  Matrix q(m, n);
  for (int64_t j = 0; j < n; ++j)
    q(j, j) = 1.0;
  for (int64_t k = n - 1; k >= 0; --k)
    if (!reflectors[k].empty())
      reflect(q, reflectors[k], k, 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      q(i, j) *= diagonalSign[j];
  return q;
}

} // namespace

template <typename Real>
bool fillOrthogonal(std::span<const int64_t> shape, std::span<Real> out,
                    std::mt19937_64 &rng, std::string *error, double gain) {
  if (shape.size() < 2)
    return fail(error, fmt::format("`orthogonal` needs a shape of two or more "
                                   "dimensions, got {}",
                                   shape.size()));
  int64_t rows = shape[0], cols = 1;
  for (size_t i = 1; i < shape.size(); ++i)
    cols *= shape[i];
  if (static_cast<size_t>(rows * cols) != out.size())
    return fail(error, fmt::format("`orthogonal`: buffer of {} values does "
                                   "not match the shape's {}",
                                   out.size(), rows * cols));
  if (rows == 0 || cols == 0)
    return true;

  // Factor the tall orientation; a wide matrix is the transpose of one.
  bool wide = rows < cols;
  Matrix normal(wide ? cols : rows, wide ? rows : cols);
  for (double &value : normal.values)
    value = standardNormal(rng);
  Matrix q = orthonormalColumns(std::move(normal));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[i * cols + j] = static_cast<Real>(gain * (wide ? q(j, i) : q(i, j)));
  return true;
}

namespace {

/// An initialiser the language names, with how many arguments it takes.
struct InitializerKind {
  std::string_view name;
  size_t minArgs, maxArgs;
  std::string_view usage;
};

constexpr InitializerKind Kinds[] = {
    {"zeros", 0, 0, "zeros"},
    {"ones", 0, 0, "ones"},
    {"normal", 2, 2, "normal(mean, std)"},
    {"uniform", 2, 2, "uniform(low, high)"},
    {"glorot", 0, 1, "glorot or glorot(gain)"},
    {"orthogonal", 0, 1, "orthogonal or orthogonal(gain)"},
};

/// Checks the name, the argument count and the buffer size.
bool checkRequest(std::string_view name, const std::vector<double> &args,
                  std::span<const int64_t> shape, size_t size,
                  std::string *error) {
  const InitializerKind *kind = nullptr;
  for (const InitializerKind &candidate : Kinds)
    if (candidate.name == name)
      kind = &candidate;
  if (!kind)
    return fail(error, fmt::format("unknown initialiser `{}` (expected zeros, "
                                   "ones, normal, uniform, glorot or "
                                   "orthogonal)",
                                   name));
  if (args.size() < kind->minArgs || args.size() > kind->maxArgs)
    return fail(error, fmt::format("`{}` takes {} but got {} argument{}", name,
                                   kind->usage, args.size(),
                                   args.size() == 1 ? "" : "s"));
  int64_t count = 1;
  for (int64_t dimension : shape) {
    if (dimension < 0)
      return fail(error, fmt::format("`{}`: negative dimension {} in shape",
                                     name, dimension));
    count *= dimension;
  }
  if (static_cast<size_t>(count) != size)
    return fail(error, fmt::format("`{}`: buffer of {} values does not match "
                                   "the shape's {}",
                                   name, size, count));
  return true;
}

template <typename Real>
bool initializeAs(std::string_view name, const std::vector<double> &args,
                  std::span<const int64_t> shape, std::span<Real> out,
                  std::mt19937_64 &rng, std::string *error) {
  if (!checkRequest(name, args, shape, out.size(), error))
    return false;
  double gain = args.empty() ? 1.0 : args[0];
  if (name == "zeros")
    fillConstant(out, 0.0);
  else if (name == "ones")
    fillConstant(out, 1.0);
  else if (name == "normal")
    fillNormal(out, args[0], args[1], rng);
  else if (name == "uniform")
    fillUniform(out, args[0], args[1], rng);
  else if (name == "glorot")
    fillGlorot(shape, out, rng, gain);
  else
    return fillOrthogonal(shape, out, rng, error, gain);
  return true;
}

} // namespace

bool initialize(std::string_view name, const std::vector<double> &args,
                std::span<const int64_t> shape, std::span<double> out,
                std::mt19937_64 &rng, std::string *error) {
  return initializeAs(name, args, shape, out, rng, error);
}

bool initialize(std::string_view name, const std::vector<double> &args,
                std::span<const int64_t> shape, std::span<float> out,
                std::mt19937_64 &rng, std::string *error) {
  return initializeAs(name, args, shape, out, rng, error);
}

#define WEFT_INSTANTIATE_INITIALIZERS(Real)                                    \
  template void fillConstant(std::span<Real>, double);                         \
  template void fillNormal(std::span<Real>, double, double,                    \
                           std::mt19937_64 &);                                 \
  template void fillUniform(std::span<Real>, double, double,                   \
                            std::mt19937_64 &);                                \
  template void fillGlorot(std::span<const int64_t>, std::span<Real>,          \
                           std::mt19937_64 &, double);                         \
  template bool fillOrthogonal(std::span<const int64_t>, std::span<Real>,      \
                               std::mt19937_64 &, std::string *, double);
WEFT_INSTANTIATE_INITIALIZERS(float)
WEFT_INSTANTIATE_INITIALIZERS(double)
#undef WEFT_INSTANTIATE_INITIALIZERS

} // namespace weft::runtime
