// Finite-difference tests of the derivative rules of the newer ops: sqrt,
// abs, relu, pow, where and comparisons; einsum in each of its uses; slices
// along any axis, reshape, gathers with ids of any shape; and the row ops
// (softmax with a mask, log-softmax, max over the last axis, cross entropy
// over rows).
#include "GradientCheck.h"

#include <gtest/gtest.h>

using namespace weft::ir;
using weft::autodiff::testing::GradientCheck;

namespace {

TEST(ElementwiseRuleTest, Sqrt) {
  GradientCheck check;
  Value *x = check.input("x", {3}, 0, 0.5, 2);
  check.setWeightedLoss(check.builder.unary(OpKind::Sqrt, x));
  check.check();
}

TEST(ElementwiseRuleTest, Abs) {
  GradientCheck check;
  check.setWeightedLoss(
      check.builder.unary(OpKind::Abs, check.input("x", {2, 3})));
  check.check();
}

TEST(ElementwiseRuleTest, Relu) {
  GradientCheck check;
  check.setWeightedLoss(
      check.builder.unary(OpKind::Relu, check.input("x", {2, 3})));
  check.check();
}

TEST(ElementwiseRuleTest, PowBothOperands) {
  GradientCheck check;
  Value *base = check.input("a", {3}, 0, 0.5, 2);
  Value *exponent = check.param("b", {3}, -1.5, 1.5);
  check.setWeightedLoss(check.builder.binary(OpKind::Pow, base, exponent));
  check.check();
}

// A zero base gives the exponent a zero cotangent (0^b is 0 for every
// b > 0), not log(0) * 0 = NaN.
TEST(ElementwiseRuleTest, PowZeroBase) {
  GradientCheck check;
  Value *zero = check.builder.binary(OpKind::Mul, check.input("a", {3}),
                                     check.builder.constant(0));
  // b > 1 keeps the base's own slope, b 0^(b-1), finite.
  Value *exponent = check.param("b", {3}, 1.5, 2.5);
  check.setWeightedLoss(check.builder.binary(OpKind::Pow, zero, exponent));
  check.check();
}

// A constant exponent gets no cotangent, so a negative base is fine.
TEST(ElementwiseRuleTest, PowConstantExponentNegativeBase) {
  GradientCheck check;
  Value *base = check.input("a", {3});
  Value *cube =
      check.builder.binary(OpKind::Pow, base, check.builder.constant(3));
  check.setWeightedLoss(cube);
  check.check();
}

TEST(ElementwiseRuleTest, Where) {
  GradientCheck check;
  Value *selector = check.input("c", {4});
  Value *cond = check.builder.binary(OpKind::Greater, selector,
                                     check.builder.constant(0));
  Value *chosen =
      check.builder.where(cond, check.input("a", {4}), check.param("b", {4}));
  check.setWeightedLoss(chosen);
  check.check();
}

TEST(ElementwiseRuleTest, ComparisonsGiveNoGradient) {
  GradientCheck check;
  Value *x = check.input("x", {3});
  Value *y = check.param("y", {3});
  Value *total = check.builder.binary(OpKind::Less, x, y);
  for (OpKind kind : {OpKind::LessEqual, OpKind::Greater, OpKind::GreaterEqual,
                      OpKind::Equal, OpKind::NotEqual})
    total = check.builder.binary(OpKind::Add, total,
                                 check.builder.binary(kind, x, y));
  check.setWeightedLoss(check.builder.binary(OpKind::Mul, total, x));
  check.check();
}

// Iota is a constant: index values scale x, and index comparisons mask a
// softmax and choose through a where; the mask `b <= a` and the prefix
// `a < 2` get no gradient, only the values they select.
TEST(ElementwiseRuleTest, IotaInComparisonsAndMasks) {
  GradientCheck check;
  Builder &builder = check.builder;
  Value *x = check.input("x", {4, 4});
  Value *w = check.param("w", {4, 4});
  Value *rows = builder.iota({4, 4}, 0);
  Value *columns = builder.iota({4, 4}, 1);
  Value *lower = builder.binary(OpKind::LessEqual, columns, rows);
  Value *positioned = builder.binary(OpKind::Mul, x, rows);
  Value *attention =
      builder.softmax(builder.binary(OpKind::Add, positioned, columns), lower);
  Value *early = builder.binary(OpKind::Less, rows, builder.constant(2));
  Value *chosen = builder.where(early, builder.binary(OpKind::Mul, w, x),
                                builder.unary(OpKind::Tanh, w));
  check.setWeightedLoss(builder.binary(OpKind::Add, attention, chosen));
  check.check();
}

// Token ids compared with a float constant, as in `text[t] != 0`.
TEST(ElementwiseRuleTest, IdsAgainstFloatConstant) {
  GradientCheck check;
  Value *keep = check.builder.binary(OpKind::NotEqual, check.ids("ids", 3),
                                     check.builder.constant(0));
  check.setWeightedLoss(
      check.builder.binary(OpKind::Mul, keep, check.input("x", {2})));
  check.check();
}

/// One einsum of `operands` checked through a weighted loss.
void checkEinsum(GradientCheck &check, std::vector<Value *> operands,
                 std::vector<std::string> labels, std::vector<int64_t> shape,
                 int64_t steps = 0) {
  check.setWeightedLoss(check.builder.einsum(
      std::move(operands), std::move(labels), std::move(shape), steps));
  check.check();
}

TEST(EinsumRuleTest, MatrixVector) {
  GradientCheck check;
  checkEinsum(check, {check.param("W", {4, 3}), check.input("x", {3})},
              {"ki", "Bi", "Bk"}, {4});
}

TEST(EinsumRuleTest, BatchedMatrixVector) {
  GradientCheck check;
  checkEinsum(check, {check.input("M", {2, 3}), check.input("h", {3})},
              {"Bsh", "Bh", "Bs"}, {2});
}

TEST(EinsumRuleTest, WeightGradientOverStepsAndBatch) {
  GradientCheck check;
  checkEinsum(check, {check.input("g", {2}, 4), check.input("x", {3}, 4)},
              {"TBk", "TBi", "ki"}, {2, 3});
}

TEST(EinsumRuleTest, MatrixMatrix) {
  GradientCheck check;
  checkEinsum(check, {check.input("A", {2, 3}), check.param("C", {3, 4})},
              {"Bij", "jk", "Bik"}, {2, 4});
}

TEST(EinsumRuleTest, OuterAndDot) {
  GradientCheck check;
  Value *a = check.input("a", {2});
  Value *b = check.input("b", {3});
  Value *outer = check.builder.einsum({a, b}, {"Bi", "Bj", "Bij"}, {2, 3});
  Value *dot = check.builder.einsum({b, b}, {"Bi", "Bi", "B"}, {});
  checkEinsum(check, {outer, dot}, {"Bij", "B", "Bji"}, {3, 2});
}

TEST(EinsumRuleTest, SumsOverAxesAndBatch) {
  GradientCheck check;
  Value *x = check.input("x", {2, 3});
  Value *rows = check.builder.einsum({x}, {"Bij", "Bi"}, {2});
  checkEinsum(check, {rows}, {"Bi", "i"}, {2});
}

TEST(EinsumRuleTest, BroadcastOverNewAxes) {
  GradientCheck check;
  checkEinsum(check, {check.input("x", {2})}, {"Bk", "Bks"}, {2, 3});
}

TEST(EinsumRuleTest, StreamToMatrixAndBack) {
  GradientCheck check;
  Value *xs = check.input("xs", {2}, 3);
  Value *matrix = check.builder.einsum({xs}, {"TBh", "BTh"}, {3, 2});
  Value *scaled =
      check.builder.binary(OpKind::Mul, matrix, check.input("s", {3, 2}));
  checkEinsum(check, {scaled}, {"BTh", "TBh"}, {2}, 3);
}

TEST(EinsumRuleTest, ThreeOperands) {
  GradientCheck check;
  checkEinsum(
      check,
      {check.input("a", {2}), check.param("M", {2, 3}), check.input("b", {3})},
      {"Bi", "ij", "Bj", "B"}, {});
}

TEST(IndexingRuleTest, SliceAlongAxis1) {
  GradientCheck check;
  Value *x = check.input("x", {2, 5, 2});
  check.setWeightedLoss(check.builder.slice(x, 1, 4, 1));
  check.check();
}

TEST(IndexingRuleTest, PadSliceAlongLastAxis) {
  GradientCheck check;
  Value *g = check.input("g", {2, 2});
  check.setWeightedLoss(check.builder.padSlice(g, 1, 4, 1));
  check.check();
}

TEST(IndexingRuleTest, Reshape) {
  GradientCheck check;
  Value *x = check.input("x", {2, 3}, 2);
  check.setWeightedLoss(check.builder.reshape(x, {3, 2}));
  check.check();
}

TEST(IndexingRuleTest, GatherWithIdVector) {
  GradientCheck check;
  Value *table = check.param("E", {4, 3});
  Value *ids = check.ids("ids", 4, 0, {5});
  check.setWeightedLoss(check.builder.gather(table, ids));
  check.check();
}

TEST(IndexingRuleTest, ScatterAddRowsWithIdMatrix) {
  GradientCheck check;
  Value *g = check.input("g", {2, 2, 3});
  Value *ids = check.ids("ids", 4, 0, {2, 2});
  check.setWeightedLoss(check.builder.scatterAddRows(g, ids, 4));
  check.check();
}

TEST(RowRuleTest, SoftmaxOverLastAxis) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.softmax(check.input("x", {2, 4})));
  check.check();
}

TEST(RowRuleTest, MaskedSoftmax) {
  GradientCheck check;
  Value *selector = check.param("m", {3, 4});
  Value *mask = check.builder.binary(OpKind::Greater, selector,
                                     check.builder.constant(-0.3));
  Value *x = check.input("x", {3, 4});
  check.setWeightedLoss(check.builder.softmax(x, mask));
  check.check();
}

TEST(RowRuleTest, FullyMaskedRowGivesZeros) {
  GradientCheck check;
  Value *x = check.input("x", {4});
  Value *y = check.builder.softmax(x, check.builder.constant(0, {4}));
  check.setWeightedLoss(y);
  check.check();
  BufferMap outputs =
      evaluate(check.function, check.batch, check.params, check.inputs);
  EXPECT_EQ(outputs["grad_x"], std::vector<double>(12, 0.0));
}

TEST(RowRuleTest, SoftmaxGradOverLastAxis) {
  GradientCheck check;
  Value *y = check.builder.softmax(check.input("x", {2, 3}));
  check.setWeightedLoss(check.builder.softmaxGrad(y, check.input("g", {2, 3})));
  check.check();
}

TEST(RowRuleTest, LogSoftmax) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.logSoftmax(check.input("x", {2, 4})));
  check.check();
}

TEST(RowRuleTest, LogSoftmaxGrad) {
  GradientCheck check;
  Value *y = check.builder.logSoftmax(check.input("x", {2, 3}));
  Value *g = check.input("g", {2, 3});
  check.setWeightedLoss(check.builder.logSoftmaxGrad(y, g));
  check.check();
}

TEST(RowRuleTest, MaxLast) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.maxLast(check.input("x", {3, 4})));
  check.check();
}

TEST(RowRuleTest, MaxLastOfVector) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.maxLast(check.input("x", {5}, 2)));
  check.check();
}

TEST(RowRuleTest, CrossEntropyOverRows) {
  GradientCheck check;
  Value *loss = check.builder.crossEntropy(check.input("logits", {2, 5}),
                                           check.ids("target", 5, 0, {2}));
  check.setWeightedLoss(loss);
  check.check();
}

TEST(RowRuleTest, CrossEntropyGradOverRows) {
  GradientCheck check;
  Value *gradient = check.builder.crossEntropyGrad(
      check.input("logits", {2, 5}), check.ids("target", 5, 0, {2}),
      check.input("g", {2}));
  check.setWeightedLoss(gradient);
  check.check();
}

} // namespace
