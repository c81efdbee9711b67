// Finite-difference tests of the Scan derivative rule (tape and reverse
// scan), from a single running sum up to hand-built Elman and LSTM networks.
#include "GradientCheck.h"

#include <gtest/gtest.h>

using namespace weft::ir;
using weft::autodiff::testing::GradientCheck;

namespace {

Value *argument(Op *scan, unsigned i) { return scan->body->arguments[i].get(); }

/// h' = tanh(W h + U x[t + offset]) with captures W and U; stacks h'. The
/// sequence has `extraSteps` steps beyond those the scan reads.
Op *buildTanhScan(GradientCheck &check, bool reverse, int64_t offset,
                  int64_t extraSteps = 0) {
  Builder &builder = check.builder;
  Value *w = check.param("W", {3, 3});
  Value *u = check.param("U", {3, 2});
  Value *xs = check.input("xs", {2}, 4 + offset + extraSteps);
  Value *h0 = check.input("h0", {3});
  Op *scan = builder.beginScan(4, reverse, {h0}, {xs}, {offset}, {w, u});
  builder.setBlock(*scan->body);
  Value *recurrent = builder.matVec(argument(scan, 2), argument(scan, 0));
  Value *projected = builder.matVec(argument(scan, 3), argument(scan, 1));
  Value *next = builder.unary(
      OpKind::Tanh, builder.binary(OpKind::Add, recurrent, projected));
  builder.setBlock(check.function.body);
  builder.finishScan(scan, {next}, {next});
  return scan;
}

/// Loss: Σ probe·final carry + Σ probe·stacked outputs.
void lossOfBothResults(GradientCheck &check, Op *scan) {
  Value *final = check.builder.sumAll(scan->result(0));
  Value *stacked = check.builder.sumAll(scan->result(1));
  Value *total =
      check.builder.binary(OpKind::Add, final, check.builder.sumSteps(stacked));
  check.setWeightedLoss(total);
}

/// Einsums in a body: h' = tanh(W x[t] + (h hᵀ) h), stacking softmax(h').
TEST(ScanGradientTest, EinsumInBody) {
  GradientCheck check;
  Builder &builder = check.builder;
  Value *w = check.param("W", {3, 2});
  Value *xs = check.input("xs", {2}, 3);
  Value *h0 = check.input("h0", {3});
  Op *scan = builder.beginScan(3, false, {h0}, {xs}, {0}, {w});
  builder.setBlock(*scan->body);
  Value *h = argument(scan, 0);
  Value *projected = builder.einsum({argument(scan, 2), argument(scan, 1)},
                                    {"ki", "Bi", "Bk"}, {3});
  Value *pairs = builder.einsum({h, h}, {"Bi", "Bj", "Bij"}, {3, 3});
  Value *mixed = builder.einsum({pairs, h}, {"Bij", "Bj", "Bi"}, {3});
  Value *next = builder.unary(OpKind::Tanh,
                              builder.binary(OpKind::Add, projected, mixed));
  Value *probabilities = builder.softmax(next);
  builder.setBlock(check.function.body);
  builder.finishScan(scan, {next}, {probabilities});
  check.setWeightedLoss(scan->result(1));
  check.check();
}

TEST(ScanGradientTest, ForwardScanWithOffsetCapturesAndOutputs) {
  GradientCheck check;
  lossOfBothResults(check, buildTanhScan(check, false, 1));
  check.check();
}

TEST(ScanGradientTest, ReverseScanWithOffsetCapturesAndOutputs) {
  GradientCheck check;
  lossOfBothResults(check, buildTanhScan(check, true, 1));
  check.check();
}

TEST(ScanGradientTest, SequenceLongerThanTheScan) {
  GradientCheck check;
  lossOfBothResults(check, buildTanhScan(check, false, 2, 3));
  check.check();
}

TEST(ScanGradientTest, OnlyFinalCarryReachesLoss) {
  GradientCheck check;
  Op *scan = buildTanhScan(check, false, 0);
  check.setWeightedLoss(scan->result(0));
  check.check();
}

TEST(ScanGradientTest, OnlyStepOutputsReachLoss) {
  GradientCheck check;
  Op *scan = buildTanhScan(check, true, 0);
  check.setWeightedLoss(scan->result(1));
  check.check();
}

TEST(ScanGradientTest, ReverseScanIsBuiltAndForwardGainsTape) {
  GradientCheck check;
  Op *scan = buildTanhScan(check, false, 1);
  check.setWeightedLoss(scan->result(1));
  check.check();
  ASSERT_EQ(scan->results.size(), 3u);
  EXPECT_EQ(scan->result(2)->type, scan->result(0)->type.stackedType(4));
  unsigned reverseScans = 0;
  for (const auto &op : check.function.body.ops)
    reverseScans += op->kind == OpKind::Scan && op->reverse;
  EXPECT_EQ(reverseScans, 1u);
}

// The reverse sweep reads the forward activations from tapes: its body has
// neither the forward product W h nor the tanh, only their derivatives.
TEST(ScanGradientTest, ReverseSweepReadsTapedActivations) {
  GradientCheck check;
  Op *scan = buildTanhScan(check, false, 0);
  check.setWeightedLoss(scan->result(0));
  check.check();
  const Op *reverse = nullptr;
  for (const auto &op : check.function.body.ops)
    if (op->kind == OpKind::Scan && op->reverse)
      reverse = op.get();
  ASSERT_NE(reverse, nullptr);
  for (const auto &op : reverse->body->ops) {
    EXPECT_NE(op->kind, OpKind::Tanh);
    EXPECT_FALSE(op->kind == OpKind::MatVec && !op->transpose)
        << "a forward product is recomputed";
  }
}

// The step number read as a sequence (an Iota stream): h' = tanh(w h +
// x[t] t / 4) until t < 2 fails, then h' = h. Its cotangent stops at the
// Iota; h0, w and x get theirs.
TEST(ScanGradientTest, StepNumberAsSequence) {
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "reverse" : "forward");
    GradientCheck check;
    Builder &builder = check.builder;
    Value *w = check.param("w", {3});
    Value *xs = check.input("xs", {3}, 4);
    Value *h0 = check.input("h0", {3});
    Value *steps = builder.iota({}, 0, 4);
    Op *scan = builder.beginScan(4, reverse, {h0}, {xs, steps}, {0, 0}, {w});
    builder.setBlock(*scan->body);
    Value *h = argument(scan, 0);
    Value *t = argument(scan, 2);
    Value *scaled =
        builder.binary(OpKind::Mul, argument(scan, 1),
                       builder.binary(OpKind::Div, t, builder.constant(4)));
    Value *updated = builder.unary(
        OpKind::Tanh,
        builder.binary(OpKind::Add,
                       builder.binary(OpKind::Mul, argument(scan, 3), h),
                       scaled));
    Value *early = builder.binary(OpKind::Less, t, builder.constant(2));
    Value *next = builder.where(early, updated, h);
    builder.setBlock(check.function.body);
    builder.finishScan(scan, {next}, {next});
    lossOfBothResults(check, scan);
    check.check();
  }
}

// The body reads an outer parameter directly and an unbatched capture.
TEST(ScanGradientTest, ImplicitAndUnbatchedCaptures) {
  GradientCheck check;
  Builder &builder = check.builder;
  Value *scale = check.param("scale", {});
  Value *bias = check.param("bias", {2});
  Value *xs = check.input("xs", {2}, 3);
  Value *c0 = builder.broadcastBatch(check.param("c0", {2}), false);
  Op *scan = builder.beginScan(3, false, {c0}, {xs}, {0}, {bias});
  builder.setBlock(*scan->body);
  Value *scaled = builder.binary(OpKind::Mul, scale, argument(scan, 0));
  Value *shifted = builder.binary(OpKind::Add, scaled, argument(scan, 2));
  Value *next = builder.binary(
      OpKind::Mul, builder.unary(OpKind::Sigmoid, shifted), argument(scan, 1));
  builder.setBlock(check.function.body);
  builder.finishScan(scan, {next}, {});
  check.setWeightedLoss(scan->result(0));
  check.check();
}

// An unbatched carry, a carry passed through unchanged, and a yield of an
// outer value.
TEST(ScanGradientTest, UnbatchedAndPassThroughCarries) {
  GradientCheck check;
  Builder &builder = check.builder;
  Value *rate = check.param("rate", {2});
  Value *s0 = check.param("s0", {2});
  Value *kept = check.input("kept", {2});
  Op *scan = builder.beginScan(3, false, {s0, kept}, {}, {}, {rate});
  builder.setBlock(*scan->body);
  Value *grown =
      builder.binary(OpKind::Mul, argument(scan, 0), argument(scan, 2));
  Value *next = builder.unary(OpKind::Tanh, grown);
  builder.setBlock(check.function.body);
  builder.finishScan(scan, {next, argument(scan, 1)}, {rate});
  Value *total = builder.binary(OpKind::Mul, scan->result(0), scan->result(1));
  Value *steps = builder.sumSteps(scan->result(2));
  check.setWeightedLoss(builder.binary(OpKind::Add, total, steps));
  check.check();
}

// A language model step: embed token t, predict token t + 1.
TEST(ScanGradientTest, IntSequencesGatherAndCrossEntropy) {
  GradientCheck check;
  Builder &builder = check.builder;
  Value *embedding = check.param("E", {5, 3});
  Value *w = check.param("W", {3, 3});
  Value *out = check.param("V", {5, 3});
  Value *tokens = check.ids("tokens", 5, 4);
  Value *h0 = builder.broadcastBatch(builder.constant(0, {3}), false);
  Op *scan =
      builder.beginScan(3, false, {h0}, {tokens, tokens}, {0, 1}, {embedding});
  builder.setBlock(*scan->body);
  Value *x = builder.gather(argument(scan, 3), argument(scan, 1));
  Value *recurrent = builder.matVec(w, argument(scan, 0));
  Value *h =
      builder.unary(OpKind::Tanh, builder.binary(OpKind::Add, x, recurrent));
  Value *loss = builder.crossEntropy(builder.matVec(out, h), argument(scan, 2));
  builder.setBlock(check.function.body);
  builder.finishScan(scan, {h}, {loss});
  Value *total = builder.sumBatch(builder.sumSteps(scan->result(1)), true);
  check.setLoss(total);
  check.check();
}

// The Elman network of the language's first example, by hand: 4 steps,
// loss = mean over the batch of Σ_t Σ sigmoid(V h_t).
TEST(ScanGradientTest, ElmanNetwork) {
  GradientCheck check;
  Builder &builder = check.builder;
  Value *w = check.param("W", {3, 3});
  Value *u = check.param("U", {3, 2});
  Value *b = check.param("b", {3});
  Value *v = check.param("V", {2, 3});
  Value *xs = check.input("xs", {2}, 4);
  Value *h0 = builder.broadcastBatch(check.param("h0", {3}), false);
  Op *scan = builder.beginScan(4, false, {h0}, {xs}, {0}, {w, u, b, v});
  builder.setBlock(*scan->body);
  Value *recurrent = builder.matVec(argument(scan, 2), argument(scan, 0));
  Value *input = builder.matVec(argument(scan, 3), argument(scan, 1));
  Value *sum = builder.binary(OpKind::Add, recurrent, input);
  Value *h = builder.unary(OpKind::Tanh,
                           builder.binary(OpKind::Add, sum, argument(scan, 4)));
  Value *y =
      builder.unary(OpKind::Sigmoid, builder.matVec(argument(scan, 5), h));
  Value *stepLoss = builder.sumAll(y);
  builder.setBlock(check.function.body);
  builder.finishScan(scan, {h}, {stepLoss});
  check.setLoss(builder.sumBatch(builder.sumSteps(scan->result(1)), true));
  check.check();
}

// Two carries and gates cut out with Slice: an LSTM cell.
TEST(ScanGradientTest, LstmNetwork) {
  GradientCheck check;
  Builder &builder = check.builder;
  const int64_t hidden = 2;
  Value *wh = check.param("Wh", {4 * hidden, hidden});
  Value *wx = check.param("Wx", {4 * hidden, 3});
  Value *xs = check.input("xs", {3}, 3);
  Value *zero = builder.broadcastBatch(builder.constant(0, {hidden}), false);
  Op *scan = builder.beginScan(3, false, {zero, zero}, {xs}, {0}, {wh, wx});
  builder.setBlock(*scan->body);
  Value *z = builder.binary(
      OpKind::Add, builder.matVec(argument(scan, 3), argument(scan, 0)),
      builder.matVec(argument(scan, 4), argument(scan, 2)));
  auto gate = [&](int64_t i, OpKind activation) {
    return builder.unary(activation,
                         builder.slice(z, i * hidden, (i + 1) * hidden));
  };
  Value *in = gate(0, OpKind::Sigmoid), *forget = gate(1, OpKind::Sigmoid);
  Value *cell = gate(2, OpKind::Tanh), *out = gate(3, OpKind::Sigmoid);
  Value *c = builder.binary(
      OpKind::Add, builder.binary(OpKind::Mul, forget, argument(scan, 1)),
      builder.binary(OpKind::Mul, in, cell));
  Value *h = builder.binary(OpKind::Mul, out, builder.unary(OpKind::Tanh, c));
  builder.setBlock(check.function.body);
  builder.finishScan(scan, {h, c}, {h});
  check.setWeightedLoss(scan->result(2));
  check.check();
}

TEST(ScanGradientDeathTest, NestedScansAreNotSupportedYet) {
  GradientCheck check;
  Builder &builder = check.builder;
  Value *x0 = check.input("x0", {2});
  Op *outer = builder.beginScan(2, false, {x0}, {}, {}, {});
  builder.setBlock(*outer->body);
  Op *inner = builder.beginScan(2, false, {argument(outer, 0)}, {}, {}, {});
  builder.setBlock(*inner->body);
  Value *next = builder.unary(OpKind::Tanh, argument(inner, 0));
  builder.finishScan(inner, {next}, {});
  builder.setBlock(*outer->body);
  builder.finishScan(outer, {inner->result(0)}, {});
  builder.setBlock(check.function.body);
  check.setWeightedLoss(outer->result(0));
  EXPECT_DEATH(check.check(), "nested scans are not supported yet");
}

} // namespace
