// Lowering's skeleton: gives every value a place in memory (a buffer or a
// view into one), walks the blocks, turns each Scan into a TimeLoop with its
// carries and stacked outputs, and copies the function's outputs out.
#include "compiler/lower/Lower.h"
#include "compiler/lower/LowerContext.h"

#include <fmt/core.h>

#include <cassert>

namespace weft::lower {

int64_t elementsOf(const ir::Type &type) { return type.elementCount(); }

Size stepSize(const ir::Type &type) {
  int64_t elements = elementsOf(type);
  return type.batched ? Size{0, elements} : Size{elements, 0};
}

Size totalSize(const ir::Type &type) {
  return stepSize(type) * (type.isStream() ? type.steps : 1);
}

Size rowCount(const ir::Type &type) {
  Size rows = type.batched ? Size::batch() : Size{1, 0};
  return rows * (type.isStream() ? type.steps : 1);
}

ElementKind elementKind(const ir::Type &type) {
  return type.element == ir::ElementType::Int ? ElementKind::Int
                                              : ElementKind::Float;
}

std::vector<Size> domainExtents(const ir::Type &domain, bool withElements) {
  std::vector<Size> extents;
  if (domain.isStream())
    extents.push_back({domain.steps, 0});
  if (domain.batched)
    extents.push_back(Size::batch());
  if (withElements)
    extents.push_back({elementsOf(domain), 0});
  return extents;
}

std::vector<Size> broadcastStrides(const ir::Type &type, const ir::Type &domain,
                                   bool withElements) {
  std::vector<Size> strides;
  if (domain.isStream())
    strides.push_back(type.isStream() ? stepSize(type) : Size{});
  if (domain.batched)
    strides.push_back(type.batched ? Size{elementsOf(type), 0} : Size{});
  if (withElements)
    strides.push_back(type.isScalar() ? Size{} : Size{1, 0});
  return strides;
}

//===----------------------------------------------------------------------===//
// Values and buffers
//===----------------------------------------------------------------------===//

void Lowering::analyseUses(const ir::Block &block) {
  for (const auto &op : block.ops) {
    blockOf[op.get()] = &block;
    for (const ir::Value *operand : op->operands) {
      ++useCounts[operand];
      operandUser[operand] = op.get();
    }
    if (op->body)
      analyseUses(*op->body);
  }
  for (const ir::Value *yield : block.yields) {
    ++useCounts[yield];
    yieldedOrOutput.insert(yield);
  }
}

int Lowering::addBuffer(std::string name, BufferRole role, ElementKind element,
                        Size size) {
  program.buffers.push_back({std::move(name), role, element, size});
  return static_cast<int>(program.buffers.size()) - 1;
}

/// Params and inputs come first in the buffer table, one buffer per name.
void Lowering::createLeafBuffers() {
  for (BufferRole role : {BufferRole::Param, BufferRole::Input}) {
    ir::OpKind kind =
        role == BufferRole::Param ? ir::OpKind::Param : ir::OpKind::Input;
    for (const auto &op : function.body.ops) {
      if (op->kind != kind)
        continue;
      const ir::Value *value = op->result();
      std::string key = fmt::format("{}:{}", roleName(role), op->name);
      auto found = leafBuffers.find(key);
      if (found == leafBuffers.end())
        found = leafBuffers
                    .emplace(key,
                             addBuffer(op->name, role, elementKind(value->type),
                                       totalSize(value->type)))
                    .first;
      views[value] = View{found->second, {}, {}};
    }
  }
}

/// Each output gets its own buffer. The op computing an output writes into
/// it directly; leaves and values that are already another output's are
/// copied at the end.
void Lowering::createOutputBuffers() {
  for (const ir::NamedValue &output : function.outputs) {
    const ir::Value *value = output.value;
    ++useCounts[value];
    yieldedOrOutput.insert(value);
    int buffer = addBuffer(output.name, BufferRole::Output,
                           elementKind(value->type), totalSize(value->type));
    const ir::Op *definer = value->definingOp;
    bool isLeaf = !definer || definer->kind == ir::OpKind::Param ||
                  definer->kind == ir::OpKind::Input;
    if (isLeaf || destinations.count(value))
      outputCopies.push_back({value, buffer});
    else
      destinations[value] = View{buffer, {}, {}};
  }
}

View Lowering::resultView(const ir::Value *value) {
  auto destination = destinations.find(value);
  if (destination != destinations.end())
    return views[value] = destination->second;
  int buffer = addBuffer(fmt::format("%{}", value->id), BufferRole::Temp,
                         elementKind(value->type), totalSize(value->type));
  return views[value] = View{buffer, {}, {}};
}

const View &Lowering::viewOf(const ir::Value *value) const {
  auto found = views.find(value);
  assert(found != views.end() && "value used before it was lowered");
  return found->second;
}

Access Lowering::accessOf(const View &view,
                          std::vector<Size> dimStrides) const {
  return Access{view.buffer,
                Index{view.base, std::move(dimStrides), view.timeTerms}};
}

void Lowering::emitCopy(const View &destination, const View &source,
                        Size count) {
  emit({Copy{accessOf(destination), accessOf(source), count}});
}

void Lowering::emitZero(const View &destination, const ir::Type &type) {
  Expr zero;
  zero.kind = ExprKind::Constant;
  emit({ElementwiseKernel{
      "zero", {totalSize(type)}, accessOf(destination, {{1, 0}}), zero}});
}

//===----------------------------------------------------------------------===//
// Blocks and ops
//===----------------------------------------------------------------------===//

bool Lowering::run() {
  program.name = function.name;
  statements = &program.body;
  analyseUses(function.body);
  createLeafBuffers();
  createOutputBuffers();
  if (!lowerBlock(function.body))
    return false;
  for (const auto &[value, buffer] : outputCopies)
    emitCopy(View{buffer, {}, {}}, viewOf(value), totalSize(value->type));
  return true;
}

bool Lowering::lowerBlock(const ir::Block &block) {
  for (const auto &op : block.ops)
    if (!lowerOp(*op))
      return false;
  return true;
}

bool Lowering::lowerOp(const ir::Op &op) {
  using ir::OpKind;
  switch (op.kind) {
  case OpKind::Param:
  case OpKind::Input:
    return true; // Their buffers exist already.
  case OpKind::Scan:
    return lowerScan(op);
  case OpKind::Slice:
    lowerSlice(op);
    return true;
  case OpKind::Concat:
    lowerConcat(op);
    return true;
  case OpKind::PadSlice:
    lowerPadSlice(op);
    return true;
  case OpKind::Reshape:
    lowerReshape(op);
    return true;
  case OpKind::Iota:
    lowerIota(op);
    return true;
  case OpKind::Einsum:
    lowerEinsum(op);
    return true;
  case OpKind::StreamAt:
  case OpKind::StreamSlice:
    lowerStreamCopy(op);
    return true;
  case OpKind::StreamPlace:
  case OpKind::StreamPad:
    lowerStreamPlace(op);
    return true;
  case OpKind::MatVec:
    lowerMatVec(op);
    return true;
  case OpKind::OuterSum:
    lowerOuterSum(op);
    return true;
  case OpKind::SumBatch:
  case OpKind::SumAll:
  case OpKind::SumSteps:
    lowerReduce(op);
    return true;
  case OpKind::Softmax:
  case OpKind::SoftmaxGrad:
  case OpKind::LogSoftmax:
  case OpKind::LogSoftmaxGrad:
  case OpKind::MaxLast:
  case OpKind::CrossEntropy:
  case OpKind::CrossEntropyGrad:
    lowerRowKernel(op);
    return true;
  case OpKind::Gather:
    lowerGather(op);
    return true;
  case OpKind::ScatterAddRows:
    lowerScatterAddRows(op);
    return true;
  default:
    // Constant, Fill, BroadcastBatch, StreamFill and the arithmetic ops.
    lowerElementwise(op);
    return true;
  }
}

//===----------------------------------------------------------------------===//
// Scans
//===----------------------------------------------------------------------===//

/// Binds the body's arguments: each carry to a buffer that holds it across
/// steps (initialised here), each sequence to a view of its stream at step
/// t + offset, each capture to the captured value itself.
void Lowering::bindScanArguments(const ir::Op &scan, int loop,
                                 std::vector<View> &carryViews) {
  const ir::Block &body = *scan.body;
  for (unsigned i = 0; i < scan.numCarries; ++i) {
    View carry = resultView(scan.result(i));
    emitCopy(carry, viewOf(scan.operands[i]),
             totalSize(scan.operands[i]->type));
    carryViews.push_back(carry);
    views[body.arguments[i].get()] = carry;
  }
  for (unsigned i = 0; i < scan.numSequences; ++i) {
    const ir::Value *stream = scan.operands[scan.numCarries + i];
    Size step = stepSize(stream->type);
    View slice = viewOf(stream);
    slice.base = slice.base + step * scan.sequenceOffsets[i];
    slice.timeTerms.push_back({loop, step});
    views[body.arguments[scan.numCarries + i].get()] = slice;
  }
  for (unsigned i = scan.numCarries + scan.numSequences;
       i < scan.operands.size(); ++i)
    views[body.arguments[i].get()] = viewOf(scan.operands[i]);
}

/// Each per-step output is written at step t of its stacked result: by the
/// op that computes it when that op is in the body, else by a copy.
void Lowering::planStepOutputs(
    const ir::Op &scan, int loop,
    std::vector<std::pair<const ir::Value *, View>> &copies) {
  const ir::Block &body = *scan.body;
  for (unsigned i = scan.numCarries; i < scan.results.size(); ++i) {
    const ir::Value *yield = body.yields[i];
    View step = resultView(scan.result(i));
    step.timeTerms.push_back({loop, totalSize(yield->type)});
    const ir::Op *definer = yield->definingOp;
    bool inBody = definer && blockOf.at(definer) == &body;
    if (!inBody || destinations.count(yield)) {
      copies.push_back({yield, step});
      continue;
    }
    destinations[yield] = step;
    // A reshape keeps the layout, so the value it reshapes can be computed
    // at step t directly when nothing else reads that value.
    if (definer->kind != ir::OpKind::Reshape)
      continue;
    const ir::Value *reshaped = definer->operands[0];
    const ir::Op *producer = reshaped->definingOp;
    if (producer && blockOf.at(producer) == &body && useCounts[reshaped] == 1 &&
        !yieldedOrOutput.count(reshaped) && !destinations.count(reshaped)) {
      destinations[reshaped] = step;
      inPlaceReshapes.insert(yield);
    }
  }
}

/// Copies the carries leaving this step into the carry buffers. A carry that
/// leaves as another carry's argument goes through a temporary first, so
/// that permuting carries does not read an overwritten buffer.
void Lowering::updateCarries(const ir::Op &scan,
                             const std::vector<View> &carryViews) {
  const ir::Block &body = *scan.body;
  std::vector<View> sources(scan.numCarries);
  for (unsigned i = 0; i < scan.numCarries; ++i) {
    const ir::Value *yield = body.yields[i];
    sources[i] = viewOf(yield);
    bool isOtherCarry = yield->ownerBlock == &body && yield->index != i &&
                        yield->index < scan.numCarries;
    if (!isOtherCarry)
      continue;
    View temporary =
        View{addBuffer(fmt::format("%{}.next", yield->id), BufferRole::Temp,
                       elementKind(yield->type), totalSize(yield->type)),
             {},
             {}};
    emitCopy(temporary, sources[i], totalSize(yield->type));
    sources[i] = temporary;
  }
  for (unsigned i = 0; i < scan.numCarries; ++i) {
    const ir::Value *yield = body.yields[i];
    if (yield == body.arguments[i].get())
      continue;
    emitCopy(carryViews[i], sources[i], totalSize(yield->type));
  }
}

bool Lowering::lowerScan(const ir::Op &scan) {
  int loop = program.loopCount++;
  std::vector<View> carryViews;
  bindScanArguments(scan, loop, carryViews);
  std::vector<std::pair<const ir::Value *, View>> stepCopies;
  planStepOutputs(scan, loop, stepCopies);

  TimeLoop timeLoop{loop, scan.steps, scan.reverse, {}};
  std::vector<Statement> *outer = statements;
  statements = &timeLoop.body;
  if (!lowerBlock(*scan.body))
    return false;
  // Stacked outputs first: one may be a carry argument, which the carry
  // update below overwrites.
  for (const auto &[value, step] : stepCopies)
    emitCopy(step, viewOf(value), totalSize(value->type));
  updateCarries(scan, carryViews);
  statements = outer;
  emit({std::move(timeLoop)});
  return true;
}

std::optional<LoweredProgram> lowerFunction(const ir::Function &function,
                                            std::string *error) {
  Lowering lowering(function);
  if (!lowering.run()) {
    if (error)
      *error = lowering.error;
    return std::nullopt;
  }
  fuseKernels(lowering.program);
  return std::move(lowering.program);
}

} // namespace weft::lower
