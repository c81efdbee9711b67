// The tensor IR's implementation: op names, the Builder and the verifier.
// Both check ops with the type rules of TypeRules.cpp (the Builder aborts on
// a broken rule, the verifier reports it); the printer is in IRPrinter.cpp.
#include "compiler/ir/IR.h"
#include "compiler/ir/TypeRules.h"

#include <fmt/core.h>
#include <fmt/format.h>

#include <cstdlib>
#include <set>

namespace weft::ir {

int64_t Type::elementCount() const {
  int64_t count = 1;
  for (int64_t dimension : shape)
    count *= dimension;
  return count;
}

Type Type::stepType() const {
  Type step = *this;
  step.steps = 0;
  return step;
}

Type Type::stackedType(int64_t count) const {
  Type stacked = *this;
  stacked.steps = count;
  return stacked;
}

std::string toString(const Type &type) {
  std::string text = type.element == ElementType::Float ? "f" : "i";
  if (type.isStream())
    text += fmt::format("[T={}]", type.steps);
  text += fmt::format("[{}]", fmt::join(type.shape, ","));
  if (type.batched)
    text += "b";
  return text;
}

const char *opName(OpKind kind) {
  switch (kind) {
  case OpKind::Param:
    return "param";
  case OpKind::Input:
    return "input";
  case OpKind::Constant:
    return "constant";
  case OpKind::Iota:
    return "iota";
  case OpKind::Neg:
    return "neg";
  case OpKind::Add:
    return "add";
  case OpKind::Sub:
    return "sub";
  case OpKind::Mul:
    return "mul";
  case OpKind::Div:
    return "div";
  case OpKind::Sigmoid:
    return "sigmoid";
  case OpKind::Tanh:
    return "tanh";
  case OpKind::Exp:
    return "exp";
  case OpKind::Log:
    return "log";
  case OpKind::Sqrt:
    return "sqrt";
  case OpKind::Abs:
    return "abs";
  case OpKind::Relu:
    return "relu";
  case OpKind::Pow:
    return "pow";
  case OpKind::Less:
    return "less";
  case OpKind::LessEqual:
    return "less_equal";
  case OpKind::Greater:
    return "greater";
  case OpKind::GreaterEqual:
    return "greater_equal";
  case OpKind::Equal:
    return "equal";
  case OpKind::NotEqual:
    return "not_equal";
  case OpKind::Where:
    return "where";
  case OpKind::MatVec:
    return "matvec";
  case OpKind::OuterSum:
    return "outer_sum";
  case OpKind::SumBatch:
    return "sum_batch";
  case OpKind::BroadcastBatch:
    return "broadcast_batch";
  case OpKind::Einsum:
    return "einsum";
  case OpKind::Slice:
    return "slice";
  case OpKind::PadSlice:
    return "pad_slice";
  case OpKind::Concat:
    return "concat";
  case OpKind::Reshape:
    return "reshape";
  case OpKind::Gather:
    return "gather";
  case OpKind::ScatterAddRows:
    return "scatter_add_rows";
  case OpKind::SumAll:
    return "sum_all";
  case OpKind::Fill:
    return "fill";
  case OpKind::Softmax:
    return "softmax";
  case OpKind::SoftmaxGrad:
    return "softmax_grad";
  case OpKind::LogSoftmax:
    return "log_softmax";
  case OpKind::LogSoftmaxGrad:
    return "log_softmax_grad";
  case OpKind::MaxLast:
    return "max_last";
  case OpKind::CrossEntropy:
    return "cross_entropy";
  case OpKind::CrossEntropyGrad:
    return "cross_entropy_grad";
  case OpKind::Scan:
    return "scan";
  case OpKind::StreamAt:
    return "stream_at";
  case OpKind::StreamPlace:
    return "stream_place";
  case OpKind::SumSteps:
    return "sum_steps";
  case OpKind::StreamFill:
    return "stream_fill";
  case OpKind::StreamSlice:
    return "stream_slice";
  case OpKind::StreamPad:
    return "stream_pad";
  }
  return "unknown";
}

Value *Function::findOutput(const std::string &outputName) const {
  for (const NamedValue &output : outputs)
    if (output.name == outputName)
      return output.value;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Builder
//===----------------------------------------------------------------------===//

/// Stops on a broken builder invariant: a bug in the caller, not the input.
[[noreturn]] static void builderFailure(const std::string &message) {
  fmt::print(stderr, "weft IR builder: {}\n", message);
  std::abort();
}

static void addResult(Function &function, Op &op, Type type) {
  auto value = std::make_unique<Value>();
  value->type = std::move(type);
  value->definingOp = &op;
  value->index = op.results.size();
  value->id = function.nextId();
  op.results.push_back(std::move(value));
}

Op *Builder::create(OpKind kind, std::vector<Value *> operands,
                    std::vector<Type> resultTypes) {
  auto op = std::make_unique<Op>();
  op->kind = kind;
  op->operands = std::move(operands);
  op->range = range;
  for (Type &type : resultTypes)
    addResult(function, *op, std::move(type));
  block->ops.push_back(std::move(op));
  return block->ops.back().get();
}

/// Builds `op` (attributes set by `configure`) and infers its result type.
template <typename Configure>
static Value *buildTyped(Builder &builder, OpKind kind,
                         std::vector<Value *> operands, Configure configure) {
  Op probe;
  probe.kind = kind;
  probe.operands = operands;
  configure(probe);
  Type type;
  std::string error = inferResultType(probe, type);
  if (!error.empty())
    builderFailure(error);
  Op *op = builder.create(kind, std::move(operands), {type});
  configure(*op);
  return op->result();
}

Value *Builder::single(OpKind kind, std::vector<Value *> operands, Type type) {
  return create(kind, std::move(operands), {std::move(type)})->result();
}

Value *Builder::param(const std::string &paramName,
                      std::vector<int64_t> shape) {
  Value *value = buildTyped(*this, OpKind::Param, {}, [&](Op &op) {
    op.name = paramName;
    op.shape = shape;
  });
  value->hint = paramName;
  return value;
}

Value *Builder::input(const std::string &inputName, Type type) {
  if (!type.batched)
    builderFailure(fmt::format("input `{}` must be batched", inputName));
  Value *value = single(OpKind::Input, {}, type);
  value->definingOp->name = inputName;
  value->hint = inputName;
  return value;
}

Value *Builder::constant(double constantValue, std::vector<int64_t> shape) {
  return buildTyped(*this, OpKind::Constant, {}, [&](Op &op) {
    op.value = constantValue;
    op.shape = shape;
  });
}

Value *Builder::iota(std::vector<int64_t> shape, unsigned axis, int64_t steps) {
  return buildTyped(*this, OpKind::Iota, {}, [&](Op &op) {
    op.shape = shape;
    op.axis = axis;
    op.steps = steps;
  });
}

Value *Builder::unary(OpKind kind, Value *x) {
  if (!isElementwise(kind) || !takesOperandCount(kind, 1))
    builderFailure(fmt::format("{} is not a unary op", opName(kind)));
  return buildTyped(*this, kind, {x}, [](Op &) {});
}

Value *Builder::binary(OpKind kind, Value *lhs, Value *rhs) {
  if (!isElementwise(kind) || !takesOperandCount(kind, 2))
    builderFailure(fmt::format("{} is not a binary op", opName(kind)));
  return buildTyped(*this, kind, {lhs, rhs}, [](Op &) {});
}

Value *Builder::where(Value *cond, Value *a, Value *b) {
  return buildTyped(*this, OpKind::Where, {cond, a, b}, [](Op &) {});
}

Value *Builder::einsum(std::vector<Value *> operands,
                       std::vector<std::string> labels,
                       std::vector<int64_t> resultShape, int64_t resultSteps) {
  return buildTyped(*this, OpKind::Einsum, std::move(operands), [&](Op &op) {
    op.labels = labels;
    op.shape = resultShape;
    op.steps = resultSteps;
  });
}

Value *Builder::matVec(Value *matrix, Value *vector, bool transpose) {
  return buildTyped(*this, OpKind::MatVec, {matrix, vector},
                    [&](Op &op) { op.transpose = transpose; });
}

Value *Builder::outerSum(Value *lhs, Value *rhs) {
  return buildTyped(*this, OpKind::OuterSum, {lhs, rhs}, [](Op &) {});
}

Value *Builder::sumBatch(Value *x, bool mean) {
  return buildTyped(*this, OpKind::SumBatch, {x},
                    [&](Op &op) { op.mean = mean; });
}

Value *Builder::broadcastBatch(Value *x, bool mean) {
  return buildTyped(*this, OpKind::BroadcastBatch, {x},
                    [&](Op &op) { op.mean = mean; });
}

Value *Builder::slice(Value *x, int64_t begin, int64_t end, unsigned axis) {
  return buildTyped(*this, OpKind::Slice, {x}, [&](Op &op) {
    op.begin = begin;
    op.end = end;
    op.axis = axis;
  });
}

Value *Builder::padSlice(Value *g, int64_t begin, int64_t fullLength,
                         unsigned axis) {
  return buildTyped(*this, OpKind::PadSlice, {g}, [&](Op &op) {
    op.begin = begin;
    op.end = fullLength;
    op.axis = axis;
  });
}

Value *Builder::concat(std::vector<Value *> parts, unsigned axis) {
  return buildTyped(*this, OpKind::Concat, std::move(parts),
                    [&](Op &op) { op.axis = axis; });
}

Value *Builder::reshape(Value *x, std::vector<int64_t> shape) {
  return buildTyped(*this, OpKind::Reshape, {x},
                    [&](Op &op) { op.shape = shape; });
}

Value *Builder::gather(Value *table, Value *ids) {
  return buildTyped(*this, OpKind::Gather, {table, ids}, [](Op &) {});
}

Value *Builder::scatterAddRows(Value *g, Value *ids, int64_t rows) {
  return buildTyped(*this, OpKind::ScatterAddRows, {g, ids},
                    [&](Op &op) { op.end = rows; });
}

Value *Builder::sumAll(Value *x) {
  return buildTyped(*this, OpKind::SumAll, {x}, [](Op &) {});
}

Value *Builder::fill(Value *scalar, std::vector<int64_t> shape) {
  return buildTyped(*this, OpKind::Fill, {scalar},
                    [&](Op &op) { op.shape = shape; });
}

Value *Builder::softmax(Value *x, Value *mask) {
  std::vector<Value *> operands{x};
  if (mask)
    operands.push_back(mask);
  return buildTyped(*this, OpKind::Softmax, std::move(operands), [](Op &) {});
}

Value *Builder::softmaxGrad(Value *y, Value *g) {
  return buildTyped(*this, OpKind::SoftmaxGrad, {y, g}, [](Op &) {});
}

Value *Builder::logSoftmax(Value *x) {
  return buildTyped(*this, OpKind::LogSoftmax, {x}, [](Op &) {});
}

Value *Builder::logSoftmaxGrad(Value *y, Value *g) {
  return buildTyped(*this, OpKind::LogSoftmaxGrad, {y, g}, [](Op &) {});
}

Value *Builder::maxLast(Value *x) {
  return buildTyped(*this, OpKind::MaxLast, {x}, [](Op &) {});
}

Value *Builder::crossEntropy(Value *logits, Value *target) {
  return buildTyped(*this, OpKind::CrossEntropy, {logits, target}, [](Op &) {});
}

Value *Builder::crossEntropyGrad(Value *logits, Value *target, Value *g) {
  return buildTyped(*this, OpKind::CrossEntropyGrad, {logits, target, g},
                    [](Op &) {});
}

Value *Builder::streamAt(Value *stream, int64_t step) {
  return buildTyped(*this, OpKind::StreamAt, {stream},
                    [&](Op &op) { op.begin = step; });
}

Value *Builder::streamPlace(Value *g, int64_t step, int64_t steps) {
  return buildTyped(*this, OpKind::StreamPlace, {g}, [&](Op &op) {
    op.begin = step;
    op.steps = steps;
  });
}

Value *Builder::sumSteps(Value *stream) {
  return buildTyped(*this, OpKind::SumSteps, {stream}, [](Op &) {});
}

Value *Builder::streamFill(Value *x, int64_t steps) {
  return buildTyped(*this, OpKind::StreamFill, {x},
                    [&](Op &op) { op.steps = steps; });
}

Value *Builder::streamSlice(Value *stream, int64_t begin, int64_t end) {
  return buildTyped(*this, OpKind::StreamSlice, {stream}, [&](Op &op) {
    op.begin = begin;
    op.end = end;
  });
}

Value *Builder::streamPad(Value *g, int64_t begin, int64_t steps) {
  return buildTyped(*this, OpKind::StreamPad, {g}, [&](Op &op) {
    op.begin = begin;
    op.steps = steps;
  });
}

//===----------------------------------------------------------------------===//
// Scan
//===----------------------------------------------------------------------===//

/// Returns why the scan's operands do not fit its attributes, or "".
static std::string checkScanOperands(const Op &scan) {
  if (scan.steps <= 0)
    return "scan needs steps > 0";
  if (scan.numCarries + scan.numSequences > scan.operands.size())
    return "scan has fewer operands than carries and sequences";
  if (scan.sequenceOffsets.size() != scan.numSequences)
    return "scan needs one offset per sequence";
  for (unsigned i = 0; i < scan.numCarries; ++i)
    if (scan.operands[i]->type.isStream())
      return "scan carries cannot be streams";
  for (unsigned i = 0; i < scan.numSequences; ++i) {
    const Type &type = scan.operands[scan.numCarries + i]->type;
    int64_t offset = scan.sequenceOffsets[i];
    if (!type.isStream())
      return fmt::format("scan sequence {} is not a stream", i);
    if (offset < 0 || type.steps < scan.steps + offset)
      return fmt::format("scan sequence {} of {} steps is too short for {} "
                         "steps at offset {}",
                         i, type.steps, scan.steps, offset);
  }
  return "";
}

/// The type of the body argument for operand `i` of a scan.
static Type bodyArgumentType(const Op &scan, unsigned i) {
  const Type &type = scan.operands[i]->type;
  bool isSequence =
      i >= scan.numCarries && i < scan.numCarries + scan.numSequences;
  return isSequence ? type.stepType() : type;
}

Op *Builder::beginScan(int64_t steps, bool reverse,
                       std::vector<Value *> carries,
                       std::vector<Value *> sequences,
                       std::vector<int64_t> offsets,
                       std::vector<Value *> captures) {
  std::vector<Value *> operands = carries;
  operands.insert(operands.end(), sequences.begin(), sequences.end());
  operands.insert(operands.end(), captures.begin(), captures.end());
  Op *scan = create(OpKind::Scan, std::move(operands), {});
  scan->steps = steps;
  scan->reverse = reverse;
  scan->numCarries = carries.size();
  scan->numSequences = sequences.size();
  scan->sequenceOffsets = std::move(offsets);
  std::string error = checkScanOperands(*scan);
  if (!error.empty())
    builderFailure(error);

  scan->body = std::make_unique<Block>();
  scan->body->parentOp = scan;
  for (unsigned i = 0; i < scan->operands.size(); ++i) {
    auto argument = std::make_unique<Value>();
    argument->type = bodyArgumentType(*scan, i);
    argument->ownerBlock = scan->body.get();
    argument->index = i;
    argument->id = function.nextId();
    argument->hint = scan->operands[i]->hint;
    scan->body->arguments.push_back(std::move(argument));
  }
  return scan;
}

void Builder::finishScan(Op *scan, std::vector<Value *> nextCarries,
                         std::vector<Value *> stepOutputs) {
  if (nextCarries.size() != scan->numCarries)
    builderFailure("scan yields a different number of carries");
  for (unsigned i = 0; i < nextCarries.size(); ++i)
    if (!(nextCarries[i]->type == scan->operands[i]->type))
      builderFailure(fmt::format("scan carry {} enters as {} but leaves as {}",
                                 i, toString(scan->operands[i]->type),
                                 toString(nextCarries[i]->type)));
  for (Value *output : stepOutputs)
    if (output->type.isStream())
      builderFailure("scan per-step outputs cannot be streams");

  scan->body->yields = nextCarries;
  scan->body->yields.insert(scan->body->yields.end(), stepOutputs.begin(),
                            stepOutputs.end());
  for (Value *carry : nextCarries) {
    addResult(function, *scan, carry->type);
    scan->results.back()->hint = carry->hint;
  }
  for (Value *output : stepOutputs) {
    addResult(function, *scan, output->type.stackedType(scan->steps));
    scan->results.back()->hint = output->hint;
  }
}

//===----------------------------------------------------------------------===//
// Verifier
//===----------------------------------------------------------------------===//

namespace {

class Verifier {
public:
  /// Values visible at the current point: defined earlier in this block or
  /// in an enclosing one.
  std::set<const Value *> visible;

  std::string verifyBlock(const Block &block);

private:
  std::string verifyOp(const Op &op);
  std::string verifyScan(const Op &scan);
};

std::string Verifier::verifyBlock(const Block &block) {
  std::vector<const Value *> defined;
  std::string error;
  for (const auto &argument : block.arguments)
    defined.push_back(argument.get());
  visible.insert(defined.begin(), defined.end());
  for (const auto &op : block.ops) {
    if (op->kind == OpKind::Param || op->kind == OpKind::Input)
      if (block.parentOp)
        error = fmt::format("{} inside a scan body", opName(op->kind));
    if (error.empty())
      error = verifyOp(*op);
    if (!error.empty())
      break;
    for (const auto &result : op->results) {
      defined.push_back(result.get());
      visible.insert(result.get());
    }
  }
  for (const Value *yield : block.yields)
    if (error.empty() && !visible.count(yield))
      error = fmt::format("yield of %{} before or outside its definition",
                          yield->id);
  // Values of this block go out of scope when it ends.
  for (const Value *value : defined)
    visible.erase(value);
  return error;
}

std::string Verifier::verifyOp(const Op &op) {
  for (const Value *operand : op.operands)
    if (!visible.count(operand))
      return fmt::format("{} uses %{} before or outside its definition",
                         opName(op.kind), operand->id);
  if (op.kind == OpKind::Scan)
    return verifyScan(op);

  Type expected;
  std::string error = inferResultType(op, expected);
  if (!error.empty())
    return error;
  if (op.results.size() != 1)
    return fmt::format("{} must have one result", opName(op.kind));
  if (!(op.result()->type == expected))
    return fmt::format("%{} = {} has type {}, expected {}", op.result()->id,
                       opName(op.kind), toString(op.result()->type),
                       toString(expected));
  return "";
}

std::string Verifier::verifyScan(const Op &scan) {
  std::string error = checkScanOperands(scan);
  if (!error.empty())
    return error;
  const Block *body = scan.body.get();
  if (!body || body->parentOp != &scan)
    return "scan without a body that names it as parent";
  if (body->arguments.size() != scan.operands.size())
    return "scan body has the wrong number of arguments";
  for (unsigned i = 0; i < scan.operands.size(); ++i)
    if (!(body->arguments[i]->type == bodyArgumentType(scan, i)))
      return fmt::format("scan body argument {} has the wrong type", i);
  if (body->yields.size() != scan.results.size() ||
      scan.results.size() < scan.numCarries)
    return "scan yields and results differ in number";
  for (unsigned i = 0; i < scan.results.size(); ++i) {
    const Type &yielded = body->yields[i]->type;
    bool isCarry = i < scan.numCarries;
    if (isCarry && !(yielded == scan.operands[i]->type))
      return fmt::format("scan carry {} changes type", i);
    if (!isCarry && yielded.isStream())
      return "scan per-step outputs cannot be streams";
    Type expected = isCarry ? yielded : yielded.stackedType(scan.steps);
    if (!(scan.results[i]->type == expected))
      return fmt::format("scan result {} has the wrong type", i);
  }
  return verifyBlock(*body);
}

} // namespace

std::string verify(const Function &function) {
  Verifier verifier;
  // Outputs name top-level values, so check them while those are visible.
  std::set<const Value *> topLevel;
  for (const auto &op : function.body.ops)
    for (const auto &result : op->results)
      topLevel.insert(result.get());
  std::string error = verifier.verifyBlock(function.body);
  if (!error.empty())
    return error;
  for (const NamedValue &output : function.outputs)
    if (!output.value || !topLevel.count(output.value))
      return fmt::format("output `{}` is not a top-level value", output.name);
  return "";
}

} // namespace weft::ir
