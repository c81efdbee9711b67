// Every non-Scan IR op, JIT-compiled and compared with the interpreter, in
// f64 and f32, for batch sizes 1 and 3; also the same ops on streams.
#include "CodegenTestSupport.h"

#include <gmock/gmock.h>

namespace weft::codegen::testing {
namespace {

using ir::OpKind;
using ir::Type;

Type batched(std::vector<int64_t> shape, int64_t steps = 0) {
  return Type{std::move(shape), true, steps, ir::ElementType::Float};
}

Type ids(int64_t steps = 0, std::vector<int64_t> shape = {}) {
  return Type{std::move(shape), true, steps, ir::ElementType::Int};
}

/// A function under construction with a builder on its top-level block.
struct Program {
  ir::Function function;
  ir::Builder builder{function, function.body};

  Program() { function.name = "test"; }

  void output(const std::string &name, ir::Value *value) {
    function.outputs.push_back({name, value});
  }
};

using Elementwise = CodegenTest;

TEST_P(Elementwise, ArithmeticWithBroadcasting) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({4}));
  ir::Value *y = b.input("y", batched({4}));
  ir::Value *w = b.param("w", {4});
  ir::Value *two = b.constant(2.0);
  p.output("neg", b.unary(OpKind::Neg, x));
  p.output("add", b.binary(OpKind::Add, x, w));
  p.output("sub", b.binary(OpKind::Sub, w, y));
  p.output("mul", b.binary(OpKind::Mul, x, two));
  ir::Value *positive =
      b.binary(OpKind::Add, b.binary(OpKind::Mul, y, y), b.constant(0.5));
  p.output("div", b.binary(OpKind::Div, x, positive));
  p.output("sigmoid", b.unary(OpKind::Sigmoid, b.binary(OpKind::Mul, x, w)));
  p.output("tanh", b.unary(OpKind::Tanh, x));
  p.output("exp", b.unary(OpKind::Exp, x));
  ir::Value *shifted = b.binary(OpKind::Add, w, b.constant(1.0, {4}));
  p.output("log", b.unary(OpKind::Log, b.binary(OpKind::Add, shifted,
                                                b.unary(OpKind::Exp, y))));
  check(p.function);
}

TEST_P(Elementwise, FusedChainWithSharedValues) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({3, 2}));
  ir::Value *w = b.param("w", {3, 2});
  ir::Value *shared = b.binary(OpKind::Mul, x, w); // used twice
  ir::Value *chain = b.unary(
      OpKind::Tanh, b.binary(OpKind::Add, shared, b.constant(0.25, {3, 2})));
  p.output("chain", b.binary(OpKind::Sub, chain, shared));
  p.output("unbatched", b.unary(OpKind::Exp, b.unary(OpKind::Neg, w)));
  check(p.function);
}

// A chain read only by a sum over each example's elements is summed as it
// is computed: one kernel, with the elements as its reduction dimension.
TEST_P(Elementwise, ChainSummedInPlace) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({3, 2}));
  ir::Value *xs = b.input("xs", batched({4}, 3));
  ir::Value *w = b.param("w", {3, 2});
  p.output("batched",
           b.sumAll(b.unary(OpKind::Tanh, b.binary(OpKind::Mul, x, w))));
  p.output("unbatched", b.sumAll(b.unary(OpKind::Neg, w)));
  p.output("stream", b.sumAll(b.binary(OpKind::Mul, xs, xs)));
  check(p.function);
}

TEST_P(Elementwise, ConstantFillAndBatchOps) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({3}));
  ir::Value *w = b.param("w", {3});
  p.output("constant", b.constant(1.5, {2, 2}));
  p.output("fill", b.fill(b.sumAll(x), {2}));
  p.output("fill_unbatched", b.fill(b.constant(-0.5), {3}));
  p.output("broadcast", b.broadcastBatch(w, false));
  p.output("broadcast_mean", b.broadcastBatch(w, true));
  p.output("sum_batch", b.sumBatch(x, false));
  p.output("mean_batch", b.sumBatch(b.binary(OpKind::Mul, x, x), true));
  p.output("sum_all", b.sumAll(x));
  p.output("sum_all_unbatched", b.sumAll(w));
  check(p.function);
}

TEST_P(Elementwise, SqrtAbsReluAndPow) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({5}));
  ir::Value *y = b.input("y", batched({5}));
  ir::Value *w = b.param("w", {5});
  ir::Value *positive =
      b.binary(OpKind::Add, b.unary(OpKind::Abs, x), b.constant(0.5));
  p.output("sqrt", b.unary(OpKind::Sqrt, positive));
  p.output("abs", b.unary(OpKind::Abs, b.binary(OpKind::Sub, x, w)));
  p.output("relu", b.unary(OpKind::Relu, b.binary(OpKind::Mul, x, w)));
  p.output("pow", b.binary(OpKind::Pow, positive, y));
  p.output("square", b.binary(OpKind::Pow, x, b.constant(2)));
  p.output("relu_unbatched", b.unary(OpKind::Relu, w));
  check(p.function);
}

TEST_P(Elementwise, ComparisonsAndWhere) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({4}));
  ir::Value *w = b.param("w", {4});
  ir::Value *token = b.input("token", ids());
  for (OpKind kind : {OpKind::Less, OpKind::LessEqual, OpKind::Greater,
                      OpKind::GreaterEqual, OpKind::Equal, OpKind::NotEqual})
    p.output(ir::opName(kind), b.binary(kind, x, w));
  p.output("equal_self", b.binary(OpKind::Equal, x, x));
  ir::Value *keep = b.binary(OpKind::NotEqual, token, b.constant(0));
  p.output("token_kept", keep);
  p.output("token_scaled", b.binary(OpKind::Mul, keep, x));
  ir::Value *larger = b.binary(OpKind::Greater, x, w);
  p.output("where", b.where(larger, x, b.unary(OpKind::Neg, w)));
  p.output("where_scalar", b.where(larger, b.constant(1), b.constant(-1)));
  check(p.function, 3);
}

WEFT_CODEGEN_TEST_SUITE(Elementwise);

using Einsum = CodegenTest;

/// Matrix products (lowered to GEMMs) and the general loop nest: sums,
/// transposes, broadcasts, streams moved into the shape and back.
TEST_P(Einsum, EveryForm) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *w = b.param("W", {4, 3});
  ir::Value *x = b.input("x", batched({3}));
  ir::Value *m = b.input("M", batched({2, 3}));
  ir::Value *g = b.input("g", batched({4}, 5));
  ir::Value *xs = b.input("xs", batched({3}, 5));
  ir::Value *v = b.param("v", {3});
  p.output("matvec", b.einsum({w, x}, {"ki", "Bi", "Bk"}, {4}));
  p.output("batched_matvec", b.einsum({m, x}, {"Bsh", "Bh", "Bs"}, {2}));
  p.output("weight_gradient", b.einsum({g, xs}, {"TBk", "TBi", "ki"}, {4, 3}));
  p.output("unbatched_matvec", b.einsum({w, v}, {"ki", "i", "k"}, {4}));
  p.output("matrix_product", b.einsum({m, w}, {"Bij", "kj", "Bik"}, {2, 4}));
  p.output("outer", b.einsum({x, x}, {"Bi", "Bj", "Bij"}, {3, 3}));
  p.output("dot", b.einsum({x, v}, {"Bi", "i", "B"}, {}));
  p.output("transpose", b.einsum({m}, {"Bij", "Bji"}, {3, 2}));
  p.output("sum_over_batch", b.einsum({m}, {"Bij", "i"}, {2}));
  p.output("broadcast", b.einsum({x}, {"Bk", "Bks"}, {3, 2}));
  p.output("broadcast_batch", b.einsum({v}, {"i", "Bi"}, {3}));
  ir::Value *matrix = b.einsum({xs}, {"TBh", "BTh"}, {5, 3});
  p.output("stream_to_matrix", matrix);
  p.output("matrix_to_stream", b.einsum({matrix}, {"BTh", "TBh"}, {3}, 5));
  p.output("three_operands",
           b.einsum({x, w, g}, {"Bi", "ki", "TBk", "TB"}, {}, 5));
  check(p.function);
}

WEFT_CODEGEN_TEST_SUITE(Einsum);

using LinearAlgebra = CodegenTest;

TEST_P(LinearAlgebra, MatVecAndOuterSum) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({3}));
  ir::Value *g = b.input("g", batched({4}));
  ir::Value *a = b.param("A", {4, 3});
  ir::Value *v = b.param("v", {4});
  p.output("matvec", b.matVec(a, x));
  p.output("matvec_t", b.matVec(a, g, true));
  p.output("matvec_unbatched", b.matVec(a, v, true));
  p.output("outer_sum", b.outerSum(g, x));
  p.output("outer_product", b.outerSum(v, b.param("u", {3})));
  check(p.function);
}

WEFT_CODEGEN_TEST_SUITE(LinearAlgebra);

using Indexing = CodegenTest;

TEST_P(Indexing, SliceAndPadSlice) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({5, 2}));
  ir::Value *w = b.param("w", {4});
  p.output("slice", b.slice(x, 1, 4));
  p.output("pad", b.padSlice(b.slice(x, 2, 3), 3, 6));
  p.output("slice_unbatched", b.slice(w, 0, 2));
  p.output("pad_unbatched", b.padSlice(w, 1, 5));
  check(p.function);
}

TEST_P(Indexing, GatherAndScatterAddRows) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *table = b.param("table", {5, 3});
  ir::Value *id = b.input("id", ids());
  ir::Value *g = b.input("g", batched({3}));
  p.output("gather", b.gather(table, id));
  p.output("scatter", b.scatterAddRows(g, id, 5));
  p.output("id_copy", id);
  check(p.function, 5);
}

TEST_P(Indexing, SlicesAlongAnyAxisAndReshape) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({2, 5, 3}));
  ir::Value *w = b.param("w", {3, 4});
  p.output("slice_axis1", b.slice(x, 1, 4, 1));
  p.output("slice_axis2", b.slice(x, 2, 3, 2));
  p.output("pad_axis1", b.padSlice(b.slice(x, 1, 3, 1), 2, 6, 1));
  p.output("slice_unbatched", b.slice(w, 1, 3, 1));
  p.output("pad_unbatched", b.padSlice(w, 1, 6, 1));
  p.output("reshape", b.reshape(x, {5, 6}));
  p.output("reshape_stream", b.reshape(b.input("xs", batched({2, 2}, 3)), {4}));
  check(p.function);
}

// Parts computed straight into their regions (a fused chain, a slice read
// in place), an unbatched part broadcast, streams, and a second axis.
TEST_P(Indexing, Concat) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({4, 3}));
  ir::Value *w = b.param("w", {2, 3});
  ir::Value *xs = b.input("xs", batched({2}, 3));
  ir::Value *tanhX = b.unary(ir::OpKind::Tanh, x);
  p.output("rows", b.concat({tanhX, w, b.slice(x, 1, 3)}));
  p.output("columns", b.concat({x, b.slice(x, 0, 4)}, 1));
  p.output("unbatched", b.concat({w, w}));
  p.output("streams",
           b.concat({xs, b.unary(ir::OpKind::Neg, xs), b.slice(xs, 0, 1)}));
  check(p.function);
}

TEST_P(Indexing, GatherAndScatterWithIdArrays) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *table = b.param("table", {5, 3});
  ir::Value *vector = b.input("vector", ids(0, {4}));
  ir::Value *matrix = b.input("matrix", ids(2, {2, 2}));
  p.output("gather_vector", b.gather(table, vector));
  p.output("gather_matrix", b.gather(table, matrix));
  p.output("scatter_vector",
           b.scatterAddRows(b.input("g", batched({4, 3})), vector, 5));
  p.output("scatter_matrix",
           b.scatterAddRows(b.input("gs", batched({2, 2, 3}, 2)), matrix, 5));
  check(p.function, 5);
}

WEFT_CODEGEN_TEST_SUITE(Indexing);

using NetworkOps = CodegenTest;

TEST_P(NetworkOps, SoftmaxAndCrossEntropy) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *logits =
      b.binary(OpKind::Mul, b.input("logits", batched({6})), b.constant(8.0));
  ir::Value *target = b.input("target", ids());
  ir::Value *g = b.input("g", batched({6}));
  ir::Value *y = b.softmax(logits);
  p.output("softmax", y);
  p.output("softmax_grad", b.softmaxGrad(y, g));
  p.output("softmax_unbatched", b.softmax(b.param("w", {2, 3})));
  ir::Value *loss = b.crossEntropy(logits, target);
  p.output("cross_entropy", loss);
  p.output("cross_entropy_grad",
           b.crossEntropyGrad(logits, target, b.fill(b.constant(0.5), {})));
  p.output("loss", b.sumBatch(loss, true));
  check(p.function, 6);
}

/// Softmax over the last axis of a matrix, with a mask that leaves one row
/// empty, and logits of magnitude 1e4.
TEST_P(NetworkOps, RowsAndMaskedSoftmax) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({3, 4}));
  ir::Value *huge = b.binary(OpKind::Mul, x, b.constant(1e4));
  ir::Value *keep = b.binary(OpKind::Greater, b.input("keep", batched({3, 4})),
                             b.constant(-0.5));
  // Rows 0 and 1 of the unbatched mask are kept, row 2 is masked entirely.
  ir::Value *shared = b.padSlice(b.constant(1, {2, 4}), 0, 3);
  p.output("softmax_rows", b.softmax(x));
  p.output("softmax_huge", b.softmax(huge));
  p.output("masked", b.softmax(huge, keep));
  p.output("masked_empty_row", b.softmax(x, shared));
  ir::Value *y = b.softmax(x, keep);
  p.output("masked_grad", b.softmaxGrad(y, b.input("g", batched({3, 4}))));
  check(p.function);
}

TEST_P(NetworkOps, LogSoftmaxMaxAndCrossEntropyRows) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({2, 5}));
  ir::Value *g = b.input("g", batched({2, 5}));
  ir::Value *target = b.input("target", ids(0, {2}));
  ir::Value *y = b.logSoftmax(b.binary(OpKind::Mul, x, b.constant(1e4)));
  p.output("log_softmax_huge", y);
  ir::Value *small = b.logSoftmax(x);
  p.output("log_softmax", small);
  p.output("log_softmax_grad", b.logSoftmaxGrad(small, g));
  p.output("log_softmax_vector", b.logSoftmax(b.param("w", {4})));
  p.output("max_rows", b.maxLast(x));
  p.output("max_vector", b.maxLast(b.param("u", {3})));
  p.output("cross_entropy_rows", b.crossEntropy(x, target));
  p.output("cross_entropy_grad_rows",
           b.crossEntropyGrad(x, target, b.input("seed", batched({2}))));
  check(p.function, 5);
}

WEFT_CODEGEN_TEST_SUITE(NetworkOps);

using Streams = CodegenTest;

TEST_P(Streams, StreamOps) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *xs = b.input("xs", batched({3}, 4));
  ir::Value *w = b.param("w", {3});
  p.output("at", b.streamAt(xs, 2));
  p.output("place", b.streamPlace(b.streamAt(xs, 1), 3, 5));
  p.output("sum_steps", b.sumSteps(xs));
  p.output("fill", b.streamFill(w, 3));
  p.output("fill_batched", b.streamFill(b.streamAt(xs, 0), 2));
  p.output("slice", b.streamSlice(xs, 1, 3));
  p.output("pad", b.streamPad(b.streamSlice(xs, 1, 3), 2, 6));
  check(p.function);
}

TEST_P(Streams, StepwiseOpsOnStreams) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *xs = b.input("xs", batched({3}, 4));
  ir::Value *gs = b.input("gs", batched({2}, 4));
  ir::Value *targets = b.input("targets", ids(4));
  ir::Value *a = b.param("A", {2, 3});
  ir::Value *w = b.param("w", {3});
  ir::Value *hs = b.matVec(a, xs);
  p.output("matvec", hs);
  p.output("outer_sum", b.outerSum(gs, xs));
  p.output("elementwise", b.unary(OpKind::Tanh, b.binary(OpKind::Add, xs, w)));
  p.output("sum_batch", b.sumBatch(xs, true));
  p.output("sum_all", b.sumAll(xs));
  p.output("softmax", b.softmax(hs));
  p.output("slice", b.slice(xs, 1, 3));
  p.output("cross_entropy", b.crossEntropy(hs, targets));
  p.output("gather", b.gather(b.param("table", {2, 3}), targets));
  p.output("scatter", b.scatterAddRows(xs, targets, 2));
  check(p.function, 2);
}

/// Unbatched streams and operands that broadcast into batched results.
TEST_P(Streams, UnbatchedStreamsAndMixedBatching) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *xs = b.input("xs", batched({3}, 2));
  ir::Value *target = b.input("target", ids());
  ir::Value *w = b.param("w", {3});
  ir::Value *a = b.param("A", {3, 3});
  ir::Value *us = b.streamFill(w, 2); // unbatched stream
  p.output("broadcast", b.broadcastBatch(us, true));
  p.output("fill", b.fill(b.sumAll(xs), {2}));
  p.output("sum_all", b.sumAll(us));
  p.output("matvec", b.matVec(a, us, true));
  p.output("outer", b.outerSum(us, b.unary(OpKind::Exp, us)));
  ir::Value *y = b.softmax(w);
  p.output("softmax_grad", b.softmaxGrad(y, b.streamAt(xs, 1)));
  p.output("cross_entropy", b.crossEntropy(w, target));
  p.output("cross_entropy_grad",
           b.crossEntropyGrad(w, target, b.sumAll(b.streamAt(xs, 0))));
  p.output("mixed", b.binary(OpKind::Mul, xs, us));
  check(p.function, 3);
}

WEFT_CODEGEN_TEST_SUITE(Streams);

using Iota = CodegenTest;

/// Iota along each axis of its layout, the steps axis included, and read
/// by elementwise ops of other batching, shapes and steps.
TEST_P(Iota, EveryAxis) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({3}));
  ir::Value *xs = b.input("xs", batched({2}, 3));
  p.output("vector", b.iota({5}, 0));
  p.output("rows", b.iota({3, 4}, 0));
  p.output("columns", b.iota({3, 4}, 1));
  p.output("middle", b.iota({2, 3, 4}, 1));
  p.output("steps", b.iota({}, 0, 7));
  p.output("stream_steps", b.iota({2}, 0, 3));
  p.output("stream_shape", b.iota({2}, 1, 3));
  p.output("scaled", b.binary(OpKind::Mul, b.iota({3}, 0), x));
  p.output("stream_sum", b.binary(OpKind::Add, xs, b.iota({2}, 0, 3)));
  p.output("summed", b.sumAll(b.iota({2, 3, 4}, 2)));
  check(p.function);
}

/// Index comparisons as masks: the lower triangle `b <= a` chooses between
/// values, and a batched input compared with the position keeps a prefix.
TEST_P(Iota, ComparisonFeedsWhere) {
  Program p;
  ir::Builder &b = p.builder;
  ir::Value *x = b.input("x", batched({4, 4}));
  ir::Value *length = b.input("length", batched({}));
  ir::Value *w = b.param("w", {4});
  ir::Value *lower =
      b.binary(OpKind::LessEqual, b.iota({4, 4}, 1), b.iota({4, 4}, 0));
  p.output("mask", lower);
  p.output("masked", b.where(lower, x, b.constant(-1)));
  ir::Value *scaledLength = b.binary(
      OpKind::Mul, b.binary(OpKind::Add, length, b.constant(1)), b.constant(2));
  ir::Value *prefix = b.binary(OpKind::Less, b.iota({4}, 0), scaledLength);
  p.output("prefix", b.where(prefix, w, b.constant(0)));
  p.output("softmax", b.softmax(x, lower));
  check(p.function);
}

/// The step number as a sequence (at an offset, and over more steps than
/// the scan), and an iota inside the body that is also a per-step output.
TEST_P(Iota, StepNumberInsideScan) {
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    Program p;
    ir::Builder &b = p.builder;
    ir::Value *xs = b.input("xs", batched({3}, 5));
    ir::Value *h0 = b.input("h0", batched({3}));
    ir::Value *w = b.param("w", {3});
    ir::Value *steps = b.iota({}, 0, 5);
    ir::Value *later = b.iota({}, 0, 6);
    ir::Op *scan =
        b.beginScan(5, reverse, {h0}, {xs, steps, later}, {0, 0, 1}, {w});
    ir::Block &body = *scan->body;
    b.setBlock(body);
    ir::Value *h = body.arguments[0].get();
    ir::Value *t = body.arguments[2].get();
    ir::Value *scale = b.binary(OpKind::Div, t, b.constant(5));
    ir::Value *positions = b.iota({3}, 0);
    ir::Value *weighted = b.binary(OpKind::Mul, body.arguments[4].get(),
                                   b.binary(OpKind::Mul, positions, scale));
    ir::Value *next = b.unary(
        OpKind::Tanh, b.binary(OpKind::Add, b.binary(OpKind::Mul, h, weighted),
                               body.arguments[1].get()));
    ir::Value *isLast =
        b.binary(OpKind::Equal, body.arguments[3].get(), b.constant(5));
    b.finishScan(scan, {next}, {next, positions, t, isLast});
    b.setBlock(p.function.body);
    p.output("h_last", scan->result(0));
    p.output("hs", scan->result(1));
    p.output("positions", scan->result(2));
    p.output("ts", scan->result(3));
    p.output("is_last", scan->result(4));
    check(p.function);
  }
}

/// An iota is its own kernel, whose body is the loop index of its axis.
TEST_P(Iota, LowersToALoopIndex) {
  Program p;
  ir::Builder &b = p.builder;
  p.output("columns", b.iota({3, 4}, 1));
  p.output("steps", b.iota({2}, 0, 3));
  std::string error;
  auto executable = Executable::compile(p.function, {floatType(), 2}, &error);
  ASSERT_TRUE(executable) << error;
  std::string lowered = executable->loweredText();
  EXPECT_THAT(lowered,
              ::testing::HasSubstr("elementwise iota [3, 4]: #0[4*i0 + i1] "
                                   "= i1"));
  EXPECT_THAT(lowered, ::testing::HasSubstr(
                           "elementwise iota [3, 2]: #1[2*i0 + i1] = i0"));
}

WEFT_CODEGEN_TEST_SUITE(Iota);

} // namespace
} // namespace weft::codegen::testing
