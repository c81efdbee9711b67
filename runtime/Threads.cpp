// The compute threads and the split matrix products. The workers wait for
// a job by spinning for a short while (the next product of a step is
// usually microseconds away), then sleep on the job counter.
#include "runtime/Threads.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace weft::runtime {

namespace {

void relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

/// Work split into `parts` parts that may run at once.
struct Job {
  void (*runPart)(const void *context, int part);
  const void *context;
  int parts;
};

/// One matrix product, split into blocks of `chunk` rows (or columns) of C.
struct GemmJob {
  bool splitRows;
  int chunk;
  bool transposeA, transposeB;
  int m, n, k;
  double alpha, beta;
  const void *a, *b;
  void *c;
  int lda, ldb, ldc;
};

/// Block `part` of the product: rows of C take rows of op(A), columns of C
/// take columns of op(B).
template <typename Float> struct GemmParts {
  static void run(const void *context, int part) {
    const GemmJob &job = *static_cast<const GemmJob *>(context);
    int extent = job.splitRows ? job.m : job.n;
    int begin = part * job.chunk;
    int count = std::min(job.chunk, extent - begin);
    if (count <= 0)
      return;
    auto a = static_cast<const Float *>(job.a);
    auto b = static_cast<const Float *>(job.b);
    auto c = static_cast<Float *>(job.c);
    int m = job.m, n = job.n;
    if (job.splitRows) {
      a += job.transposeA ? begin : int64_t(begin) * job.lda;
      c += int64_t(begin) * job.ldc;
      m = count;
    } else {
      b += job.transposeB ? int64_t(begin) * job.ldb : begin;
      c += begin;
      n = count;
    }
    call(job, m, n, a, b, c);
  }

  static void call(const GemmJob &job, int m, int n, const Float *a,
                   const Float *b, Float *c) {
    auto transA = job.transposeA ? CblasTrans : CblasNoTrans;
    auto transB = job.transposeB ? CblasTrans : CblasNoTrans;
    if constexpr (sizeof(Float) == sizeof(float))
      cblas_sgemm(CblasRowMajor, transA, transB, m, n, job.k, float(job.alpha),
                  a, job.lda, b, job.ldb, float(job.beta), c, job.ldc);
    else
      cblas_dgemm(CblasRowMajor, transA, transB, m, n, job.k, job.alpha, a,
                  job.lda, b, job.ldb, job.beta, c, job.ldc);
  }
};

class ThreadPool {
public:
  ~ThreadPool() { resize(0); }

  /// Keeps `workers` worker threads.
  void resize(int workers) {
    if (int(threads.size()) == workers)
      return;
    stopping.store(true);
    generation.fetch_add(1, std::memory_order_release);
    generation.notify_all();
    for (std::thread &thread : threads)
      thread.join();
    threads.clear();
    stopping.store(false);
    // A worker waits for the job after the count it was started at, even
    // if it starts running only after that job was posted.
    uint64_t start = generation.load(std::memory_order_acquire);
    for (int i = 0; i < workers; ++i)
      threads.emplace_back([this, i, start] { work(i + 1, start); });
  }

  int workers() const { return int(threads.size()); }

  /// Runs every part of `job`: part 0 here, the others on the workers.
  /// Every worker acknowledges the job, even one without a part, so that
  /// none reads it after it is gone.
  void run(const Job &job) {
    current = &job;
    pending.store(int(threads.size()), std::memory_order_relaxed);
    generation.fetch_add(1, std::memory_order_release);
    generation.notify_all();
    job.runPart(job.context, 0);
    while (pending.load(std::memory_order_acquire) > 0)
      relax();
  }

private:
  void work(int part, uint64_t seen) {
    for (;;) {
      uint64_t now = awaitChange(seen);
      seen = now;
      if (stopping.load())
        return;
      const Job &job = *current;
      if (part < job.parts)
        job.runPart(job.context, part);
      pending.fetch_sub(1, std::memory_order_release);
    }
  }

  /// Spins for up to a fifth of a millisecond, then sleeps until the job
  /// counter moves past `seen`.
  uint64_t awaitChange(uint64_t seen) {
    using Clock = std::chrono::steady_clock;
    Clock::time_point start = Clock::now();
    for (unsigned spins = 0;; ++spins) {
      uint64_t now = generation.load(std::memory_order_acquire);
      if (now != seen)
        return now;
      if (spins % 256 == 255 &&
          Clock::now() - start > std::chrono::microseconds(200))
        break;
      relax();
    }
    generation.wait(seen, std::memory_order_acquire);
    return generation.load(std::memory_order_acquire);
  }

  std::vector<std::thread> threads;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  std::atomic<bool> stopping{false};
  const Job *current = nullptr;
};

ThreadPool &pool() {
  static ThreadPool instance;
  return instance;
}

int configuredThreads = 0;

/// Products smaller than this many multiply-adds run on one thread: the
/// hand-off costs more than they gain.
constexpr double smallestSplitWork = 1 << 18;

template <typename Float>
void gemm(int transposeA, int transposeB, int m, int n, int k, Float alpha,
          const Float *a, int lda, const Float *b, int ldb, Float beta,
          Float *c, int ldc) {
  GemmJob job{false,
              n,
              transposeA != 0,
              transposeB != 0,
              m,
              n,
              k,
              alpha,
              beta,
              a,
              b,
              c,
              lda,
              ldb,
              ldc};
  int threads = pool().workers() + 1;
  double work = double(m) * n * k;
  int parts = 1;
  if (threads > 1 && work >= smallestSplitWork) {
    // Split the longer side of C; columns in multiples of 16 so that each
    // block starts on a cache line.
    job.splitRows = m > n;
    int extent = job.splitRows ? m : n;
    int align = job.splitRows ? 1 : 16;
    int chunk = (extent + threads - 1) / threads;
    chunk = (chunk + align - 1) / align * align;
    if (chunk < extent) {
      job.chunk = chunk;
      parts = (extent + chunk - 1) / chunk;
    }
  }
  if (parts == 1) {
    GemmParts<Float>::call(job, m, n, a, b, c);
    return;
  }
  pool().run(Job{&GemmParts<Float>::run, &job, parts});
}

/// A kernel's outermost loop, split into runs of `chunk` iterations.
struct LoopJob {
  WeftKernel kernel;
  void **buffers;
  int64_t batch;
  const int64_t *times;
  int64_t count;
  int64_t chunk;
};

void runLoopPart(const void *context, int part) {
  const LoopJob &job = *static_cast<const LoopJob *>(context);
  int64_t begin = part * job.chunk;
  int64_t end = std::min(job.count, begin + job.chunk);
  if (begin < end)
    job.kernel(job.buffers, job.batch, job.times, begin, end);
}

/// Kernels that touch fewer elements than this run on one thread.
constexpr int64_t smallestSplitKernel = 4096;

} // namespace

void setComputeThreads(int threads) {
  threads = std::max(threads, 1);
  configuredThreads = threads;
  openblas_set_num_threads(1);
  pool().resize(threads - 1);
}

int computeThreads() { return configuredThreads; }

int threadsForThisMachine(int requested) {
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  if (cores <= 0 || requested <= cores)
    return requested;
  std::fprintf(stderr,
               "note: --threads %d is more than this machine's %d cores; "
               "using %d\n",
               requested, cores, cores);
  return cores;
}

} // namespace weft::runtime

extern "C" void weft_parallel_for(WeftKernel kernel, void **buffers,
                                  int64_t batch, const int64_t *times,
                                  int64_t count, int64_t elements) {
  using namespace weft::runtime;
  int threads = pool().workers() + 1;
  if (threads == 1 || count < 2 || elements < smallestSplitKernel) {
    kernel(buffers, batch, times, 0, count);
    return;
  }
  int64_t chunk = (count + threads - 1) / threads;
  LoopJob job{kernel, buffers, batch, times, count, chunk};
  pool().run(Job{&runLoopPart, &job, int((count + chunk - 1) / chunk)});
}

extern "C" void weft_sgemm(int transposeA, int transposeB, int m, int n, int k,
                           float alpha, const float *a, int lda, const float *b,
                           int ldb, float beta, float *c, int ldc) {
  weft::runtime::gemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb,
                      beta, c, ldc);
}

extern "C" void weft_dgemm(int transposeA, int transposeB, int m, int n, int k,
                           double alpha, const double *a, int lda,
                           const double *b, int ldb, double beta, double *c,
                           int ldc) {
  weft::runtime::gemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb,
                      beta, c, ldc);
}
