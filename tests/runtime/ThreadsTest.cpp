// The split matrix products: every shape and transposition, split between
// two and three threads or not at all, gives the naive triple loop's
// result, and strided operands (ld larger than the row) are respected.
#include "runtime/Threads.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace {

struct Shape {
  bool transposeA, transposeB;
  int m, n, k;
};

/// C = alpha op(A) op(B) + beta C by the definition, in double.
std::vector<double> reference(const Shape &s, double alpha,
                              const std::vector<double> &a, int lda,
                              const std::vector<double> &b, int ldb,
                              double beta, std::vector<double> c, int ldc) {
  for (int i = 0; i < s.m; ++i)
    for (int j = 0; j < s.n; ++j) {
      double sum = 0;
      for (int p = 0; p < s.k; ++p) {
        double x = s.transposeA ? a[p * lda + i] : a[i * lda + p];
        double y = s.transposeB ? b[j * ldb + p] : b[p * ldb + j];
        sum += x * y;
      }
      c[i * ldc + j] = alpha * sum + beta * c[i * ldc + j];
    }
  return c;
}

class SplitGemm : public ::testing::TestWithParam<int> {};

TEST_P(SplitGemm, MatchesTheDefinition) {
  weft::runtime::setComputeThreads(GetParam());
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> uniform(-1, 1);
  const Shape shapes[] = {
      {false, false, 96, 130, 70}, {true, false, 33, 200, 64},
      {false, true, 300, 40, 50},  {true, true, 64, 64, 64},
      {false, false, 3, 5, 2},     {false, true, 32, 1024, 256}};
  for (const Shape &s : shapes) {
    int rowsA = s.transposeA ? s.k : s.m, colsA = s.transposeA ? s.m : s.k;
    int rowsB = s.transposeB ? s.n : s.k, colsB = s.transposeB ? s.k : s.n;
    int lda = colsA + 3, ldb = colsB + 1, ldc = s.n + 2;
    std::vector<double> a(size_t(rowsA) * lda), b(size_t(rowsB) * ldb),
        c(size_t(s.m) * ldc);
    for (auto *values : {&a, &b, &c})
      for (double &value : *values)
        value = uniform(rng);
    std::vector<double> want = reference(s, 0.5, a, lda, b, ldb, 2.0, c, ldc);

    std::vector<double> got = c;
    weft_dgemm(s.transposeA, s.transposeB, s.m, s.n, s.k, 0.5, a.data(), lda,
               b.data(), ldb, 2.0, got.data(), ldc);
    std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()),
        cf(c.begin(), c.end());
    weft_sgemm(s.transposeA, s.transposeB, s.m, s.n, s.k, 0.5f, af.data(), lda,
               bf.data(), ldb, 2.0f, cf.data(), ldc);
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-12 * (1 + s.k)) << i;
      ASSERT_NEAR(cf[i], want[i], 1e-5 * (1 + s.k)) << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, SplitGemm, ::testing::Values(1, 2, 3));

} // namespace
