// The tensor IR's implementation: type rules for every op (shared by the
// Builder, which asserts on them, and the verifier, which reports them), the
// Builder and the verifier. The printer is in IRPrinter.cpp.
#include "compiler/ir/IR.h"

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
  case OpKind::MatVec:
    return "matvec";
  case OpKind::OuterSum:
    return "outer_sum";
  case OpKind::SumBatch:
    return "sum_batch";
  case OpKind::BroadcastBatch:
    return "broadcast_batch";
  case OpKind::Slice:
    return "slice";
  case OpKind::PadSlice:
    return "pad_slice";
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
// Type rules
//===----------------------------------------------------------------------===//

namespace {

bool isFloat(const Type &type) { return type.element == ElementType::Float; }

/// The result type of an elementwise op: scalars broadcast over the shape,
/// unbatched operands over the batch, non-streams over the steps.
std::string inferElementwise(const Op &op, Type &result) {
  result = Type{{}, false, 0, ElementType::Float};
  for (const Value *operand : op.operands) {
    const Type &type = operand->type;
    if (!isFloat(type))
      return "elementwise operand is not float";
    if (!type.isScalar()) {
      if (!result.isScalar() && result.shape != type.shape)
        return "elementwise operand shapes differ";
      result.shape = type.shape;
    }
    if (type.isStream()) {
      if (result.isStream() && result.steps != type.steps)
        return "elementwise stream operands differ in steps";
      result.steps = type.steps;
    }
    result.batched = result.batched || type.batched;
  }
  return "";
}

/// Checks that the per-step operands `a` and `b` agree in steps.
std::string sameSteps(const Type &a, const Type &b) {
  if (a.steps != b.steps)
    return fmt::format("operands differ in steps ({} and {})", a.steps,
                       b.steps);
  return "";
}

std::string inferMatVec(const Op &op, Type &result) {
  const Type &matrix = op.operands[0]->type;
  const Type &vector = op.operands[1]->type;
  if (matrix.batched || matrix.isStream() || matrix.shape.size() != 2)
    return "matvec matrix must be an unbatched [M, K] value";
  if (vector.shape.size() != 1)
    return "matvec vector must have rank 1";
  int64_t inner = op.transpose ? matrix.shape[0] : matrix.shape[1];
  int64_t outer = op.transpose ? matrix.shape[1] : matrix.shape[0];
  if (vector.shape[0] != inner)
    return fmt::format("matvec inner sizes differ ({} and {})", inner,
                       vector.shape[0]);
  result = Type{{outer}, vector.batched, vector.steps, ElementType::Float};
  return "";
}

std::string inferOuterSum(const Op &op, Type &result) {
  const Type &lhs = op.operands[0]->type;
  const Type &rhs = op.operands[1]->type;
  if (lhs.shape.size() != 1 || rhs.shape.size() != 1)
    return "outer_sum operands must have rank 1";
  if (lhs.batched != rhs.batched)
    return "outer_sum operands differ in batching";
  result = Type{{lhs.shape[0], rhs.shape[0]}, false, 0, ElementType::Float};
  return sameSteps(lhs, rhs);
}

std::string inferSlice(const Op &op, Type &result) {
  const Type &x = op.operands[0]->type;
  if (x.shape.empty())
    return "slice of a scalar";
  bool isPad = op.kind == OpKind::PadSlice;
  int64_t length = isPad ? x.shape[0] : op.end - op.begin;
  int64_t limit = isPad ? op.end : x.shape[0];
  if (op.begin < 0 || length <= 0 || op.begin + length > limit)
    return fmt::format("{} bounds [{}, {}) out of range", opName(op.kind),
                       op.begin, op.begin + length);
  result = x;
  result.shape[0] = isPad ? op.end : length;
  return "";
}

std::string inferGather(const Op &op, Type &result) {
  const Type &table = op.operands[0]->type;
  const Type &ids = op.operands[1]->type;
  if (table.batched || table.isStream() || table.shape.size() != 2 ||
      !isFloat(table))
    return "gather table must be an unbatched float [V, E] value";
  if (isFloat(ids) || !ids.isScalar())
    return "gather ids must be int scalars";
  result = Type{{table.shape[1]}, ids.batched, ids.steps, ElementType::Float};
  return "";
}

std::string inferScatterAddRows(const Op &op, Type &result) {
  const Type &g = op.operands[0]->type;
  const Type &ids = op.operands[1]->type;
  if (g.shape.size() != 1 || !isFloat(g))
    return "scatter_add_rows rows must be float with rank 1";
  if (isFloat(ids) || !ids.isScalar())
    return "scatter_add_rows ids must be int scalars";
  if (op.end <= 0)
    return "scatter_add_rows needs a positive row count";
  result = Type{{op.end, g.shape[0]}, false, 0, ElementType::Float};
  return sameSteps(g, ids);
}

std::string inferBatchOp(const Op &op, Type &result) {
  const Type &x = op.operands[0]->type;
  bool toBatched = op.kind == OpKind::BroadcastBatch;
  if (x.batched == toBatched || !isFloat(x))
    return fmt::format("{} operand must be {} float", opName(op.kind),
                       toBatched ? "an unbatched" : "a batched");
  result = x;
  result.batched = toBatched;
  return "";
}

std::string inferFill(const Op &op, Type &result) {
  const Type &x = op.operands[0]->type;
  if (!x.isScalar() || !isFloat(x))
    return "fill operand must be a float scalar";
  result = x;
  result.shape = op.shape;
  return "";
}

std::string inferSoftmaxGrad(const Op &op, Type &result) {
  const Type &y = op.operands[0]->type;
  const Type &g = op.operands[1]->type;
  if (y.shape != g.shape)
    return "softmax_grad operand shapes differ";
  result = y;
  result.batched = y.batched || g.batched;
  return sameSteps(y, g);
}

std::string inferCrossEntropy(const Op &op, Type &result) {
  const Type &logits = op.operands[0]->type;
  const Type &target = op.operands[1]->type;
  if (logits.shape.size() != 1 || !isFloat(logits))
    return "cross_entropy logits must be float with rank 1";
  if (isFloat(target) || !target.isScalar())
    return "cross_entropy target must be an int scalar";
  bool batched = logits.batched || target.batched;
  if (op.kind == OpKind::CrossEntropy) {
    result = Type{{}, batched, logits.steps, ElementType::Float};
    return sameSteps(logits, target);
  }
  const Type &g = op.operands[2]->type;
  if (!g.isScalar())
    return "cross_entropy_grad cotangent must be a scalar";
  result = logits;
  result.batched = batched || g.batched;
  std::string error = sameSteps(logits, target);
  return error.empty() ? sameSteps(logits, g) : error;
}

std::string inferStreamOp(const Op &op, Type &result) {
  const Type &x = op.operands[0]->type;
  switch (op.kind) {
  case OpKind::StreamAt:
    if (op.begin < 0 || op.begin >= x.steps)
      return fmt::format("stream_at step {} outside a stream of {} steps",
                         op.begin, x.steps);
    result = x.stepType();
    return "";
  case OpKind::SumSteps:
    if (!x.isStream() || !isFloat(x))
      return "sum_steps operand must be a float stream";
    result = x.stepType();
    return "";
  case OpKind::StreamPlace:
  case OpKind::StreamFill:
    if (x.isStream() || !isFloat(x) || op.steps <= 0)
      return fmt::format("{} needs a float non-stream and steps > 0",
                         opName(op.kind));
    if (op.begin < 0 || op.begin >= op.steps)
      return "stream_place step out of range";
    result = x.stackedType(op.steps);
    return "";
  case OpKind::StreamSlice:
    if (op.begin < 0 || op.begin >= op.end || op.end > x.steps)
      return fmt::format("stream_slice steps [{}, {}) outside {} steps",
                         op.begin, op.end, x.steps);
    result = x.stackedType(op.end - op.begin);
    return "";
  case OpKind::StreamPad:
    if (!x.isStream() || op.begin < 0 || op.begin + x.steps > op.steps)
      return "stream_pad places steps outside the result";
    result = x.stackedType(op.steps);
    return "";
  default:
    return "not a stream op";
  }
}

/// The number of operands each non-Scan op takes.
unsigned operandCount(OpKind kind) {
  switch (kind) {
  case OpKind::Param:
  case OpKind::Input:
  case OpKind::Constant:
    return 0;
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::MatVec:
  case OpKind::OuterSum:
  case OpKind::Gather:
  case OpKind::ScatterAddRows:
  case OpKind::SoftmaxGrad:
  case OpKind::CrossEntropy:
    return 2;
  case OpKind::CrossEntropyGrad:
    return 3;
  default:
    return 1;
  }
}

} // namespace

/// Returns why `op` (not a Scan) is ill typed, or "" after setting `result`
/// to its result type. Input ops keep the type they were given.
static std::string inferResultType(const Op &op, Type &result) {
  if (op.operands.size() != operandCount(op.kind))
    return fmt::format("{} takes {} operands, not {}", opName(op.kind),
                       operandCount(op.kind), op.operands.size());
  if (op.kind >= OpKind::Neg && op.kind <= OpKind::Log)
    return inferElementwise(op, result);
  switch (op.kind) {
  case OpKind::Param:
  case OpKind::Constant:
    result = Type{op.shape, false, 0, ElementType::Float};
    return "";
  case OpKind::Input:
    result = op.results.empty() ? Type{} : op.result()->type;
    return result.batched ? "" : "input must be batched";
  case OpKind::MatVec:
    return inferMatVec(op, result);
  case OpKind::OuterSum:
    return inferOuterSum(op, result);
  case OpKind::SumBatch:
  case OpKind::BroadcastBatch:
    return inferBatchOp(op, result);
  case OpKind::Slice:
  case OpKind::PadSlice:
    return inferSlice(op, result);
  case OpKind::Gather:
    return inferGather(op, result);
  case OpKind::ScatterAddRows:
    return inferScatterAddRows(op, result);
  case OpKind::SumAll:
    result = op.operands[0]->type;
    result.shape.clear();
    return isFloat(result) ? "" : "sum_all operand must be float";
  case OpKind::Fill:
    return inferFill(op, result);
  case OpKind::Softmax:
    result = op.operands[0]->type;
    return isFloat(result) && !result.isScalar()
               ? ""
               : "softmax operand must be a float vector";
  case OpKind::SoftmaxGrad:
    return inferSoftmaxGrad(op, result);
  case OpKind::CrossEntropy:
  case OpKind::CrossEntropyGrad:
    return inferCrossEntropy(op, result);
  case OpKind::Scan:
    return "scan types are checked separately";
  default:
    return inferStreamOp(op, result);
  }
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

Value *Builder::unary(OpKind kind, Value *x) {
  if (operandCount(kind) != 1 || kind < OpKind::Neg || kind > OpKind::Log)
    builderFailure(fmt::format("{} is not a unary op", opName(kind)));
  return buildTyped(*this, kind, {x}, [](Op &) {});
}

Value *Builder::binary(OpKind kind, Value *lhs, Value *rhs) {
  if (kind < OpKind::Add || kind > OpKind::Div)
    builderFailure(fmt::format("{} is not a binary op", opName(kind)));
  return buildTyped(*this, kind, {lhs, rhs}, [](Op &) {});
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

Value *Builder::slice(Value *x, int64_t begin, int64_t end) {
  return buildTyped(*this, OpKind::Slice, {x}, [&](Op &op) {
    op.begin = begin;
    op.end = end;
  });
}

Value *Builder::padSlice(Value *g, int64_t begin, int64_t fullLength) {
  return buildTyped(*this, OpKind::PadSlice, {g}, [&](Op &op) {
    op.begin = begin;
    op.end = fullLength;
  });
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

Value *Builder::softmax(Value *x) {
  return buildTyped(*this, OpKind::Softmax, {x}, [](Op &) {});
}

Value *Builder::softmaxGrad(Value *y, Value *g) {
  return buildTyped(*this, OpKind::SoftmaxGrad, {y, g}, [](Op &) {});
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
