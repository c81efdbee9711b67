// Hoisting out of scans: the products that do not depend on the carry move
// before the scan as stream ops, and the function computes the same values,
// forward and after autodiff.
#include "compiler/opt/HoistStepInvariant.h"
#include "OptTestModels.h"
#include "compiler/autodiff/Autodiff.h"

#include <gtest/gtest.h>

namespace weft {
namespace {

using ir::OpKind;
using testing::buildElman;
using testing::expectSameOutputs;
using testing::randomBuffers;

TEST(HoistStepInvariant, MovesTheInputProjectionOutOfTheScan) {
  auto function = buildElman(4, 3, 5);
  EXPECT_EQ(opt::hoistStepInvariant(*function), 2u);
  EXPECT_EQ(ir::verify(*function), "");

  const ir::Op *scan = nullptr;
  int streamProducts = 0;
  for (const auto &op : function->body.ops) {
    if (op->kind == OpKind::Scan)
      scan = op.get();
    else if (op->kind == OpKind::MatVec && op->result()->type.isStream())
      ++streamProducts;
  }
  ASSERT_NE(scan, nullptr);
  EXPECT_EQ(streamProducts, 1);
  int bodyProducts = 0;
  for (const auto &op : scan->body->ops)
    bodyProducts += op->kind == OpKind::MatVec;
  EXPECT_EQ(bodyProducts, 1) << "only the recurrent product stays";
}

TEST(HoistStepInvariant, KeepsValuesAndGradients) {
  const int64_t steps = 4, inputs = 3, hidden = 5, batch = 2;
  testing::ElmanBuffers buffers(steps, inputs, hidden, batch, 3);
  auto plain = buildElman(steps, inputs, hidden);
  auto hoisted = buildElman(steps, inputs, hidden);
  opt::hoistStepInvariant(*hoisted);
  autodiff::appendGradients(*plain);
  autodiff::appendGradients(*hoisted);
  ASSERT_EQ(ir::verify(*hoisted), "");

  expectSameOutputs(*plain, *hoisted, batch, buffers.params, buffers.values);
}

/// h[t] = tanh(x[t] * t + iota + U h[t - 1]), with the step number t read
/// from an Iota stream and an Iota built inside the body; loss as above.
std::unique_ptr<ir::Function> buildStepCounting(int64_t steps, int64_t hidden) {
  auto function = std::make_unique<ir::Function>();
  ir::Builder top(*function, function->body);
  ir::Value *x =
      top.input("x", ir::Type{{hidden}, true, steps, ir::ElementType::Float});
  ir::Value *h0 = top.input("h0", ir::Type{{hidden}});
  ir::Value *u = top.param("U", {hidden, hidden});
  ir::Value *stepNumbers = top.iota({}, 0, steps);
  ir::Op *scan =
      top.beginScan(steps, false, {h0}, {x, stepNumbers}, {0, 0}, {u});
  ir::Block &body = *scan->body;
  ir::Builder inner(*function, body);
  ir::Value *timed = inner.binary(OpKind::Mul, body.arguments[1].get(),
                                  body.arguments[2].get());
  ir::Value *positioned =
      inner.binary(OpKind::Add, timed, inner.iota({hidden}, 0));
  ir::Value *next = inner.unary(
      OpKind::Tanh, inner.binary(OpKind::Add, positioned,
                                 inner.matVec(body.arguments[3].get(),
                                              body.arguments[0].get())));
  top.finishScan(scan, {next}, {inner.sumAll(next)});
  ir::Value *loss = top.sumBatch(top.sumSteps(scan->result(1)), true);
  function->outputs.push_back({"loss", loss});
  return function;
}

// The product of two sequence elements (one the Iota stream) is hoisted;
// the Iota inside the body is a leaf, so the add that reads it stays.
TEST(HoistStepInvariant, IotaLeavesStayAndIotaStreamsAreSequences) {
  std::mt19937_64 rng(5);
  const int64_t steps = 3, hidden = 4, batch = 2;
  ir::BufferMap params = randomBuffers({{"U", hidden * hidden}}, rng);
  ir::BufferMap values = randomBuffers(
      {{"x", steps * batch * hidden}, {"h0", batch * hidden}}, rng);

  auto plain = buildStepCounting(steps, hidden);
  auto hoisted = buildStepCounting(steps, hidden);
  EXPECT_EQ(opt::hoistStepInvariant(*hoisted), 1u);
  ASSERT_EQ(ir::verify(*hoisted), "");
  const ir::Op *scan = nullptr;
  for (const auto &op : hoisted->body.ops)
    if (op->kind == OpKind::Scan)
      scan = op.get();
  ASSERT_NE(scan, nullptr);
  bool iotaInBody = false;
  for (const auto &op : scan->body->ops)
    iotaInBody = iotaInBody || op->kind == OpKind::Iota;
  EXPECT_TRUE(iotaInBody);

  autodiff::appendGradients(*plain);
  autodiff::appendGradients(*hoisted);
  ASSERT_EQ(ir::verify(*hoisted), "");
  expectSameOutputs(*plain, *hoisted, batch, params, values);
}

} // namespace
} // namespace weft
