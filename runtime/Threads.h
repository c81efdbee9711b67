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

/// `requested` compute threads, but no more than this machine's cores:
/// threads beyond them only wait on each other. Says so on standard error
/// when it lowers the count.
int threadsForThisMachine(int requested);

/// The count set by setComputeThreads, or 0 if it was never called.
int computeThreads();

} // namespace weft::runtime

#include <cstdint>

// A kernel of generated code: iterations [begin, end) of its outermost loop,
// given the step function's buffers and batch size and the indices of the
// time loops around it.
using WeftKernel = void (*)(void **buffers, int64_t batch, const int64_t *times,
                            int64_t begin, int64_t end);

// Row-major C = alpha op(A) op(B) + beta C, op(X) = X or X^T, as generated
// code calls it: C is m x n, op(A) m x k, op(B) k x n. Split between the
// compute threads when it is large enough to gain from it.
extern "C" {
/// Runs `kernel` over [0, count), split between the compute threads when it
/// touches at least a few thousand of its `elements` in all.
void weft_parallel_for(WeftKernel kernel, void **buffers, int64_t batch,
                       const int64_t *times, int64_t count, int64_t elements);
void weft_sgemm(int transposeA, int transposeB, int m, int n, int k,
                float alpha, const float *a, int lda, const float *b, int ldb,
                float beta, float *c, int ldc);
void weft_dgemm(int transposeA, int transposeB, int m, int n, int k,
                double alpha, const double *a, int lda, const double *b,
                int ldb, double beta, double *c, int ldc);
}
