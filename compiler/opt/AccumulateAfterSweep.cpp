// Moving accumulated outer products out of scans. The reverse scan that
// autodiff builds carries one accumulator per captured weight, and adds the
// step's weight gradient, an OuterSum of two per-step values, to it at every
// step: a thin GEMM (inner dimension the batch) and a full pass over the
// accumulator per step. Summing over steps commutes with the product, so
// the scan stacks the two factors instead (a sequence it reads at offset 0
// is already stacked) and one OuterSum over every step and example runs
// after the scan.
#include "compiler/opt/AccumulateAfterSweep.h"

#include "compiler/ir/Rewrite.h"

#include <map>
#include <set>

namespace weft::opt {

namespace {

using ir::OpKind;

/// How often each value is read inside `block` (yields included).
std::map<const ir::Value *, unsigned> countReads(const ir::Block &block) {
  std::map<const ir::Value *, unsigned> reads;
  for (const auto &op : block.ops)
    for (const ir::Value *operand : op->operands)
      ++reads[operand];
  for (const ir::Value *yield : block.yields)
    ++reads[yield];
  return reads;
}

class SweepAccumulator {
public:
  SweepAccumulator(ir::Function &function, ir::Op &scan, ir::Block &after)
      : function(function), scan(scan), body(*scan.body),
        builder(function, after), reads(countReads(body)) {
    for (const auto &argument : body.arguments)
      arguments.insert(argument.get());
    for (const auto &op : body.ops)
      for (const auto &result : op->results)
        computed.insert(result.get());
  }

  /// Rewrites every accumulating carry; returns the products moved and
  /// appends the carries left accumulating nothing to `emptied`.
  unsigned run(std::vector<unsigned> &emptied);

private:
  bool varies(const ir::Value *value) const;
  void collectTerms(ir::Value *sum, std::vector<ir::Value *> &terms);
  bool isMovable(const ir::Value *term) const;
  ir::Value *stacked(ir::Value *value);
  unsigned rewriteCarry(unsigned carry, std::vector<unsigned> &emptied);

  ir::Function &function;
  ir::Op &scan;
  ir::Block &body;
  ir::Builder builder;
  std::map<const ir::Value *, unsigned> reads;
  std::set<const ir::Value *> arguments, computed;
  std::map<const ir::Value *, ir::Value *> stacks;
};

/// A value that changes from step to step: computed in the body, or a
/// carry or sequence argument (captures do not change).
bool SweepAccumulator::varies(const ir::Value *value) const {
  if (computed.count(value))
    return true;
  if (!arguments.count(value))
    return false;
  return value->index < scan.numCarries + scan.numSequences;
}

/// The terms of a sum whose inner Adds nothing else reads.
void SweepAccumulator::collectTerms(ir::Value *sum,
                                    std::vector<ir::Value *> &terms) {
  const ir::Op *op = sum->definingOp;
  bool innerAdd = op && op->kind == OpKind::Add && computed.count(sum) &&
                  reads[sum] == 1 && op->operands[0]->type == sum->type &&
                  op->operands[1]->type == sum->type;
  if (!innerAdd) {
    terms.push_back(sum);
    return;
  }
  collectTerms(op->operands[0], terms);
  collectTerms(op->operands[1], terms);
}

bool SweepAccumulator::isMovable(const ir::Value *term) const {
  const ir::Op *op = term->definingOp;
  return op && op->kind == OpKind::OuterSum && computed.count(term) &&
         reads.at(term) == 1 && varies(op->operands[0]) &&
         varies(op->operands[1]);
}

/// `value` at every step, stacked: a sequence read at offset 0 over the
/// scan's steps is its stream; anything else the scan yields per step.
ir::Value *SweepAccumulator::stacked(ir::Value *value) {
  ir::Value *&stack = stacks[value];
  if (stack)
    return stack;
  unsigned position = value->index - scan.numCarries;
  bool isSequence = arguments.count(value) && value->index >= scan.numCarries &&
                    position < scan.numSequences;
  if (isSequence && scan.sequenceOffsets[position] == 0 &&
      scan.operands[value->index]->type.steps == scan.steps)
    return stack = scan.operands[value->index];
  return stack = ir::addStepOutput(function, scan, value);
}

unsigned SweepAccumulator::rewriteCarry(unsigned carry,
                                        std::vector<unsigned> &emptied) {
  ir::Value *argument = body.arguments[carry].get();
  ir::Value *next = body.yields[carry];
  const ir::Op *add = next->definingOp;
  if (!add || add->kind != OpKind::Add || !computed.count(next) ||
      reads[argument] != 1 || reads[next] != 1)
    return 0;
  ir::Value *increment = nullptr;
  if (add->operands[0] == argument)
    increment = add->operands[1];
  else if (add->operands[1] == argument)
    increment = add->operands[0];
  if (!increment || increment->type != argument->type)
    return 0;

  std::vector<ir::Value *> terms, kept;
  collectTerms(increment, terms);
  ir::Value *total = nullptr;
  for (ir::Value *term : terms) {
    if (!isMovable(term)) {
      kept.push_back(term);
      continue;
    }
    const ir::Op &product = *term->definingOp;
    ir::Value *swept = builder.outerSum(stacked(product.operands[0]),
                                        stacked(product.operands[1]));
    swept->hint = term->hint;
    total = total ? builder.binary(OpKind::Add, total, swept) : swept;
  }
  if (!total)
    return 0;

  // The body keeps adding what did not move; the dead adds and products
  // go with dead-code elimination.
  ir::Builder inner(function, body);
  ir::Value *rest = argument;
  for (ir::Value *term : kept)
    rest = inner.binary(OpKind::Add, rest, term);
  body.yields[carry] = rest;

  ir::Value *final = scan.result(carry);
  ir::Value *initial = scan.operands[carry];
  const ir::Op *initialOp = initial->definingOp;
  bool zeroStart = initialOp && initialOp->kind == OpKind::Constant &&
                   initialOp->value == 0 && initial->type == final->type;
  ir::Value *sum;
  if (kept.empty()) {
    emptied.push_back(carry);
    sum = zeroStart ? total : builder.binary(OpKind::Add, initial, total);
    ir::replaceAllUses(function, final, sum);
  } else {
    ir::Value *placeholder = builder.constant(0, final->type.shape);
    sum = builder.binary(OpKind::Add, placeholder, total);
    ir::replaceAllUses(function, final, sum);
    sum->definingOp->operands[0] = final;
  }
  return terms.size() - kept.size();
}

unsigned SweepAccumulator::run(std::vector<unsigned> &emptied) {
  unsigned moved = 0;
  for (unsigned carry = 0; carry < scan.numCarries; ++carry)
    if (body.arguments[carry]->type.element == ir::ElementType::Float &&
        !body.arguments[carry]->type.batched)
      moved += rewriteCarry(carry, emptied);
  return moved;
}

} // namespace

unsigned accumulateAfterSweep(ir::Function &function) {
  // The sums over all steps go just after the scan whose stacks they read.
  std::vector<std::pair<ir::Op *, std::vector<unsigned>>> emptiedCarries;
  unsigned total = ir::rewriteScans(
      function, [&](ir::Op &scan, ir::Block &, ir::Block &after) {
        std::vector<unsigned> emptied;
        unsigned moved = SweepAccumulator(function, scan, after).run(emptied);
        if (!emptied.empty())
          emptiedCarries.push_back({&scan, emptied});
        return moved;
      });
  if (total == 0)
    return 0;
  // A carry that accumulates nothing is read only by its own yield once
  // the dead adds are gone.
  ir::eliminateDeadCode(function);
  for (auto &[scan, emptied] : emptiedCarries)
    for (auto carry = emptied.rbegin(); carry != emptied.rend(); ++carry)
      ir::removeCarry(*scan, *carry);
  ir::eliminateDeadCode(function);
  return total;
}

} // namespace weft::opt
