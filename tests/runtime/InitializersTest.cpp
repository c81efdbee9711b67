// Tests of the initialisers: sample statistics, Glorot bounds,
// orthogonality, determinism under a seed, and the name-based entry's
// errors.

#include "runtime/Initializers.h"

#include <cmath>
#include <gtest/gtest.h>

using namespace weft::runtime;

namespace {

struct Moments {
  double mean, deviation;
};

Moments momentsOf(const std::vector<double> &values) {
  double sum = 0, squares = 0;
  for (double x : values)
    sum += x;
  double mean = sum / values.size();
  for (double x : values)
    squares += (x - mean) * (x - mean);
  return {mean, std::sqrt(squares / values.size())};
}

/// Largest |(M M^T - gain^2 I)(i, j)| for a row-major [rows, cols] matrix,
/// over rows (`byRows`) or over columns.
double orthogonalityError(const std::vector<double> &m, int64_t rows,
                          int64_t cols, bool byRows, double gain = 1) {
  int64_t count = byRows ? rows : cols, length = byRows ? cols : rows;
  auto at = [&](int64_t vector, int64_t k) {
    return byRows ? m[vector * cols + k] : m[k * cols + vector];
  };
  double worst = 0;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t j = 0; j < count; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < length; ++k)
        dot += at(i, k) * at(j, k);
      worst = std::max(worst, std::abs(dot - (i == j ? gain * gain : 0)));
    }
  return worst;
}

std::vector<double> run(std::string_view name, std::vector<double> args,
                        std::vector<int64_t> shape, uint64_t seed = 7) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  std::vector<double> out(count, -99);
  std::mt19937_64 rng(seed);
  std::string error;
  EXPECT_TRUE(initialize(name, args, shape, out, rng, &error)) << error;
  return out;
}

} // namespace

TEST(Initializers, ZerosAndOnes) {
  EXPECT_EQ(run("zeros", {}, {2, 3}), std::vector<double>(6, 0.0));
  EXPECT_EQ(run("ones", {}, {4}), std::vector<double>(4, 1.0));
  EXPECT_EQ(run("ones", {}, {}), std::vector<double>(1, 1.0));
}

TEST(Initializers, NormalHasTheRequestedMoments) {
  Moments moments = momentsOf(run("normal", {1.0, 2.0}, {400, 500}));
  EXPECT_NEAR(moments.mean, 1.0, 0.02);
  EXPECT_NEAR(moments.deviation, 2.0, 0.02);
}

TEST(Initializers, UniformStaysInRangeWithTheRightMoments) {
  std::vector<double> values = run("uniform", {-1.0, 3.0}, {200000});
  for (double x : values)
    ASSERT_TRUE(x >= -1.0 && x < 3.0) << x;
  Moments moments = momentsOf(values);
  EXPECT_NEAR(moments.mean, 1.0, 0.02);
  EXPECT_NEAR(moments.deviation, 4.0 / std::sqrt(12.0), 0.01);
}

TEST(Initializers, GlorotUsesTheFans) {
  int64_t fanIn, fanOut;
  std::vector<int64_t> kernel = {8, 3, 5};
  glorotFans(kernel, fanIn, fanOut);
  EXPECT_EQ(fanIn, 15);
  EXPECT_EQ(fanOut, 8);
  std::vector<int64_t> vector = {10};
  glorotFans(vector, fanIn, fanOut);
  EXPECT_EQ(fanIn, 10);
  EXPECT_EQ(fanOut, 10);

  // fan_out = 300, fan_in = 500: a = sqrt(6 / 800).
  double bound = std::sqrt(6.0 / 800.0);
  std::vector<double> values = run("glorot", {}, {300, 500});
  for (double x : values)
    ASSERT_LE(std::abs(x), bound);
  EXPECT_NEAR(momentsOf(values).deviation, bound / std::sqrt(3.0), 1e-3);

  std::vector<double> vectorValues = run("glorot", {2.0}, {10});
  for (double x : vectorValues)
    EXPECT_LE(std::abs(x), 2.0 * std::sqrt(6.0 / 20.0));
}

TEST(Initializers, OrthogonalIsOrthonormal) {
  // Tall: orthonormal columns; wide: orthonormal rows; square: both.
  EXPECT_LT(orthogonalityError(run("orthogonal", {}, {9, 4}), 9, 4, false),
            1e-12);
  EXPECT_LT(orthogonalityError(run("orthogonal", {}, {3, 7}), 3, 7, true),
            1e-12);
  std::vector<double> square = run("orthogonal", {}, {6, 6});
  EXPECT_LT(orthogonalityError(square, 6, 6, true), 1e-12);
  EXPECT_LT(orthogonalityError(square, 6, 6, false), 1e-12);
  // [4, 2, 3] flattens to a wide [4, 6] matrix.
  EXPECT_LT(orthogonalityError(run("orthogonal", {}, {4, 2, 3}), 4, 6, true),
            1e-12);
  EXPECT_LT(
      orthogonalityError(run("orthogonal", {1.5}, {5, 5}), 5, 5, true, 1.5),
      1e-12);
  EXPECT_LT(orthogonalityError(run("orthogonal", {}, {64, 64}), 64, 64, true),
            1e-12);
}

TEST(Initializers, FloatBuffersGetTheSameDraws) {
  std::vector<int64_t> shape = {5, 4};
  std::vector<float> floats(20);
  std::mt19937_64 rng(11);
  std::string error;
  ASSERT_TRUE(initialize("orthogonal", {}, shape, floats, rng, &error));
  std::vector<double> doubles = run("orthogonal", {}, shape, 11);
  for (size_t i = 0; i < floats.size(); ++i)
    EXPECT_EQ(floats[i], static_cast<float>(doubles[i]));
}

TEST(Initializers, SeedsAreDeterministic) {
  for (std::string_view name : {"normal", "uniform"}) {
    EXPECT_EQ(run(name, {0, 1}, {50}, 3), run(name, {0, 1}, {50}, 3));
    EXPECT_NE(run(name, {0, 1}, {50}, 3), run(name, {0, 1}, {50}, 4));
  }
  EXPECT_EQ(run("glorot", {}, {6, 2}, 5), run("glorot", {}, {6, 2}, 5));
  EXPECT_EQ(run("orthogonal", {}, {6, 2}, 5), run("orthogonal", {}, {6, 2}, 5));
}

TEST(Initializers, ReportsBadRequests) {
  std::vector<double> out(6);
  std::vector<int64_t> shape = {2, 3};
  std::mt19937_64 rng(1);
  std::string error;
  EXPECT_FALSE(initialize("kaiming", {}, shape, out, rng, &error));
  EXPECT_NE(error.find("unknown initialiser `kaiming`"), std::string::npos);
  EXPECT_FALSE(initialize("normal", {0.0}, shape, out, rng, &error));
  EXPECT_NE(error.find("normal(mean, std)"), std::string::npos);
  EXPECT_FALSE(initialize("zeros", {1.0}, shape, out, rng, &error));
  EXPECT_FALSE(initialize("glorot", {1.0, 2.0}, shape, out, rng, &error));
  std::vector<int64_t> wrongShape = {4, 3};
  EXPECT_FALSE(initialize("zeros", {}, wrongShape, out, rng, &error));
  EXPECT_NE(error.find("does not match"), std::string::npos);
  std::vector<int64_t> vector = {6};
  EXPECT_FALSE(initialize("orthogonal", {}, vector, out, rng, &error));
  EXPECT_NE(error.find("two or more"), std::string::npos);
}
