// One finite-difference test per derivative rule, plus the broadcasting
// and accumulation cases every rule relies on.
#include "GradientCheck.h"

#include "compiler/autodiff/Autodiff.h"

#include <gtest/gtest.h>

using namespace weft::ir;
using weft::autodiff::testing::GradientCheck;

namespace {

TEST(DerivativeRuleTest, Neg) {
  GradientCheck check;
  check.setWeightedLoss(
      check.builder.unary(OpKind::Neg, check.input("x", {3})));
  check.check();
}

TEST(DerivativeRuleTest, Add) {
  GradientCheck check;
  Value *sum = check.builder.binary(OpKind::Add, check.input("a", {3}),
                                    check.input("b", {3}));
  check.setWeightedLoss(sum);
  check.check();
}

TEST(DerivativeRuleTest, Sub) {
  GradientCheck check;
  Value *difference = check.builder.binary(OpKind::Sub, check.input("a", {3}),
                                           check.param("b", {3}));
  check.setWeightedLoss(difference);
  check.check();
}

TEST(DerivativeRuleTest, Mul) {
  GradientCheck check;
  Value *product = check.builder.binary(OpKind::Mul, check.input("a", {2, 3}),
                                        check.input("b", {2, 3}));
  check.setWeightedLoss(product);
  check.check();
}

TEST(DerivativeRuleTest, Div) {
  GradientCheck check;
  Value *quotient = check.builder.binary(OpKind::Div, check.input("a", {3}),
                                         check.input("b", {3}, 0, 1, 2));
  check.setWeightedLoss(quotient);
  check.check();
}

TEST(DerivativeRuleTest, Sigmoid) {
  GradientCheck check;
  check.setWeightedLoss(
      check.builder.unary(OpKind::Sigmoid, check.input("x", {3})));
  check.check();
}

TEST(DerivativeRuleTest, Tanh) {
  GradientCheck check;
  check.setWeightedLoss(
      check.builder.unary(OpKind::Tanh, check.input("x", {3})));
  check.check();
}

TEST(DerivativeRuleTest, Exp) {
  GradientCheck check;
  check.setWeightedLoss(
      check.builder.unary(OpKind::Exp, check.input("x", {3})));
  check.check();
}

TEST(DerivativeRuleTest, Log) {
  GradientCheck check;
  Value *x = check.input("x", {3}, 0, 0.5, 2);
  check.setWeightedLoss(check.builder.unary(OpKind::Log, x));
  check.check();
}

TEST(DerivativeRuleTest, MatVec) {
  GradientCheck check;
  Value *matrix = check.param("A", {4, 3});
  check.setWeightedLoss(check.builder.matVec(matrix, check.input("x", {3})));
  check.check();
}

TEST(DerivativeRuleTest, MatVecTransposed) {
  GradientCheck check;
  Value *matrix = check.param("A", {4, 3});
  Value *y = check.builder.matVec(matrix, check.input("x", {4}), true);
  check.setWeightedLoss(y);
  check.check();
}

TEST(DerivativeRuleTest, MatVecUnbatchedVector) {
  GradientCheck check;
  Value *matrix = check.param("A", {2, 3});
  Value *y = check.builder.matVec(matrix, check.param("v", {3}));
  check.setWeightedLoss(y);
  check.check();
}

TEST(DerivativeRuleTest, MatVecOverStream) {
  GradientCheck check;
  Value *matrix = check.param("A", {2, 3});
  check.setWeightedLoss(
      check.builder.matVec(matrix, check.input("xs", {3}, 4)));
  check.check();
}

TEST(DerivativeRuleTest, OuterSum) {
  GradientCheck check;
  Value *outer =
      check.builder.outerSum(check.input("a", {2}), check.input("b", {3}));
  check.setWeightedLoss(outer);
  check.check();
}

TEST(DerivativeRuleTest, OuterSumOverStream) {
  GradientCheck check;
  Value *outer = check.builder.outerSum(check.input("a", {2}, 3),
                                        check.input("b", {3}, 3));
  check.setWeightedLoss(outer);
  check.check();
}

TEST(DerivativeRuleTest, SumBatchSum) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.sumBatch(check.input("x", {3}), false));
  check.check();
}

TEST(DerivativeRuleTest, SumBatchMean) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.sumBatch(check.input("x", {3}), true));
  check.check();
}

TEST(DerivativeRuleTest, BroadcastBatchSum) {
  GradientCheck check;
  Value *copies = check.builder.broadcastBatch(check.param("p", {3}), false);
  check.setWeightedLoss(copies);
  check.check();
}

TEST(DerivativeRuleTest, BroadcastBatchMean) {
  GradientCheck check;
  Value *copies = check.builder.broadcastBatch(check.param("p", {3}), true);
  check.setWeightedLoss(copies);
  check.check();
}

TEST(DerivativeRuleTest, Slice) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.slice(check.input("x", {5, 2}), 1, 3));
  check.check();
}

TEST(DerivativeRuleTest, PadSlice) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.padSlice(check.input("g", {2, 2}), 1, 4));
  check.check();
}

// An unbatched middle part sums its cotangent over the batch.
TEST(DerivativeRuleTest, Concat) {
  GradientCheck check;
  Value *first = check.input("a", {2, 3});
  Value *middle = check.param("m", {1, 3});
  Value *last = check.input("c", {3, 3});
  check.setWeightedLoss(check.builder.concat({first, middle, last}));
  check.check();
}

TEST(DerivativeRuleTest, ConcatAlongSecondAxis) {
  GradientCheck check;
  Value *left = check.input("a", {2, 1});
  Value *right = check.input("b", {2, 3});
  check.setWeightedLoss(check.builder.concat({left, right}, 1));
  check.check();
}

TEST(DerivativeRuleTest, Gather) {
  GradientCheck check;
  Value *table = check.param("E", {4, 3});
  check.setWeightedLoss(check.builder.gather(table, check.ids("ids", 4)));
  check.check();
}

TEST(DerivativeRuleTest, GatherOverStream) {
  GradientCheck check;
  Value *table = check.param("E", {4, 3});
  check.setWeightedLoss(check.builder.gather(table, check.ids("ids", 4, 5)));
  check.check();
}

TEST(DerivativeRuleTest, ScatterAddRows) {
  GradientCheck check;
  Value *rows = check.builder.scatterAddRows(check.input("g", {3}),
                                             check.ids("ids", 4), 4);
  check.setWeightedLoss(rows);
  check.check();
}

TEST(DerivativeRuleTest, SumAll) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.sumAll(check.input("x", {2, 3})));
  check.check();
}

TEST(DerivativeRuleTest, Fill) {
  GradientCheck check;
  Value *scalar = check.input("s", {});
  check.setWeightedLoss(check.builder.fill(scalar, {2, 3}));
  check.check();
}

TEST(DerivativeRuleTest, Softmax) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.softmax(check.input("x", {4})));
  check.check();
}

TEST(DerivativeRuleTest, SoftmaxGrad) {
  GradientCheck check;
  Value *y = check.builder.softmax(check.input("x", {4}));
  check.setWeightedLoss(check.builder.softmaxGrad(y, check.input("g", {4})));
  check.check();
}

TEST(DerivativeRuleTest, CrossEntropy) {
  GradientCheck check;
  Value *loss = check.builder.crossEntropy(check.input("logits", {5}),
                                           check.ids("target", 5));
  check.setWeightedLoss(loss);
  check.check();
}

TEST(DerivativeRuleTest, CrossEntropyGrad) {
  GradientCheck check;
  Value *gradient = check.builder.crossEntropyGrad(
      check.input("logits", {5}), check.ids("target", 5), check.input("g", {}));
  check.setWeightedLoss(gradient);
  check.check();
}

TEST(DerivativeRuleTest, StreamAt) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.streamAt(check.input("xs", {3}, 4), 2));
  check.check();
}

TEST(DerivativeRuleTest, StreamPlace) {
  GradientCheck check;
  Value *placed = check.builder.streamPlace(check.input("x", {3}), 1, 4);
  check.setWeightedLoss(placed);
  check.check();
}

TEST(DerivativeRuleTest, SumSteps) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.sumSteps(check.input("xs", {3}, 4)));
  check.check();
}

TEST(DerivativeRuleTest, StreamFill) {
  GradientCheck check;
  check.setWeightedLoss(check.builder.streamFill(check.input("x", {3}), 4));
  check.check();
}

TEST(DerivativeRuleTest, StreamSlice) {
  GradientCheck check;
  Value *steps = check.builder.streamSlice(check.input("xs", {2}, 5), 1, 4);
  check.setWeightedLoss(steps);
  check.check();
}

TEST(DerivativeRuleTest, StreamPad) {
  GradientCheck check;
  Value *padded = check.builder.streamPad(check.input("xs", {2}, 3), 1, 5);
  check.setWeightedLoss(padded);
  check.check();
}

// A scalar operand gets the sum of its cotangent over the shape.
TEST(BroadcastTest, ScalarOperand) {
  GradientCheck check;
  Value *scaled = check.builder.binary(OpKind::Mul, check.param("s", {}),
                                       check.input("x", {2, 3}));
  check.setWeightedLoss(scaled);
  check.check();
}

// An unbatched operand with batched ones gets the sum over the batch.
TEST(BroadcastTest, UnbatchedOperand) {
  GradientCheck check;
  Value *shifted = check.builder.binary(OpKind::Add, check.input("x", {3}),
                                        check.param("b", {3}));
  Value *scaled =
      check.builder.binary(OpKind::Div, shifted, check.param("d", {3}, 1, 2));
  check.setWeightedLoss(scaled);
  check.check();
}

// A batched scalar against an unbatched vector: both axes are summed.
TEST(BroadcastTest, BatchedScalarWithUnbatchedVector) {
  GradientCheck check;
  Value *product = check.builder.binary(OpKind::Mul, check.input("s", {}),
                                        check.param("v", {3}));
  check.setWeightedLoss(product);
  check.check();
}

// A non-stream operand of a stream op gets the sum over the steps.
TEST(BroadcastTest, NonStreamOperandOfStream) {
  GradientCheck check;
  Value *product = check.builder.binary(OpKind::Mul, check.input("xs", {3}, 4),
                                        check.input("x", {3}));
  check.setWeightedLoss(product);
  check.check();
}

// A value used twice accumulates both cotangents.
TEST(AccumulationTest, ValueUsedTwice) {
  GradientCheck check;
  Value *x = check.input("x", {3});
  Value *square = check.builder.binary(OpKind::Mul, x, x);
  Value *cube = check.builder.binary(OpKind::Mul, square, x);
  check.setWeightedLoss(check.builder.binary(OpKind::Add, cube, x));
  check.check();
}

TEST(GradientOutputTest, UnusedValuesGetZeroGradients) {
  GradientCheck check;
  Value *unused = check.param("unused", {2, 2});
  check.input("ignored", {3}, 2);
  check.builder.unary(OpKind::Tanh, unused);
  check.setWeightedLoss(check.input("x", {3}));
  check.check();
  BufferMap outputs =
      evaluate(check.function, check.batch, check.params, check.inputs);
  EXPECT_EQ(outputs["grad_unused"], std::vector<double>(4, 0.0));
  EXPECT_EQ(outputs["grad_ignored"], std::vector<double>(18, 0.0));
  EXPECT_EQ(outputs.count("grad_ids"), 0u);
}

TEST(GradientOutputTest, GradientsFollowForwardOutputsInLeafOrder) {
  GradientCheck check;
  Value *p = check.param("p", {2});
  Value *x = check.input("x", {2});
  check.function.outputs.push_back({"y", x});
  check.setWeightedLoss(check.builder.binary(OpKind::Mul, p, x));
  weft::autodiff::appendGradients(check.function);
  std::vector<std::string> names;
  for (const NamedValue &output : check.function.outputs)
    names.push_back(output.name);
  EXPECT_EQ(names, (std::vector<std::string>{"y", "loss", "grad_p", "grad_x",
                                             "grad_probe0"}));
}

TEST(AutodiffDeathTest, BatchedLossIsRejected) {
  Function function;
  Builder builder(function, function.body);
  Value *x = builder.input("x", Type{{}, true, 0, ElementType::Float});
  function.outputs.push_back({"loss", x});
  EXPECT_DEATH(weft::autodiff::appendGradients(function),
               "loss must be an unbatched float scalar");
}

} // namespace
