// The compute threads of a training step, and the matrix products generated
// code calls. Every product splits its result between the threads, and each
// thread runs the single-threaded BLAS on its part: the BLAS never starts
// threads of its own, so the cores are never oversubscribed.
#pragma once

namespace weft::runtime {

/// Uses `threads` threads (the caller and threads - 1 workers) for every
/// later matrix product, and sets the BLAS to one thread. Before the first
/// call, products run on the caller with the BLAS's own threading.
void setComputeThreads(int threads);

/// The count set by setComputeThreads, or 0 if it was never called.
int computeThreads();

} // namespace weft::runtime

// Row-major C = alpha op(A) op(B) + beta C, op(X) = X or X^T, as generated
// code calls it: C is m x n, op(A) m x k, op(B) k x n. Split between the
// compute threads when it is large enough to gain from it.
extern "C" {
void weft_sgemm(int transposeA, int transposeB, int m, int n, int k,
                float alpha, const float *a, int lda, const float *b, int ldb,
                float beta, float *c, int ldc);
void weft_dgemm(int transposeA, int transposeB, int m, int n, int k,
                double alpha, const double *a, int lda, const double *b,
                int ldb, double beta, double *c, int ldc);
}
