// Tests of the reference interpreter: one or more small hand-checked cases
// per op, with a batch of two examples.
#include "compiler/ir/Interpreter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

using namespace weft::ir;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::Pointwise;

namespace {

Type floatType(std::vector<int64_t> shape, int64_t steps = 0) {
  return Type{std::move(shape), true, steps, ElementType::Float};
}

Type idType(int64_t steps = 0) {
  return Type{{}, true, steps, ElementType::Int};
}

/// Builds a function, then runs it with a batch of two.
class InterpreterTest : public ::testing::Test {
protected:
  Function function;
  Builder builder{function, function.body};
  BufferMap params;
  BufferMap inputs;

  Value *param(const std::string &name, std::vector<int64_t> shape,
               std::vector<double> data) {
    params[name] = std::move(data);
    return builder.param(name, std::move(shape));
  }
  Value *input(const std::string &name, Type type, std::vector<double> data) {
    inputs[name] = std::move(data);
    return builder.input(name, std::move(type));
  }
  /// Evaluates `value` as the function's only output.
  std::vector<double> run(Value *value) {
    function.outputs = {{"out", value}};
    EXPECT_EQ(verify(function), "");
    return evaluate(function, 2, params, inputs)["out"];
  }
};

TEST_F(InterpreterTest, ElementwiseBinaryBroadcasts) {
  Value *x = input("x", floatType({2}), {1, 2, 3, 4});
  Value *bias = param("b", {2}, {10, 20});
  Value *two = builder.constant(2);
  EXPECT_THAT(run(builder.binary(OpKind::Add, x, bias)),
              ElementsAre(11, 22, 13, 24));
  EXPECT_THAT(run(builder.binary(OpKind::Sub, two, x)),
              ElementsAre(1, 0, -1, -2));
  EXPECT_THAT(run(builder.binary(OpKind::Mul, x, two)),
              ElementsAre(2, 4, 6, 8));
  EXPECT_THAT(run(builder.binary(OpKind::Div, bias, two)), ElementsAre(5, 10));
}

TEST_F(InterpreterTest, ElementwiseUnary) {
  Value *x = input("x", floatType({}), {0.5, 2});
  auto near = [](double a, double b) {
    return ElementsAre(DoubleNear(a, 1e-12), DoubleNear(b, 1e-12));
  };
  EXPECT_THAT(run(builder.unary(OpKind::Neg, x)), ElementsAre(-0.5, -2));
  EXPECT_THAT(run(builder.unary(OpKind::Sigmoid, x)),
              near(1 / (1 + std::exp(-0.5)), 1 / (1 + std::exp(-2.0))));
  EXPECT_THAT(run(builder.unary(OpKind::Tanh, x)),
              near(std::tanh(0.5), std::tanh(2.0)));
  EXPECT_THAT(run(builder.unary(OpKind::Exp, x)),
              near(std::exp(0.5), std::exp(2.0)));
  EXPECT_THAT(run(builder.unary(OpKind::Log, x)),
              near(std::log(0.5), std::log(2.0)));
}

TEST_F(InterpreterTest, NewElementwiseOps) {
  Value *x = input("x", floatType({2}), {4, -1, 0, 9});
  Value *y = param("y", {2}, {0.5, 2});
  Value *ids = input("ids", Type{{2}, true, 0, ElementType::Int}, {0, 3, 1, 0});
  EXPECT_THAT(run(builder.unary(OpKind::Abs, x)), ElementsAre(4, 1, 0, 9));
  EXPECT_THAT(run(builder.unary(OpKind::Relu, x)), ElementsAre(4, 0, 0, 9));
  EXPECT_THAT(run(builder.unary(OpKind::Sqrt, y)),
              ElementsAre(std::sqrt(0.5), std::sqrt(2.0)));
  EXPECT_THAT(run(builder.binary(OpKind::Pow, x, y)), ElementsAre(2, 1, 0, 81));
  EXPECT_THAT(run(builder.binary(OpKind::Less, x, y)), ElementsAre(0, 1, 1, 0));
  EXPECT_THAT(run(builder.binary(OpKind::NotEqual, ids, builder.constant(0))),
              ElementsAre(0, 1, 1, 0));
  Value *positive = builder.binary(OpKind::Greater, x, builder.constant(0));
  EXPECT_THAT(run(builder.where(positive, x, y)), ElementsAre(4, 2, 0.5, 9));
}

TEST_F(InterpreterTest, EinsumProductsSumsAndStreams) {
  Value *a = param("A", {2, 3}, {1, 2, 3, 4, 5, 6});
  Value *x = input("x", floatType({3}), {1, 0, 0, 0, 1, 1});
  EXPECT_THAT(run(builder.einsum({a, x}, {"ki", "Bi", "Bk"}, {2})),
              ElementsAre(1, 4, 5, 11));
  EXPECT_THAT(run(builder.einsum({x}, {"Bi", "i"}, {3})), ElementsAre(1, 1, 1));
  EXPECT_THAT(run(builder.einsum({a}, {"ij", "ji"}, {3, 2})),
              ElementsAre(1, 4, 2, 5, 3, 6));
  // Steps [2] of batch [2] of [1]: t0 = (1, 2), t1 = (3, 4).
  Value *xs = input("xs", floatType({1}, 2), {1, 2, 3, 4});
  EXPECT_THAT(run(builder.einsum({xs}, {"TBh", "BTh"}, {2, 1})),
              ElementsAre(1, 3, 2, 4));
  EXPECT_THAT(run(builder.einsum({xs}, {"TBh", "Bhs"}, {1, 2})),
              ElementsAre(4, 4, 6, 6));
}

TEST_F(InterpreterTest, MaskedSoftmaxAndRowOps) {
  Value *x = input("x", floatType({2, 2}), {0, 0, 1e4, 0, 5, 1, 2, 2});
  Value *mask = param("mask", {2, 2}, {1, 0, 0, 0});
  EXPECT_THAT(run(builder.softmax(x, mask)),
              ElementsAre(1, 0, 0, 0, 1, 0, 0, 0));
  EXPECT_THAT(run(builder.softmax(x)),
              ElementsAre(0.5, 0.5, 1, 0, DoubleNear(0.982, 1e-3),
                          DoubleNear(0.018, 1e-3), 0.5, 0.5));
  EXPECT_THAT(run(builder.maxLast(x)), ElementsAre(0, 1e4, 5, 2));
  std::vector<double> logs = run(builder.logSoftmax(x));
  EXPECT_NEAR(logs[0], std::log(0.5), 1e-12);
  EXPECT_NEAR(logs[3], -1e4, 1e-9);
}

TEST_F(InterpreterTest, MatVecBothWays) {
  Value *a = param("A", {2, 3}, {1, 2, 3, 4, 5, 6});
  Value *x = input("x", floatType({3}), {1, 0, 0, 0, 1, 1});
  Value *y = input("y", floatType({2}), {1, 0, 1, 1});
  EXPECT_THAT(run(builder.matVec(a, x)), ElementsAre(1, 4, 5, 11));
  EXPECT_THAT(run(builder.matVec(a, y, true)), ElementsAre(1, 2, 3, 5, 7, 9));
}

TEST_F(InterpreterTest, MatVecOverStream) {
  Value *a = param("A", {1, 2}, {1, 10});
  Value *xs = input("xs", floatType({2}, 2), {1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_THAT(run(builder.matVec(a, xs)), ElementsAre(21, 43, 65, 87));
}

TEST_F(InterpreterTest, OuterSumAddsOverBatchAndSteps) {
  Value *a = input("a", floatType({2}), {1, 2, 3, 4});
  Value *b = input("b", floatType({1}), {10, 100});
  EXPECT_THAT(run(builder.outerSum(a, b)), ElementsAre(310, 420));
  Value *as = input("as", floatType({1}, 2), {1, 2, 3, 4});
  EXPECT_THAT(run(builder.outerSum(as, as)), ElementsAre(30));
}

TEST_F(InterpreterTest, SumBatchAndBroadcastBatch) {
  Value *x = input("x", floatType({2}), {1, 2, 3, 4});
  EXPECT_THAT(run(builder.sumBatch(x, false)), ElementsAre(4, 6));
  EXPECT_THAT(run(builder.sumBatch(x, true)), ElementsAre(2, 3));
  Value *p = param("p", {2}, {4, 6});
  EXPECT_THAT(run(builder.broadcastBatch(p, false)), ElementsAre(4, 6, 4, 6));
  EXPECT_THAT(run(builder.broadcastBatch(p, true)), ElementsAre(2, 3, 2, 3));
}

TEST_F(InterpreterTest, SliceAndPadSliceRows) {
  Value *x = input("x", floatType({3, 2}),
                   {1, 2, 3, 4, 5, 6, //
                    7, 8, 9, 10, 11, 12});
  EXPECT_THAT(run(builder.slice(x, 1, 3)),
              ElementsAre(3, 4, 5, 6, 9, 10, 11, 12));
  EXPECT_THAT(run(builder.padSlice(x, 1, 4)),
              ElementsAre(0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12));
}

TEST_F(InterpreterTest, GatherAndScatterAddRows) {
  Value *table = param("E", {3, 2}, {1, 2, 3, 4, 5, 6});
  Value *ids = input("ids", idType(), {2, 2});
  EXPECT_THAT(run(builder.gather(table, ids)), ElementsAre(5, 6, 5, 6));
  Value *g = input("g", floatType({2}), {1, 2, 3, 4});
  EXPECT_THAT(run(builder.scatterAddRows(g, ids, 3)),
              ElementsAre(0, 0, 0, 0, 4, 6));
}

TEST_F(InterpreterTest, GatherOverStream) {
  Value *table = param("E", {3, 1}, {10, 20, 30});
  Value *ids = input("ids", idType(2), {0, 1, 2, 0});
  EXPECT_THAT(run(builder.gather(table, ids)), ElementsAre(10, 20, 30, 10));
}

TEST_F(InterpreterTest, SumAllAndFill) {
  Value *x = input("x", floatType({2, 2}), {1, 2, 3, 4, 5, 6, 7, 8});
  Value *total = builder.sumAll(x);
  EXPECT_THAT(run(total), ElementsAre(10, 26));
  EXPECT_THAT(run(builder.fill(total, {3})),
              ElementsAre(10, 10, 10, 26, 26, 26));
}

TEST_F(InterpreterTest, SoftmaxAndItsGradient) {
  Value *x = input("x", floatType({2}), {0, 0, 1000, 1000 + std::log(3.0)});
  Value *y = builder.softmax(x);
  EXPECT_THAT(run(y), Pointwise(DoubleNear(1e-12),
                                std::vector<double>{0.5, 0.5, 0.25, 0.75}));
  Value *g = input("g", floatType({2}), {1, 0, 0, 4});
  // y * (g - y.g): [0.5 * 0.5, 0.5 * -0.5], [0.25 * -3, 0.75 * 1].
  EXPECT_THAT(run(builder.softmaxGrad(y, g)),
              Pointwise(DoubleNear(1e-12),
                        std::vector<double>{0.25, -0.25, -0.75, 0.75}));
}

TEST_F(InterpreterTest, CrossEntropyAndItsGradient) {
  Value *logits =
      input("l", floatType({2}), {0, 0, 1000, 1000 + std::log(3.0)});
  Value *target = input("t", idType(), {0, 1});
  EXPECT_THAT(
      run(builder.crossEntropy(logits, target)),
      Pointwise(DoubleNear(1e-9),
                std::vector<double>{std::log(2.0), std::log(4.0 / 3.0)}));
  Value *g = input("g", floatType({}), {2, 1});
  EXPECT_THAT(
      run(builder.crossEntropyGrad(logits, target, g)),
      Pointwise(DoubleNear(1e-12), std::vector<double>{-1, 1, 0.25, -0.25}));
}

TEST_F(InterpreterTest, StreamStepOps) {
  // Two steps of [batch 2][1]: step 0 is {1, 2}, step 1 is {3, 4}.
  Value *xs = input("xs", floatType({1}, 2), {1, 2, 3, 4});
  EXPECT_THAT(run(builder.streamAt(xs, 1)), ElementsAre(3, 4));
  EXPECT_THAT(run(builder.sumSteps(xs)), ElementsAre(4, 6));
  EXPECT_THAT(run(builder.streamSlice(xs, 1, 2)), ElementsAre(3, 4));
  EXPECT_THAT(run(builder.streamPad(xs, 1, 4)),
              ElementsAre(0, 0, 1, 2, 3, 4, 0, 0));
  Value *x = builder.streamAt(xs, 0);
  EXPECT_THAT(run(builder.streamPlace(x, 1, 3)), ElementsAre(0, 0, 1, 2, 0, 0));
  EXPECT_THAT(run(builder.streamFill(x, 2)), ElementsAre(1, 2, 1, 2));
}

TEST_F(InterpreterTest, ElementwiseOverStreamsBroadcastsNonStreams) {
  Value *xs = input("xs", floatType({1}, 2), {1, 2, 3, 4});
  Value *x = input("x", floatType({1}), {10, 20});
  EXPECT_THAT(run(builder.binary(OpKind::Mul, xs, x)),
              ElementsAre(10, 40, 30, 80));
}

/// A running sum over a stream read at offset 1, with a captured scale:
/// c' = c + s * x[t + 1]; it also stacks c' at each step.
Op *buildRunningSum(Builder &builder, Function &function, Value *xs,
                    Value *scale, bool reverse) {
  Value *zero = builder.broadcastBatch(builder.constant(0, {1}), false);
  Op *scan = builder.beginScan(2, reverse, {zero}, {xs}, {1}, {scale});
  Block &body = *scan->body;
  builder.setBlock(body);
  Value *term = builder.binary(OpKind::Mul, body.arguments[2].get(),
                               body.arguments[1].get());
  Value *next = builder.binary(OpKind::Add, body.arguments[0].get(), term);
  builder.setBlock(function.body);
  builder.finishScan(scan, {next}, {next});
  return scan;
}

TEST_F(InterpreterTest, ForwardScanWithOffset) {
  Value *xs = input("xs", floatType({1}, 3), {1, 2, 3, 4, 5, 6});
  Value *scale = param("s", {}, {10});
  Op *scan = buildRunningSum(builder, function, xs, scale, false);
  EXPECT_THAT(run(scan->result(0)), ElementsAre(80, 100));
  EXPECT_THAT(run(scan->result(1)), ElementsAre(30, 40, 80, 100));
}

TEST_F(InterpreterTest, ReverseScanStacksAtStepT) {
  Value *xs = input("xs", floatType({1}, 3), {1, 2, 3, 4, 5, 6});
  Value *scale = param("s", {}, {10});
  Op *scan = buildRunningSum(builder, function, xs, scale, true);
  EXPECT_THAT(run(scan->result(0)), ElementsAre(80, 100));
  EXPECT_THAT(run(scan->result(1)), ElementsAre(80, 100, 50, 60));
}

TEST_F(InterpreterTest, IotaNumbersOneAxisOfItsLayout) {
  EXPECT_THAT(run(builder.iota({5}, 0)), ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(run(builder.iota({2, 3}, 0)), ElementsAre(0, 0, 0, 1, 1, 1));
  EXPECT_THAT(run(builder.iota({2, 3}, 1)), ElementsAre(0, 1, 2, 0, 1, 2));
  // With steps, axis 0 numbers the steps and axis 1 the shape's first axis.
  EXPECT_THAT(run(builder.iota({}, 0, 4)), ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(run(builder.iota({2}, 0, 3)), ElementsAre(0, 0, 1, 1, 2, 2));
  EXPECT_THAT(run(builder.iota({2}, 1, 3)), ElementsAre(0, 1, 0, 1, 0, 1));
}

TEST_F(InterpreterTest, IotaMasksAndCountsSteps) {
  // mask[a, b] = b <= a: the lower triangle, row by row.
  Value *rows = builder.iota({3, 3}, 0);
  Value *columns = builder.iota({3, 3}, 1);
  EXPECT_THAT(run(builder.binary(OpKind::LessEqual, columns, rows)),
              ElementsAre(1, 0, 0, 1, 1, 0, 1, 1, 1));
  // The step number read as a sequence: c' = c + t, stacking c'.
  Value *zero = builder.broadcastBatch(builder.constant(0), false);
  Op *scan =
      builder.beginScan(4, false, {zero}, {builder.iota({}, 0, 4)}, {0}, {});
  Block &body = *scan->body;
  builder.setBlock(body);
  Value *next = builder.binary(OpKind::Add, body.arguments[0].get(),
                               body.arguments[1].get());
  builder.setBlock(function.body);
  builder.finishScan(scan, {next}, {next});
  EXPECT_THAT(run(scan->result(1)), ElementsAre(0, 0, 1, 1, 3, 3, 6, 6));
}

TEST_F(InterpreterTest, MissingBufferDies) {
  Value *x = builder.input("x", floatType({2}));
  function.outputs = {{"out", x}};
  EXPECT_DEATH(evaluate(function, 2, params, inputs), "no buffer for input");
  inputs["x"] = {1, 2, 3};
  EXPECT_DEATH(evaluate(function, 2, params, inputs), "has 3 elements");
}

} // namespace
