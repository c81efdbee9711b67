// Every non-Scan IR op, JIT-compiled and compared with the interpreter, in
// f64 and f32, for batch sizes 1 and 3; also the same ops on streams.
#include "CodegenTestSupport.h"

namespace weft::codegen::testing {
namespace {

using ir::OpKind;
using ir::Type;

Type batched(std::vector<int64_t> shape, int64_t steps = 0) {
  return Type{std::move(shape), true, steps, ir::ElementType::Float};
}

Type ids(int64_t steps = 0) {
  return Type{{}, true, steps, ir::ElementType::Int};
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

WEFT_CODEGEN_TEST_SUITE(Elementwise);

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

} // namespace
} // namespace weft::codegen::testing
