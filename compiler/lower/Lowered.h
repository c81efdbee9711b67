// The lowered program: a table of buffers and a tree of time loops and
// kernels over them. Lowering (Lower.h) builds it from the tensor IR; a code
// generator turns it into machine code. Kernel bodies are kept apart from the
// loops around them, so fusion and other targets can rewrite either.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace weft::lower {

/// A count that may depend on the batch size, known only when the program
/// runs: `fixed + perBatch * batch`.
struct Size {
  int64_t fixed = 0;
  int64_t perBatch = 0;

  static Size batch() { return {0, 1}; }
  int64_t at(int64_t batch) const { return fixed + perBatch * batch; }
  bool isFixed() const { return perBatch == 0; }
  bool isZero() const { return fixed == 0 && perBatch == 0; }
  Size operator+(Size other) const {
    return {fixed + other.fixed, perBatch + other.perBatch};
  }
  Size operator*(int64_t factor) const {
    return {fixed * factor, perBatch * factor};
  }
  bool operator==(const Size &other) const = default;
};

/// What a buffer holds, and so who reads or writes it.
enum class BufferRole { Param, Input, Output, Temp };
/// The program's float type (chosen by the code generator) or int64.
enum class ElementKind { Float, Int };

struct Buffer {
  std::string name; ///< Param, input or output name; a label for temps.
  BufferRole role;
  ElementKind element;
  Size size; ///< In elements.
};

/// The term `stride * t` of an index, where t is the step of a time loop.
struct TimeTerm {
  int loop; ///< The TimeLoop's `loop` number.
  Size stride;
};

/// An affine element index: base + sum of dimStrides[d] * i_d over the
/// dimensions of the kernel it appears in + the time terms. Missing trailing
/// dimension strides are zero (the value is broadcast along them).
struct Index {
  Size base;
  std::vector<Size> dimStrides;
  std::vector<TimeTerm> timeTerms;
};

/// One element of a buffer, found by an index.
struct Access {
  int buffer = -1;
  Index index;
};

/// The nodes of an elementwise kernel body.
enum class ExprKind {
  Load,      ///< The element at `access`.
  Constant,  ///< `value`.
  BatchSize, ///< The runtime batch size, as a float.
  LoopIndex, ///< The index of kernel dimension `dimension`, as a float.
  Neg,
  Add,
  Sub,
  Mul,
  Div,
  Sigmoid,
  Tanh,
  Exp,
  Log,
  Sqrt,
  Abs,
  Relu,
  Pow,
  Less, ///< The comparisons give 1 or 0.
  LessEqual,
  Greater,
  GreaterEqual,
  Equal,
  NotEqual,
  Where, ///< operands[0] != 0 ? operands[1] : operands[2].
};

/// An expression tree computing one element of a kernel's output. Int
/// kernels (copies of ids) use only Load and Constant; a float kernel
/// converts the int elements it loads (ids in comparisons) to floats.
struct Expr {
  ExprKind kind = ExprKind::Constant;
  Access access;              ///< Load
  double value = 0;           ///< Constant
  unsigned dimension = 0;     ///< LoopIndex
  std::vector<Expr> operands; ///< Arithmetic
};

/// out[store] = body, for every point of the loop nest `extents` (outermost
/// first). A chain of fused IR ops shares one kernel. With reduction
/// extents the kernel's dimensions are `extents` then `reductionExtents`,
/// and out[store] = the sum of body over every point of the reduction
/// dimensions (an einsum); `store` depends on the first ones only.
struct ElementwiseKernel {
  std::string label; ///< The IR ops it computes, e.g. `mul+add+tanh`.
  std::vector<Size> extents;
  Access store;
  Expr body;
  std::vector<Size> reductionExtents = {};
};

/// C = alpha op(A) op(B) + beta C with row-major matrices (cblas_?gemm);
/// op(A) is m x k, op(B) is k x n. Accesses give each matrix's first element.
struct Gemm {
  std::string label;
  bool transposeA = false;
  bool transposeB = false;
  Size m, n, k;
  Access a, b, c;
  int64_t lda = 0, ldb = 0, ldc = 0;
  double alpha = 1;
  double beta = 0;
};

/// A contiguous copy of `count` elements.
struct Copy {
  Access destination;
  Access source;
  Size count;
};

/// dest[i] = scale * sum over r < count of source[i + r * stride], for every
/// point i of `extents`; the scale is 1, or 1 / batch for a mean.
struct Reduce {
  std::string label; ///< sum_batch, sum_all, sum_steps
  std::vector<Size> extents;
  Access destination;
  Access source;
  Size count;
  Size stride;
  bool divideByBatch = false;
};

/// Kernels that work on whole rows of `width` contiguous elements.
enum class RowKernelKind {
  Softmax,          ///< (x[, mask]) -> exp(x - max) / sum exp(x - max) over
                    ///< the kept entries, 0 at the others
  SoftmaxGrad,      ///< (y, g) -> y * (g - sum(g * y))
  LogSoftmax,       ///< (x) -> x - max - log sum exp(x - max)
  LogSoftmaxGrad,   ///< (y, g) -> g - exp(y) * sum(g)
  MaxLast,          ///< (x) -> max(x), one element per row
  CrossEntropy,     ///< (logits, int target) -> logsumexp - logits[target]
  CrossEntropyGrad, ///< (logits, target, g) -> g * (softmax - onehot)
};

/// One row per point of `extents`. Each operand's access gives its row's
/// first element (or its scalar); `result` likewise.
struct RowKernel {
  RowKernelKind kind;
  std::vector<Size> extents;
  int64_t width = 0;
  std::vector<Access> operands;
  Access result;
};

/// result row (per point of `extents`) = table row ids[point]; rows outside
/// [0, rows) give zeros.
struct Gather {
  std::vector<Size> extents;
  int64_t rows = 0;
  int64_t width = 0;
  Access table; ///< The first element of the table.
  Access ids;
  Access result;
};

/// result row ids[point] += grad row, for every point of `extents`. The
/// result is zeroed by an earlier kernel; ids outside [0, rows) are skipped.
struct ScatterAddRows {
  std::vector<Size> extents;
  int64_t rows = 0;
  int64_t width = 0;
  Access grad;
  Access ids;
  Access result; ///< The first element of the [rows, width] result.
};

/// Elementwise kernels over the same points (no reductions), run one after
/// another at each point of one loop nest: a kernel reads what an earlier
/// one of the group writes only at the point it is at. Fewer passes over
/// memory, and one split between threads instead of several.
struct KernelGroup {
  std::vector<ElementwiseKernel> kernels;
};

struct Statement;

/// Runs `body` for t = 0 .. steps - 1, or downwards when `reverse`.
struct TimeLoop {
  int loop = 0; ///< Numbers this loop's step variable for TimeTerms.
  int64_t steps = 0;
  bool reverse = false;
  std::vector<Statement> body;
};

struct Statement {
  std::variant<TimeLoop, ElementwiseKernel, KernelGroup, Gemm, Copy, Reduce,
               RowKernel, Gather, ScatterAddRows>
      node;
};

/// A whole lowered function: `weft_step(buffers, batch)`.
struct LoweredProgram {
  std::string name;
  std::vector<Buffer> buffers;
  std::vector<Statement> body;
  int loopCount = 0; ///< Time loops are numbered 0 .. loopCount - 1.
};

/// Groups runs of consecutive elementwise kernels that may share one loop
/// nest (FuseKernels.cpp), in every statement list of `program`.
void fuseKernels(LoweredProgram &program);

/// The stable text form of a lowered program (`--emit=lowered`).
std::string printLowered(const LoweredProgram &program);

const char *roleName(BufferRole role);
const char *exprKindName(ExprKind kind);
const char *rowKernelName(RowKernelKind kind);

} // namespace weft::lower
