// Fusing products that share their vector, and joining the padded slices
// of their cotangents: a two-gate cell's recurrent products become one
// product of the stacked matrix, forward and backward, and the function
// computes the same values and gradients.
#include "compiler/opt/FuseSharedProducts.h"
#include "OptTestModels.h"
#include "compiler/autodiff/Autodiff.h"
#include "compiler/opt/AccumulateAfterSweep.h"
#include "compiler/opt/JoinPaddedSlices.h"

#include <gtest/gtest.h>

namespace weft {
namespace {

using ir::OpKind;
using testing::expectSameOutputs;
using testing::randomBuffers;

/// h[t] = sigmoid(A h + x[t]) * tanh(B h + C x[t]) + sum(D h), with h =
/// h[t - 1]: A, B and D (of another height, and read as an outer value
/// rather than a capture) multiply the same h; C multiplies x[t].
std::unique_ptr<ir::Function> buildGatedCell(int64_t steps, int64_t hidden) {
  auto function = std::make_unique<ir::Function>();
  ir::Builder top(*function, function->body);
  ir::Value *x =
      top.input("x", ir::Type{{hidden}, true, steps, ir::ElementType::Float});
  ir::Value *h0 = top.input("h0", ir::Type{{hidden}});
  ir::Value *a = top.param("A", {hidden, hidden});
  ir::Value *b = top.param("B", {hidden, hidden});
  ir::Value *c = top.param("C", {hidden, hidden});
  ir::Value *d = top.param("D", {2, hidden});
  ir::Op *scan = top.beginScan(steps, false, {h0}, {x}, {0}, {a, b});
  ir::Block &body = *scan->body;
  ir::Builder inner(*function, body);
  ir::Value *h = body.arguments[0].get();
  ir::Value *input = body.arguments[1].get();
  ir::Value *gate = inner.unary(
      OpKind::Sigmoid,
      inner.binary(OpKind::Add, inner.matVec(body.arguments[2].get(), h),
                   input));
  // C reads the input, not h: it stays a product of its own.
  ir::Value *candidate = inner.unary(
      OpKind::Tanh,
      inner.binary(OpKind::Add, inner.matVec(body.arguments[3].get(), h),
                   inner.matVec(c, input)));
  ir::Value *summary = inner.sumAll(inner.matVec(d, h));
  ir::Value *next = inner.binary(
      OpKind::Add, inner.binary(OpKind::Mul, gate, candidate), summary);
  top.finishScan(scan, {next}, {inner.sumAll(next)});
  ir::Value *loss = top.sumBatch(top.sumSteps(scan->result(1)), false);
  function->outputs.push_back({"loss", loss});
  return function;
}

const ir::Op *findScan(const ir::Function &function, bool reverse) {
  for (const auto &op : function.body.ops)
    if (op->kind == OpKind::Scan && op->reverse == reverse)
      return op.get();
  return nullptr;
}

TEST(FuseSharedProducts, OneProductOfTheStackedMatrices) {
  auto function = buildGatedCell(3, 4);
  EXPECT_EQ(opt::fuseSharedProducts(*function), 3u);
  ASSERT_EQ(ir::verify(*function), "");
  const ir::Op *scan = findScan(*function, false);
  ASSERT_NE(scan, nullptr);
  std::vector<int64_t> widths;
  for (const auto &op : scan->body->ops)
    if (op->kind == OpKind::MatVec)
      widths.push_back(op->result()->type.shape[0]);
  // The stacked [A; B; D] h, and C x on its own.
  EXPECT_EQ(widths, (std::vector<int64_t>{10, 4}));
}

TEST(FuseSharedProducts, CotangentsOfTheSlicesAreJoined) {
  auto function = buildGatedCell(3, 4);
  opt::fuseSharedProducts(*function);
  autodiff::appendGradients(*function);
  EXPECT_EQ(opt::joinPaddedSlices(*function), 1u);
  ASSERT_EQ(ir::verify(*function), "");
  const ir::Op *reverse = findScan(*function, true);
  ASSERT_NE(reverse, nullptr);
  int concats = 0, padded = 0;
  for (const auto &op : reverse->body->ops) {
    concats += op->kind == OpKind::Concat;
    padded += op->kind == OpKind::PadSlice;
  }
  EXPECT_EQ(concats, 1);
  EXPECT_EQ(padded, 0);
}

TEST(FuseSharedProducts, KeepsValuesAndGradients) {
  std::mt19937_64 rng(13);
  const int64_t steps = 4, hidden = 3, batch = 2;
  ir::BufferMap params = randomBuffers({{"A", hidden * hidden},
                                        {"B", hidden * hidden},
                                        {"C", hidden * hidden},
                                        {"D", 2 * hidden}},
                                       rng);
  ir::BufferMap values = randomBuffers(
      {{"x", steps * batch * hidden}, {"h0", batch * hidden}}, rng);
  auto plain = buildGatedCell(steps, hidden);
  auto fused = buildGatedCell(steps, hidden);
  autodiff::appendGradients(*plain);
  opt::fuseSharedProducts(*fused);
  autodiff::appendGradients(*fused);
  opt::joinPaddedSlices(*fused);
  opt::accumulateAfterSweep(*fused);
  ASSERT_EQ(ir::verify(*fused), "");
  expectSameOutputs(*plain, *fused, batch, params, values);
}

/// loss = sum(tanh(W x) * U x) outside any scan, with U declared after the
/// product W x reads x, as the front end declares a parameter where it is
/// first used.
std::unique_ptr<ir::Function> buildTopLevelPair(int64_t size) {
  auto function = std::make_unique<ir::Function>();
  ir::Builder top(*function, function->body);
  ir::Value *x = top.input("x", ir::Type{{size}});
  ir::Value *w = top.param("W", {size, size});
  ir::Value *first = top.unary(OpKind::Tanh, top.matVec(w, x));
  ir::Value *u = top.param("U", {size, size});
  ir::Value *second = top.matVec(u, x);
  ir::Value *loss =
      top.sumBatch(top.sumAll(top.binary(OpKind::Mul, first, second)), false);
  function->outputs.push_back({"loss", loss});
  return function;
}

// The stacked [W; U] is built where W x was, so U's declaration moves up.
TEST(FuseSharedProducts, ParametersDeclaredLaterMoveBeforeTheStack) {
  std::mt19937_64 rng(17);
  const int64_t size = 3, batch = 2;
  ir::BufferMap params =
      randomBuffers({{"W", size * size}, {"U", size * size}}, rng);
  ir::BufferMap values = randomBuffers({{"x", batch * size}}, rng);
  auto plain = buildTopLevelPair(size);
  auto fused = buildTopLevelPair(size);
  EXPECT_EQ(opt::fuseSharedProducts(*fused), 2u);
  ASSERT_EQ(ir::verify(*fused), "");
  autodiff::appendGradients(*plain);
  autodiff::appendGradients(*fused);
  ASSERT_EQ(ir::verify(*fused), "");
  expectSameOutputs(*plain, *fused, batch, params, values);
}

} // namespace
} // namespace weft
