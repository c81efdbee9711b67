// Splitting scans: a recurrence that does not read the rest (z) runs in a
// scan of its own, the rest reads it as a sequence, its products become
// step-invariant there, and the function computes the same values and
// gradients.
#include "compiler/opt/SplitScans.h"
#include "OptTestModels.h"
#include "compiler/autodiff/Autodiff.h"
#include "compiler/opt/HoistStepInvariant.h"

#include <gtest/gtest.h>

namespace weft {
namespace {

using ir::OpKind;
using testing::expectSameOutputs;
using testing::randomBuffers;

/// z[t] = tanh(C z[t - 1] + x[t]); h[t] = tanh(U h[t - 1] + V z[t - 1] +
/// P z[t]); per step the scan gives sum(h[t]) and sum(z[t]).
std::unique_ptr<ir::Function> buildTwoRecurrences(int64_t steps, int64_t size) {
  auto function = std::make_unique<ir::Function>();
  ir::Builder top(*function, function->body);
  ir::Value *x =
      top.input("x", ir::Type{{size}, true, steps, ir::ElementType::Float});
  ir::Value *z0 = top.input("z0", ir::Type{{size}});
  ir::Value *h0 = top.input("h0", ir::Type{{size}});
  ir::Value *c = top.param("C", {size, size});
  ir::Value *u = top.param("U", {size, size});
  ir::Value *v = top.param("V", {size, size});
  ir::Value *p = top.param("P", {size, size});
  ir::Op *scan = top.beginScan(steps, false, {h0, z0}, {x}, {0}, {});
  ir::Block &body = *scan->body;
  ir::Builder inner(*function, body);
  ir::Value *h = body.arguments[0].get();
  ir::Value *z = body.arguments[1].get();
  ir::Value *nextZ =
      inner.unary(OpKind::Tanh, inner.binary(OpKind::Add, inner.matVec(c, z),
                                             body.arguments[2].get()));
  ir::Value *mixed =
      inner.binary(OpKind::Add, inner.matVec(u, h), inner.matVec(v, z));
  ir::Value *nextH = inner.unary(
      OpKind::Tanh, inner.binary(OpKind::Add, mixed, inner.matVec(p, nextZ)));
  top.finishScan(scan, {nextH, nextZ},
                 {inner.sumAll(nextH), inner.sumAll(nextZ)});
  ir::Value *total = top.binary(OpKind::Add, top.sumSteps(scan->result(2)),
                                top.sumSteps(scan->result(3)));
  ir::Value *loss =
      top.binary(OpKind::Add, top.sumBatch(total, false),
                 top.sumBatch(top.sumAll(scan->result(0)), false));
  function->outputs.push_back({"loss", loss});
  return function;
}

TEST(SplitScans, TheIndependentRecurrenceRunsFirst) {
  auto function = buildTwoRecurrences(3, 4);
  EXPECT_EQ(opt::splitScans(*function), 1u);
  ASSERT_EQ(ir::verify(*function), "");
  std::vector<const ir::Op *> scans;
  for (const auto &op : function->body.ops)
    if (op->kind == OpKind::Scan)
      scans.push_back(op.get());
  ASSERT_EQ(scans.size(), 2u);
  EXPECT_EQ(scans[0]->numCarries, 1u) << "z";
  EXPECT_EQ(scans[1]->numCarries, 1u) << "h";
  // V z[t - 1] and P z[t] read only z: once split, hoisting takes them out.
  EXPECT_EQ(opt::hoistStepInvariant(*function), 2u);
  ASSERT_EQ(ir::verify(*function), "");
}

TEST(SplitScans, KeepsValuesAndGradients) {
  std::mt19937_64 rng(19);
  const int64_t steps = 4, size = 3, batch = 2;
  ir::BufferMap params = randomBuffers({{"C", size * size},
                                        {"U", size * size},
                                        {"V", size * size},
                                        {"P", size * size}},
                                       rng);
  ir::BufferMap values = randomBuffers(
      {{"x", steps * batch * size}, {"z0", batch * size}, {"h0", batch * size}},
      rng);
  auto plain = buildTwoRecurrences(steps, size);
  auto split = buildTwoRecurrences(steps, size);
  autodiff::appendGradients(*plain);
  opt::splitScans(*split);
  opt::hoistStepInvariant(*split);
  autodiff::appendGradients(*split);
  ASSERT_EQ(ir::verify(*split), "");
  expectSameOutputs(*plain, *split, batch, params, values);
}

TEST(SplitScans, CarriesThatReadEachOtherStayTogether) {
  // h[t] = tanh(z[t - 1]) and z[t] = z[t - 1] + h[t - 1] read each other.
  auto coupled = std::make_unique<ir::Function>();
  ir::Builder top(*coupled, coupled->body);
  ir::Value *h0 = top.input("h0", ir::Type{{4}});
  ir::Value *z0 = top.input("z0", ir::Type{{4}});
  ir::Op *loop = top.beginScan(3, false, {h0, z0}, {}, {}, {});
  ir::Block &body = *loop->body;
  ir::Builder inner(*coupled, body);
  ir::Value *h = body.arguments[0].get();
  ir::Value *z = body.arguments[1].get();
  top.finishScan(
      loop, {inner.unary(OpKind::Tanh, z), inner.binary(OpKind::Add, z, h)},
      {});
  coupled->outputs.push_back(
      {"loss", top.sumBatch(top.sumAll(loop->result(0)), false)});
  EXPECT_EQ(opt::splitScans(*coupled), 0u);
}

} // namespace
} // namespace weft
