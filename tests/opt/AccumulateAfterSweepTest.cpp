// Weight gradients after the sweep: the outer products a reverse scan
// accumulated step by step become one product over all steps after it, and
// the function computes the same values.
#include "compiler/opt/AccumulateAfterSweep.h"
#include "OptTestModels.h"
#include "compiler/autodiff/Autodiff.h"

#include <gtest/gtest.h>

namespace weft {
namespace {

using ir::OpKind;
using testing::buildElman;
using testing::expectSameOutputs;
using testing::randomBuffers;

/// The ops of kind `kind` in `block` and, when `nested`, in scan bodies.
int countOps(const ir::Block &block, OpKind kind, bool nested) {
  int count = 0;
  for (const auto &op : block.ops) {
    count += op->kind == kind;
    if (nested && op->body)
      count += countOps(*op->body, kind, true);
  }
  return count;
}

const ir::Op *reverseScan(const ir::Function &function) {
  for (const auto &op : function.body.ops)
    if (op->kind == OpKind::Scan && op->reverse)
      return op.get();
  return nullptr;
}

TEST(AccumulateAfterSweep, MovesBothWeightGradientsOutOfTheReverseScan) {
  auto function = buildElman(4, 3, 5);
  autodiff::appendGradients(*function);
  const ir::Op *reverse = reverseScan(*function);
  ASSERT_NE(reverse, nullptr);
  unsigned carriesBefore = reverse->numCarries;
  ASSERT_EQ(countOps(*reverse->body, OpKind::OuterSum, false), 2);

  EXPECT_EQ(opt::accumulateAfterSweep(*function), 2u);
  ASSERT_EQ(ir::verify(*function), "");
  reverse = reverseScan(*function);
  ASSERT_NE(reverse, nullptr);
  EXPECT_EQ(countOps(*reverse->body, OpKind::OuterSum, false), 0);
  EXPECT_EQ(reverse->numCarries, carriesBefore - 2)
      << "the accumulators of W and U are gone";
  int sweptProducts = 0;
  for (const auto &op : function->body.ops)
    sweptProducts +=
        op->kind == OpKind::OuterSum && op->operands[0]->type.isStream();
  EXPECT_EQ(sweptProducts, 2);
}

TEST(AccumulateAfterSweep, KeepsValuesAndGradients) {
  const int64_t steps = 5, inputs = 3, hidden = 4, batch = 3;
  testing::ElmanBuffers buffers(steps, inputs, hidden, batch, 7);
  auto plain = buildElman(steps, inputs, hidden);
  auto swept = buildElman(steps, inputs, hidden);
  autodiff::appendGradients(*plain);
  autodiff::appendGradients(*swept);
  opt::accumulateAfterSweep(*swept);
  ASSERT_EQ(ir::verify(*swept), "");
  expectSameOutputs(*plain, *swept, batch, buffers.params, buffers.values);
}

/// h[t] = tanh(U h[t - 1] + (U * U) h[t - 1] + x[t]): U's step gradient is
/// an outer product plus terms that are not, which stay in the scan.
std::unique_ptr<ir::Function> buildSquaredWeight(int64_t steps,
                                                 int64_t hidden) {
  auto function = std::make_unique<ir::Function>();
  ir::Builder top(*function, function->body);
  ir::Value *x =
      top.input("x", ir::Type{{hidden}, true, steps, ir::ElementType::Float});
  ir::Value *h0 = top.input("h0", ir::Type{{hidden}});
  ir::Value *u = top.param("U", {hidden, hidden});
  ir::Op *scan = top.beginScan(steps, false, {h0}, {x}, {0}, {u});
  ir::Block &body = *scan->body;
  ir::Builder inner(*function, body);
  ir::Value *carry = body.arguments[0].get();
  ir::Value *weight = body.arguments[2].get();
  ir::Value *squared = inner.binary(OpKind::Mul, weight, weight);
  ir::Value *sum = inner.binary(OpKind::Add, inner.matVec(weight, carry),
                                inner.matVec(squared, carry));
  ir::Value *next = inner.unary(
      OpKind::Tanh, inner.binary(OpKind::Add, sum, body.arguments[1].get()));
  top.finishScan(scan, {next}, {inner.sumAll(next)});
  ir::Value *loss = top.sumBatch(top.sumSteps(scan->result(1)), false);
  function->outputs.push_back({"loss", loss});
  return function;
}

TEST(AccumulateAfterSweep, TermsThatAreNotOuterProductsStayInTheScan) {
  std::mt19937_64 rng(11);
  const int64_t steps = 4, hidden = 3, batch = 2;
  ir::BufferMap params = randomBuffers({{"U", hidden * hidden}}, rng);
  ir::BufferMap values = randomBuffers(
      {{"x", steps * batch * hidden}, {"h0", batch * hidden}}, rng);
  auto plain = buildSquaredWeight(steps, hidden);
  auto swept = buildSquaredWeight(steps, hidden);
  autodiff::appendGradients(*plain);
  autodiff::appendGradients(*swept);
  EXPECT_EQ(opt::accumulateAfterSweep(*swept), 1u);
  ASSERT_EQ(ir::verify(*swept), "");
  const ir::Op *reverse = reverseScan(*swept);
  ASSERT_NE(reverse, nullptr);
  EXPECT_EQ(countOps(*reverse->body, OpKind::OuterSum, false), 1)
      << "the product that feeds U * U stays";
  expectSameOutputs(*plain, *swept, batch, params, values);
}

} // namespace
} // namespace weft
