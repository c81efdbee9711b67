// The launch plan of a program's GPU kernels: what the host does, in
// order, to run one step on a device: kernel launches, GEMMs and copies,
// inside time loops that stay on the host. The compiler writes it beside
// the PTX (codegen/PtxEmitter.cpp); the runtime runs it (DeviceProgram.h),
// from memory or from the JSON that a built trainer carries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weft::runtime {

/// `fixed + perBatch * batch`, a count known when the step runs.
struct PlanSize {
  int64_t fixed = 0;
  int64_t perBatch = 0;
  int64_t at(int64_t batch) const { return fixed + perBatch * batch; }
};

/// An element of a buffer: base + the sum of stride * t over the time loops
/// named, t being each loop's current step.
struct PlanElement {
  struct Term {
    int loop = 0;
    PlanSize stride;
  };
  int buffer = -1;
  PlanSize base;
  std::vector<Term> terms;

  int64_t at(int64_t batch, const std::vector<int64_t> &steps) const;
};

/// One step of the plan.
struct PlanStep {
  enum class Kind { Launch, Gemm, Copy, Loop };
  Kind kind = Kind::Launch;

  /// Launch: kernel `weft_kernel<kernel>` over the product of `extents`
  /// points, one a thread; a serial kernel has one point.
  unsigned kernel = 0;
  std::vector<PlanSize> extents;
  bool serial = false;

  /// Gemm: c = alpha op(a) op(b) + beta c with row-major matrices, op(a)
  /// m x k and op(b) k x n, as cblas_sgemm takes them.
  std::string label;
  bool transposeA = false, transposeB = false;
  PlanSize m, n, k;
  PlanElement a, b, c;
  int64_t lda = 0, ldb = 0, ldc = 0;
  double alpha = 1, beta = 0;

  /// Copy: `count` contiguous elements from `source` to `destination`.
  PlanElement destination, source;
  PlanSize count;

  /// Loop: `body` for t = 0 .. steps - 1 of loop number `loop`, or
  /// downwards when `reverse`.
  int loop = 0;
  int64_t steps = 0;
  bool reverse = false;
  std::vector<PlanStep> body;
};

/// A whole step for a device, over the buffers of the program it was
/// lowered from (the CPU program's, in the same order). Float32.
struct DevicePlan {
  unsigned kernelCount = 0;
  int loopCount = 0;
  std::vector<PlanStep> steps;
};

/// The plan as text, a line a step, indented inside loops (the comments
/// that head `weft --emit=ptx`).
std::string describePlan(const DevicePlan &plan);

/// The plan as JSON, for a built trainer to carry, and back; nullopt and
/// `error` for text that is not a plan.
std::string planToJson(const DevicePlan &plan);
std::optional<DevicePlan> planFromJson(const std::string &text,
                                       std::string *error);

} // namespace weft::runtime
