// The tensor IR: a typed SSA graph of tensor operations, written for one
// example. The batch axis is implicit: a value whose type is `batched` has one
// copy per example, and parameters are shared across the batch. The time loop
// is explicit: a `Scan` op owns a body block that runs once per step, with
// carried state, per-step slices of stacked streams, and captured values.
//
// Sema builds this from the checked AST with every size bound to a number;
// autodiff adds the reverse pass; lowering turns it into kernels and loops.
#pragma once

#include "compiler/support/Diagnostics.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace weft::ir {

/// The model's float type (f32 or f64, chosen when compiling) or int64 ids.
enum class ElementType { Float, Int };

/// The type of a value, per example.
struct Type {
  std::vector<int64_t> shape; ///< Per-example dimensions, outermost first.
  bool batched = true;        ///< One copy per example (else shared).
  /// Zero for an ordinary value. Otherwise the value is a stacked stream of
  /// this many steps; its memory layout is [steps][batch][shape...] (the
  /// batch axis only when batched), time-major as in the conformance files.
  int64_t steps = 0;
  ElementType element = ElementType::Float;

  /// Elements of one step of one example: the product of `shape`.
  int64_t elementCount() const;
  bool isScalar() const { return shape.empty(); }
  bool isStream() const { return steps != 0; }
  /// The type of one step of a stream of this type.
  Type stepType() const;
  /// The stacked stream of `count` steps of this type.
  Type stackedType(int64_t count) const;
  bool operator==(const Type &other) const = default;
};

/// The printed form of a type: `f[3,4]b`, `i[]b`, `f[T=5][3]` (`b` marks a
/// batched value, `T=` a stream's steps).
std::string toString(const Type &type);

enum class OpKind {
  // Leaves.
  Param,    ///< A trainable parameter `name`: unbatched.
  Input,    ///< A model input `name`: batched; a stream if `steps != 0`.
  Constant, ///< `value` in every element of `shape`: unbatched.
  Iota,     ///< Float, unbatched, of `shape` (a stream of `steps` steps when
            ///< `steps` > 0): every element is its index along `axis` of
            ///< the full layout [steps?][shape...], so with `steps` the
            ///< steps axis is axis 0. A constant: it gets no cotangent.

  // Elementwise. Operands have the result's shape, or are scalars (shape
  // []) that broadcast; an unbatched operand broadcasts over the batch. The
  // result is batched when any operand is.
  Neg,
  Add,
  Sub,
  Mul,
  Div,
  Sigmoid,
  Tanh,
  Exp,
  Log,
  Sqrt, ///< √x.
  Abs,  ///< |x|.
  Relu, ///< max(x, 0).
  Pow,  ///< x^y. Its gradient for y is ȳ·log(x)·x^y, so x must be > 0
        ///< wherever y needs a gradient (a constant y gets none).
  // Comparisons: Float 1 where the relation holds, else 0. Operands may be
  // Float or Int (ids are compared as floats); they get no gradient.
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  Equal,
  NotEqual,
  Where, ///< Where(cond, a, b) = cond != 0 ? a : b; cond (Float) gets no
         ///< gradient.

  // Linear algebra.
  MatVec,   ///< A[M, K] @ x[K] -> [M]; with `transpose`, A[K, M]: A^T x.
            ///< A is unbatched; x may be batched.
  OuterSum, ///< a[M], b[K] (both batched) -> [M, K] unbatched: the sum over
            ///< the batch of a b^T. Weight gradients come from this.
  SumBatch, ///< Batched x -> unbatched x summed over the batch, divided by
            ///< the batch size when `mean` is set.
  BroadcastBatch, ///< Unbatched x -> batched copies of x, divided by the
                  ///< batch size when `mean` is set (inverse of SumBatch).
  Einsum, ///< A sum of products over labelled axes; see Op::labels. Covers
          ///< matrix products, transposes, sums over any axes, broadcasting
          ///< over new axes and moving a stream's steps into the shape.

  // Shapes and indexing.
  Slice,    ///< x[begin:end] along per-example axis `axis`.
  PadSlice, ///< Inverse of Slice: g placed at [begin, begin + len) of zeros
            ///< with `end` entries along axis `axis`.
  Concat,   ///< x_1 ... x_n joined along per-example axis `axis`; their
            ///< other axes agree, and so do their steps. The result is
            ///< batched when any operand is (the others broadcast).
  Reshape,  ///< x with per-example shape `shape` (same element count): a
            ///< row-major reinterpretation.
  Gather,   ///< table[V, E] (unbatched), ids (Int, shape S) -> S + [E]:
            ///< out[s] = table[ids[s]].
  ScatterAddRows, ///< g[S + [E]], ids[S] -> [V, E] unbatched, where `end` =
                  ///< V: row ids[s] receives g[s], summed over s and the
                  ///< batch.
  SumAll,         ///< Sum of every element of one example -> shape [].
  Fill,           ///< Scalar s -> s in every element of `shape` (batched as s).

  // Neural network primitives with stable formulas.
  // Row ops work on each row along the last axis; a vector is one row.
  Softmax,        ///< exp(x - max x) / sum exp(x - max x). An optional second
                  ///< operand, a Float mask of x's shape, keeps the entries
                  ///< where it is nonzero: masked entries get exactly 0, and a
                  ///< row with every entry masked is all zeros.
  SoftmaxGrad,    ///< y = Softmax(x), g -> y * (g - sum(g * y)).
  LogSoftmax,     ///< x - logsumexp(x), shifted by the row maximum.
  LogSoftmaxGrad, ///< y = LogSoftmax(x), g -> g - exp(y) * sum(g).
  MaxLast,        ///< The largest entry of each row: shape drops the last
                  ///< axis.
  CrossEntropy,   ///< logits[..., V], target (Int, [...]) -> [...]:
                  ///< logsumexp(row) - row[target].
  CrossEntropyGrad, ///< logits, target, g[...] -> g * (softmax - onehot).

  // Streams and time.
  Scan,        ///< Runs `body` for `steps` steps; see Op.
  StreamAt,    ///< Step `begin` of a stacked stream.
  StreamPlace, ///< Inverse of StreamAt: g at step `begin` of a zero stream
               ///< of `steps` steps.
  SumSteps,    ///< Sum of a stacked stream over its steps.
  StreamFill,  ///< x repeated over `steps` steps (inverse of SumSteps).
  StreamSlice, ///< Steps [begin, end) of a stacked stream.
  StreamPad,   ///< Inverse of StreamSlice: stream g placed at steps
               ///< [begin, begin + g.steps) of a zero stream of `steps`
               ///< steps. The cotangent of a scan's sequence operand.
};

// Streams in ordinary ops. Every op other than Scan and the Stream* ops acts
// step by step on stacked streams: its stream operands have the same number
// of steps and so does its result. Elementwise ops also broadcast a
// non-stream operand over the steps; the other ops take streams only in
// their per-example operands (not MatVec's matrix nor Gather's table).
// OuterSum and ScatterAddRows also sum over the steps. OuterSum accepts two
// unbatched operands too (then it is the plain outer product). Einsum names
// the steps axis explicitly in its labels instead.

const char *opName(OpKind kind);

/// Whether each result element depends only on the same element (after
/// broadcasting) of the operands: Neg through Where.
inline bool isElementwise(OpKind kind) {
  return kind >= OpKind::Neg && kind <= OpKind::Where;
}
/// Less through NotEqual.
inline bool isComparison(OpKind kind) {
  return kind >= OpKind::Less && kind <= OpKind::NotEqual;
}

/// The label of the batch axis in an Einsum's labels.
constexpr char einsumBatchLabel = 'B';

class Op;
class Block;

/// An SSA value: a result of an op or an argument of a block.
class Value {
public:
  Type type;
  Op *definingOp = nullptr;    ///< Null for block arguments.
  Block *ownerBlock = nullptr; ///< The block this is an argument of.
  unsigned index = 0;          ///< Result or argument position.
  unsigned id = 0;             ///< Unique within a function, for printing.
  std::string hint;            ///< Source name, for readable dumps.
};

/// A straight-line list of ops. A scan body has arguments and yields.
class Block {
public:
  std::vector<std::unique_ptr<Value>> arguments;
  std::vector<std::unique_ptr<Op>> ops;
  std::vector<Value *> yields;
  Op *parentOp = nullptr; ///< The Scan that owns this block, if any.
};

/// One operation.
///
/// Scan layout. Operands: `numCarries` initial carries, then
/// `numSequences` stacked streams, then captured values. Body arguments, in
/// the same order: the carry entering step t, sequence i at step
/// t + sequenceOffsets[i], and the captured values. Body yields: the carry
/// leaving step t, then per-step outputs. Results: the carries after the
/// last step, then each per-step output stacked over all steps. A `reverse`
/// scan runs t = steps - 1 down to 0.
class Op {
public:
  OpKind kind;
  std::vector<Value *> operands;
  std::vector<std::unique_ptr<Value>> results;
  SourceRange range; ///< The source this op came from, when there is one.

  // Attributes; which ones apply depends on `kind`.
  std::string name;           ///< Param, Input
  double value = 0;           ///< Constant
  std::vector<int64_t> shape; ///< Param, Constant, Fill, Reshape, Einsum, Iota
  int64_t begin = 0;          ///< Slice, PadSlice, StreamAt/Place/Slice/Pad
  int64_t end = 0;            ///< Slice, PadSlice, ScatterAddRows, StreamSlice
  unsigned axis = 0; ///< Slice, PadSlice, Concat: per-example; Iota: layout
  /// Einsum: one string per operand, then the result's. Each labels every
  /// axis of the value's full layout, one char per axis in layout order:
  /// the steps axis of a stream, then the batch axis of a batched value
  /// (always `B`, which labels nothing else), then the shape's axes. The
  /// result, a stream of `steps` steps when `steps` > 0 with per-example
  /// shape `shape`, is at each index the sum, over the labels it lacks, of
  /// the product of the operands there. A label has one size wherever it
  /// occurs; one only in the result broadcasts.
  std::vector<std::string> labels;
  bool transpose = false;  ///< MatVec
  bool mean = false;       ///< SumBatch
  int64_t steps = 0;       ///< Scan, StreamPlace, StreamFill, StreamPad, Einsum
  bool reverse = false;    ///< Scan
  unsigned numCarries = 0; ///< Scan
  unsigned numSequences = 0;            ///< Scan
  std::vector<int64_t> sequenceOffsets; ///< Scan
  std::unique_ptr<Block> body;          ///< Scan

  Value *result(unsigned i = 0) const { return results[i].get(); }
  unsigned numCaptures() const {
    return operands.size() - numCarries - numSequences;
  }
};

/// A named value a function gives back to its caller.
struct NamedValue {
  std::string name;
  Value *value;
};

/// A whole program for one model: the forward pass, and after autodiff the
/// gradients too. Leaves (Param, Input) are ops of the top-level block.
class Function {
public:
  std::string name;
  Block body;
  /// Forward outputs in declaration order, then `loss` (an unbatched
  /// scalar), then after autodiff `grad_<name>` for every parameter and
  /// every float input.
  std::vector<NamedValue> outputs;

  /// Allocates a value id, unique in this function.
  unsigned nextId() { return valueCount++; }
  Value *findOutput(const std::string &name) const;

private:
  unsigned valueCount = 0;
};

/// Appends ops to a block, computing result types.
class Builder {
public:
  Builder(Function &function, Block &block)
      : function(function), block(&block) {}

  void setBlock(Block &target) { block = &target; }
  Block &currentBlock() { return *block; }

  Value *param(const std::string &name, std::vector<int64_t> shape);
  Value *input(const std::string &name, Type type);
  Value *constant(double value, std::vector<int64_t> shape = {});
  /// An unbatched Float value of `shape` (a stream of `steps` steps when
  /// `steps` > 0) holding at each element its index along `axis` of the
  /// full layout: with steps, axis 0 is the steps axis and the shape's axes
  /// follow. iota({3, 4}, 1) has rows [0, 1, 2, 3]; iota({}, 0, 7) is the
  /// step number 0..6 of a 7-step scan, read as a sequence.
  Value *iota(std::vector<int64_t> shape, unsigned axis, int64_t steps = 0);
  Value *unary(OpKind kind, Value *x);
  Value *binary(OpKind kind, Value *lhs, Value *rhs);
  Value *matVec(Value *matrix, Value *vector, bool transpose = false);
  Value *outerSum(Value *lhs, Value *rhs);
  Value *sumBatch(Value *x, bool mean);
  Value *broadcastBatch(Value *x, bool mean);
  /// Where(cond, a, b): a where cond != 0, else b.
  Value *where(Value *cond, Value *a, Value *b);
  /// An Einsum (see Op::labels): `labels` has one string per operand, then
  /// the result's; the result has `resultShape` and, when `resultSteps` >
  /// 0, that many steps.
  Value *einsum(std::vector<Value *> operands, std::vector<std::string> labels,
                std::vector<int64_t> resultShape, int64_t resultSteps = 0);
  Value *slice(Value *x, int64_t begin, int64_t end, unsigned axis = 0);
  Value *padSlice(Value *g, int64_t begin, int64_t fullLength,
                  unsigned axis = 0);
  /// `parts` joined along per-example axis `axis`.
  Value *concat(std::vector<Value *> parts, unsigned axis = 0);
  Value *reshape(Value *x, std::vector<int64_t> shape);
  Value *gather(Value *table, Value *ids);
  Value *scatterAddRows(Value *g, Value *ids, int64_t rows);
  Value *sumAll(Value *x);
  Value *fill(Value *scalar, std::vector<int64_t> shape);
  /// Softmax over the last axis; `mask` (x's shape, Float) keeps the
  /// entries where it is nonzero.
  Value *softmax(Value *x, Value *mask = nullptr);
  Value *softmaxGrad(Value *y, Value *g);
  Value *logSoftmax(Value *x);
  Value *logSoftmaxGrad(Value *y, Value *g);
  /// The largest entry along the last axis.
  Value *maxLast(Value *x);
  Value *crossEntropy(Value *logits, Value *target);
  Value *crossEntropyGrad(Value *logits, Value *target, Value *g);
  Value *streamAt(Value *stream, int64_t step);
  Value *streamPlace(Value *g, int64_t step, int64_t steps);
  Value *sumSteps(Value *stream);
  Value *streamFill(Value *x, int64_t steps);
  Value *streamSlice(Value *stream, int64_t begin, int64_t end);
  Value *streamPad(Value *g, int64_t begin, int64_t steps);

  /// Creates a Scan with an empty body whose arguments are typed from the
  /// operands; the caller fills the body and then calls finishScan.
  Op *beginScan(int64_t steps, bool reverse, std::vector<Value *> carries,
                std::vector<Value *> sequences, std::vector<int64_t> offsets,
                std::vector<Value *> captures);
  /// Sets the body's yields and creates the scan's results.
  void finishScan(Op *scan, std::vector<Value *> nextCarries,
                  std::vector<Value *> stepOutputs);

  /// Appends an op of any kind with explicit result types.
  Op *create(OpKind kind, std::vector<Value *> operands,
             std::vector<Type> resultTypes);

  SourceRange range; ///< Attached to every op created while set.

private:
  Value *single(OpKind kind, std::vector<Value *> operands, Type type);

  Function &function;
  Block *block;
};

/// Prints the function in a stable text form (`--emit=ir`).
std::string print(const Function &function);
/// Checks structural invariants (operand types, scan layout). Returns an
/// empty string when the function is well formed, else the first problem.
std::string verify(const Function &function);

} // namespace weft::ir
