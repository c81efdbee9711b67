// Merging duplicate ops: repeats of an op in one block go, the first stays,
// and the values are unchanged; ops that differ in an attribute stay apart.
#include "compiler/opt/MergeDuplicates.h"
#include "OptTestModels.h"
#include "compiler/autodiff/Autodiff.h"

#include <gtest/gtest.h>

namespace weft {
namespace {

using ir::OpKind;
using testing::expectSameOutputs;
using testing::randomBuffers;

/// loss = sum(batch) [sum(x * w) + sum(x * w) + sum(x[0:2] * w[0:2]) +
/// sum(x[1:3] * w[1:3])].
std::unique_ptr<ir::Function> buildRepeats() {
  auto function = std::make_unique<ir::Function>();
  ir::Builder b(*function, function->body);
  ir::Value *x = b.input("x", ir::Type{{3}});
  ir::Value *w = b.param("w", {3});
  ir::Value *first = b.sumAll(b.binary(OpKind::Mul, x, w));
  ir::Value *again = b.sumAll(b.binary(OpKind::Mul, x, w));
  ir::Value *low =
      b.sumAll(b.binary(OpKind::Mul, b.slice(x, 0, 2), b.slice(w, 0, 2)));
  ir::Value *high =
      b.sumAll(b.binary(OpKind::Mul, b.slice(x, 1, 3), b.slice(w, 1, 3)));
  ir::Value *total = b.binary(OpKind::Add, b.binary(OpKind::Add, first, again),
                              b.binary(OpKind::Add, low, high));
  function->outputs.push_back({"loss", b.sumBatch(total, false)});
  return function;
}

int countKind(const ir::Function &function, OpKind kind) {
  int count = 0;
  for (const auto &op : function.body.ops)
    count += op->kind == kind;
  return count;
}

TEST(MergeDuplicates, RepeatsGoAndDifferentSlicesStay) {
  auto function = buildRepeats();
  EXPECT_EQ(opt::mergeDuplicates(*function), 2u) << "the mul and its sum";
  ASSERT_EQ(ir::verify(*function), "");
  EXPECT_EQ(countKind(*function, OpKind::SumAll), 3);
  EXPECT_EQ(countKind(*function, OpKind::Slice), 4);
}

TEST(MergeDuplicates, KeepsValuesAndGradients) {
  std::mt19937_64 rng(17);
  const int64_t batch = 3;
  ir::BufferMap params = randomBuffers({{"w", 3}}, rng);
  ir::BufferMap values = randomBuffers({{"x", batch * 3}}, rng);
  auto plain = buildRepeats();
  auto merged = buildRepeats();
  autodiff::appendGradients(*plain);
  autodiff::appendGradients(*merged);
  EXPECT_GT(opt::mergeDuplicates(*merged), 2u)
      << "autodiff repeats the cotangents of the repeated products";
  ASSERT_EQ(ir::verify(*merged), "");
  expectSameOutputs(*plain, *merged, batch, params, values);
}

} // namespace
} // namespace weft
