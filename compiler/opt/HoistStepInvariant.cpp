// Hoisting step-invariant work out of scans. An op of a scan body is
// hoisted when it is of a kind whose IR form applies step by step to whole
// streams, every operand is a sequence element, a captured value or an
// already hoisted value, and at least one operand varies with the step.
// Its stream form is built before the scan; a hoisted value that the body
// still needs enters as a new sequence. Because autodiff runs afterwards,
// the reverse pass gets the same shape: the cotangent of the new sequence
// leaves the reverse scan stacked, and the weight gradient becomes one
// product over all steps after the sweep.
#include "compiler/opt/HoistStepInvariant.h"

#include "compiler/ir/Rewrite.h"

#include <algorithm>
#include <map>
#include <set>

namespace weft::opt {

namespace {

using ir::OpKind;

/// Kinds whose stream form the IR, autodiff and the lowering support.
bool isHoistable(const ir::Op &op) {
  switch (op.kind) {
  case OpKind::Neg:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Sigmoid:
  case OpKind::Tanh:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Gather:
    return true;
  case OpKind::MatVec:
    return !op.transpose;
  default:
    return false;
  }
}

/// Builds the stream form of a hoisted body op from outer operands.
ir::Value *buildStreamForm(ir::Builder &builder, const ir::Op &op,
                           const std::vector<ir::Value *> &operands) {
  switch (op.kind) {
  case OpKind::MatVec:
    return builder.matVec(operands[0], operands[1]);
  case OpKind::Gather:
    return builder.gather(operands[0], operands[1]);
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
    return builder.binary(op.kind, operands[0], operands[1]);
  default:
    return builder.unary(op.kind, operands[0]);
  }
}

class ScanHoister {
public:
  ScanHoister(ir::Function &function, ir::Op &scan, ir::Block &before)
      : function(function), scan(scan), builder(function, before) {}

  unsigned run();

private:
  void mapArguments();
  ir::Value *outerValue(ir::Value *value);
  void hoistOps();
  void addSequences();
  void removeHoistedOps();

  ir::Function &function;
  ir::Op &scan;
  ir::Builder builder;
  /// Body value -> the top-level value it stands for (stream or not).
  std::map<ir::Value *, ir::Value *> outer;
  /// Sequence elements, by their sequence's position.
  std::map<ir::Value *, unsigned> sequences;
  /// Body values that change from step to step.
  std::set<ir::Value *> varying;
  std::set<ir::Op *> hoisted;
};

/// Sequence elements stand for their whole stream, aligned to the scan's
/// steps when first needed; captures stand for themselves.
void ScanHoister::mapArguments() {
  ir::Block &body = *scan.body;
  for (unsigned i = 0; i < scan.numSequences; ++i) {
    ir::Value *argument = body.arguments[scan.numCarries + i].get();
    sequences[argument] = i;
    varying.insert(argument);
  }
  for (unsigned i = scan.numCarries + scan.numSequences;
       i < scan.operands.size(); ++i)
    outer[body.arguments[i].get()] = scan.operands[i];
}

/// The top-level value a body value stands for, or null if there is none.
ir::Value *ScanHoister::outerValue(ir::Value *value) {
  if (auto found = outer.find(value); found != outer.end())
    return found->second;
  auto sequence = sequences.find(value);
  if (sequence == sequences.end())
    return nullptr;
  ir::Value *stream = scan.operands[scan.numCarries + sequence->second];
  int64_t offset = scan.sequenceOffsets[sequence->second];
  if (offset != 0 || stream->type.steps != scan.steps)
    stream = builder.streamSlice(stream, offset, offset + scan.steps);
  return outer[value] = stream;
}

void ScanHoister::hoistOps() {
  // Values of the top level that the body reads directly stand for
  // themselves, like captures.
  std::set<const ir::Value *> local;
  for (const auto &argument : scan.body->arguments)
    local.insert(argument.get());
  for (const auto &op : scan.body->ops)
    for (const auto &result : op->results)
      local.insert(result.get());
  for (const auto &op : scan.body->ops)
    for (ir::Value *operand : op->operands)
      if (!local.count(operand))
        outer[operand] = operand;
  for (const auto &op : scan.body->ops) {
    if (!isHoistable(*op))
      continue;
    std::vector<ir::Value *> operands;
    bool steps = false;
    for (ir::Value *operand : op->operands) {
      bool known = outer.count(operand) || sequences.count(operand);
      if (!known)
        break;
      steps = steps || varying.count(operand);
      operands.push_back(operand);
    }
    if (operands.size() != op->operands.size() || !steps)
      continue;
    for (ir::Value *&operand : operands)
      operand = outerValue(operand);
    builder.range = op->range;
    ir::Value *stream = buildStreamForm(builder, *op, operands);
    stream->hint = op->result()->hint;
    outer[op->result()] = stream;
    varying.insert(op->result());
    hoisted.insert(op.get());
  }
}

/// Every hoisted value still used in the body enters as a new sequence.
void ScanHoister::addSequences() {
  ir::Block &body = *scan.body;
  std::map<ir::Value *, ir::Value *> replacement;
  auto argumentFor = [&](ir::Value *value) {
    ir::Value *&argument = replacement[value];
    if (!argument)
      argument = ir::addSequence(function, scan, outer.at(value), 0);
    return argument;
  };
  auto isHoistedValue = [&](ir::Value *value) {
    return value->definingOp && hoisted.count(value->definingOp);
  };
  for (const auto &op : body.ops) {
    if (hoisted.count(op.get()))
      continue;
    for (ir::Value *&operand : op->operands)
      if (isHoistedValue(operand))
        operand = argumentFor(operand);
  }
  for (ir::Value *&yield : body.yields)
    if (isHoistedValue(yield))
      yield = argumentFor(yield);
}

void ScanHoister::removeHoistedOps() {
  auto &ops = scan.body->ops;
  ops.erase(std::remove_if(ops.begin(), ops.end(),
                           [&](const std::unique_ptr<ir::Op> &op) {
                             return hoisted.count(op.get()) != 0;
                           }),
            ops.end());
}

unsigned ScanHoister::run() {
  mapArguments();
  hoistOps();
  if (hoisted.empty())
    return 0;
  addSequences();
  removeHoistedOps();
  // Sequences and captures that only hoisted ops read are dropped, so that
  // the reverse pass does not carry gradients for them.
  ir::removeUnusedScanArguments(scan);
  return hoisted.size();
}

} // namespace

unsigned hoistStepInvariant(ir::Function &function) {
  // The stream forms go just before the scan that reads them.
  return ir::rewriteScans(
      function, [&](ir::Op &scan, ir::Block &before, ir::Block &) {
        return scan.reverse ? 0u : ScanHoister(function, scan, before).run();
      });
}

} // namespace weft::opt
