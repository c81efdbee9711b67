// The bookkeeping of a reverse pass: primal lookup, cotangent accumulation
// (with the sums that undo broadcasting), zeros, and the walk over a block.
#include "compiler/autodiff/Differentiator.h"

#include <fmt/core.h>

#include <cstdlib>

namespace weft::autodiff {

using namespace ir;

void autodiffFailure(const std::string &message) {
  fmt::print(stderr, "weft autodiff: {}\n", message);
  std::abort();
}

Value *Differentiator::primal(const Value *forward) const {
  auto found = primals.find(forward);
  return found == primals.end() ? const_cast<Value *>(forward) : found->second;
}

void Differentiator::mapPrimal(const Value *forward, Value *visible) {
  primals[forward] = visible;
}

Value *Differentiator::cotangent(const Value *forward) const {
  auto found = cotangents.find(forward);
  return found == cotangents.end() ? nullptr : found->second;
}

Value *Differentiator::reduceTo(Value *contribution, const Type &target) {
  // A value broadcast over steps, the batch or its shape received a
  // cotangent with those axes; its own cotangent is their sum.
  if (contribution->type.isStream() && !target.isStream())
    contribution = builder.sumSteps(contribution);
  if (contribution->type.batched && !target.batched)
    contribution = builder.sumBatch(contribution, /*mean=*/false);
  if (!contribution->type.isScalar() && target.isScalar())
    contribution = builder.sumAll(contribution);
  return contribution;
}

void Differentiator::accumulate(const Value *forward, Value *contribution) {
  if (forward->type.element == ElementType::Int)
    return;
  contribution = reduceTo(contribution, forward->type);
  if (!(contribution->type == forward->type))
    autodiffFailure(fmt::format("cotangent of %{} has type {}, expected {}",
                                forward->id, toString(contribution->type),
                                toString(forward->type)));
  Value *&slot = cotangents[forward];
  slot = slot ? builder.binary(OpKind::Add, slot, contribution) : contribution;
}

Value *Differentiator::zeros(const Type &type) {
  Value *zero = builder.constant(0, type.shape);
  if (type.batched)
    zero = builder.broadcastBatch(zero, /*mean=*/false);
  if (type.isStream())
    zero = builder.streamFill(zero, type.steps);
  return zero;
}

void Differentiator::differentiateBlock(const Block &block) {
  // Snapshot the ops: the reverse pass may append to this very block.
  std::vector<const Op *> forwardOps;
  for (const auto &op : block.ops)
    forwardOps.push_back(op.get());
  for (auto op = forwardOps.rbegin(); op != forwardOps.rend(); ++op)
    applyDerivativeRule(**op, *this);
}

} // namespace weft::autodiff
