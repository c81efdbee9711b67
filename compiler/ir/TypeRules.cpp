// The type rule of every non-Scan op: which operands it takes and the type
// of its result. Shared by the Builder and the verifier (IR.cpp).
#include "compiler/ir/TypeRules.h"

#include <limits>

#include <fmt/core.h>
#include <fmt/format.h>

#include <map>

namespace weft::ir {

namespace {

bool isFloat(const Type &type) { return type.element == ElementType::Float; }

/// The result type of an elementwise op: scalars broadcast over the shape,
/// unbatched operands over the batch, non-streams over the steps.
/// Comparisons also take Int operands; every result is Float.
std::string inferElementwise(const Op &op, Type &result) {
  result = Type{{}, false, 0, ElementType::Float};
  for (const Value *operand : op.operands) {
    const Type &type = operand->type;
    if (!isFloat(type) && !isComparison(op.kind))
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

/// The steps of an op whose operands are streams of equal steps or
/// non-streams broadcast over the steps; "" or why they disagree.
std::string commonSteps(const Type &a, const Type &b, int64_t &steps) {
  if (a.isStream() && b.isStream() && a.steps != b.steps)
    return sameSteps(a, b);
  steps = a.isStream() ? a.steps : b.steps;
  return "";
}

/// An unbatched float of `shape`, a stream when `steps` > 0, numbered
/// along an axis of its full layout [steps?][shape...].
std::string inferIota(const Op &op, Type &result) {
  if (op.steps < 0)
    return "iota steps must not be negative";
  for (int64_t dimension : op.shape)
    if (dimension <= 0)
      return "iota dimensions must be positive";
  size_t axes = op.shape.size() + (op.steps > 0 ? 1 : 0);
  if (op.axis >= axes)
    return fmt::format("iota axis {} outside a layout of {} axes", op.axis,
                       axes);
  result = Type{op.shape, false, op.steps, ElementType::Float};
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

//===----------------------------------------------------------------------===//
// Einsum
//===----------------------------------------------------------------------===//

/// The size of each axis of a value's full layout, in layout order: steps,
/// batch (as -1, the runtime batch size), then the shape.
std::vector<int64_t> layoutSizes(const Type &type) {
  std::vector<int64_t> sizes;
  if (type.isStream())
    sizes.push_back(type.steps);
  if (type.batched)
    sizes.push_back(-1);
  sizes.insert(sizes.end(), type.shape.begin(), type.shape.end());
  return sizes;
}

/// Checks that `labels` name every axis of a value of `type` once, with `B`
/// on its batch axis only, and records (or checks) each label's size.
std::string checkEinsumLabels(const std::string &labels, const Type &type,
                              const std::string &what,
                              std::map<char, int64_t> &sizes) {
  std::vector<int64_t> axes = layoutSizes(type);
  if (labels.size() != axes.size())
    return fmt::format("einsum {} labels `{}` name {} axes, but its type {} "
                       "has {}",
                       what, labels, labels.size(), toString(type),
                       axes.size());
  size_t batchAxis = type.isStream() ? 1 : 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    char label = labels[i];
    if (labels.find(label) != i)
      return fmt::format("einsum {} labels `{}` repeat `{}`", what, labels,
                         label);
    bool isBatchAxis = type.batched && i == batchAxis;
    if (isBatchAxis != (label == einsumBatchLabel))
      return fmt::format(
          "einsum {} labels `{}`: `{}` must label the batch axis and only it",
          what, labels, einsumBatchLabel);
    if (isBatchAxis)
      continue;
    auto [known, inserted] = sizes.emplace(label, axes[i]);
    if (!inserted && known->second != axes[i])
      return fmt::format("einsum label `{}` has size {} in the {} but {} "
                         "elsewhere",
                         label, axes[i], what, known->second);
  }
  return "";
}

std::string inferEinsum(const Op &op, Type &result) {
  if (op.labels.size() != op.operands.size() + 1)
    return fmt::format("einsum needs {} label strings (one per operand and "
                       "the result's), not {}",
                       op.operands.size() + 1, op.labels.size());
  std::map<char, int64_t> sizes;
  for (size_t i = 0; i < op.operands.size(); ++i) {
    const Type &type = op.operands[i]->type;
    if (!isFloat(type))
      return fmt::format("einsum operand {} is not float", i);
    std::string error = checkEinsumLabels(op.labels[i], type,
                                          fmt::format("operand {}", i), sizes);
    if (!error.empty())
      return error;
  }
  if (op.steps < 0)
    return "einsum result steps must not be negative";
  const std::string &labels = op.labels.back();
  bool batched = labels.find(einsumBatchLabel) != std::string::npos;
  result = Type{op.shape, batched, op.steps, ElementType::Float};
  return checkEinsumLabels(labels, result, "result", sizes);
}

//===----------------------------------------------------------------------===//
// Shapes and indexing
//===----------------------------------------------------------------------===//

std::string inferSlice(const Op &op, Type &result) {
  const Type &x = op.operands[0]->type;
  if (op.axis >= x.shape.size())
    return fmt::format("{} axis {} outside a value of rank {}", opName(op.kind),
                       op.axis, x.shape.size());
  bool isPad = op.kind == OpKind::PadSlice;
  int64_t length = isPad ? x.shape[op.axis] : op.end - op.begin;
  int64_t limit = isPad ? op.end : x.shape[op.axis];
  if (op.begin < 0 || length <= 0 || op.begin + length > limit)
    return fmt::format("{} bounds [{}, {}) out of range", opName(op.kind),
                       op.begin, op.begin + length);
  result = x;
  result.shape[op.axis] = isPad ? op.end : length;
  return "";
}

std::string inferConcat(const Op &op, Type &result) {
  if (op.operands.size() < 2)
    return "concat needs two or more operands";
  const Type &first = op.operands[0]->type;
  if (op.axis >= first.shape.size())
    return fmt::format("concat axis {} outside a value of rank {}", op.axis,
                       first.shape.size());
  result = first;
  result.shape[op.axis] = 0;
  for (const Value *operand : op.operands) {
    const Type &part = operand->type;
    if (part.element != first.element)
      return "concat operands differ in element type";
    if (std::string problem = sameSteps(part, first); !problem.empty())
      return problem;
    bool sameOtherAxes = part.shape.size() == first.shape.size();
    for (unsigned d = 0; sameOtherAxes && d < part.shape.size(); ++d)
      sameOtherAxes = d == op.axis || part.shape[d] == first.shape[d];
    if (!sameOtherAxes)
      return fmt::format("concat of {} and {} along axis {}", toString(first),
                         toString(part), op.axis);
    result.shape[op.axis] += part.shape[op.axis];
    result.batched = result.batched || part.batched;
  }
  return "";
}

std::string inferReshape(const Op &op, Type &result) {
  const Type &x = op.operands[0]->type;
  result = x;
  result.shape = op.shape;
  for (int64_t dimension : op.shape)
    if (dimension <= 0)
      return "reshape dimensions must be positive";
  if (result.elementCount() != x.elementCount())
    return fmt::format("reshape of [{}] ({} elements) to [{}] ({} elements)",
                       fmt::join(x.shape, ","), x.elementCount(),
                       fmt::join(op.shape, ","), result.elementCount());
  return "";
}

std::string inferGather(const Op &op, Type &result) {
  const Type &table = op.operands[0]->type;
  const Type &ids = op.operands[1]->type;
  if (table.batched || table.isStream() || table.shape.size() != 2 ||
      !isFloat(table))
    return "gather table must be an unbatched float [V, E] value";
  if (isFloat(ids))
    return "gather ids must be int";
  result = Type{ids.shape, ids.batched, ids.steps, ElementType::Float};
  result.shape.push_back(table.shape[1]);
  return "";
}

std::string inferScatterAddRows(const Op &op, Type &result) {
  const Type &g = op.operands[0]->type;
  const Type &ids = op.operands[1]->type;
  if (g.shape.empty() || !isFloat(g))
    return "scatter_add_rows rows must be float with rank >= 1";
  if (isFloat(ids))
    return "scatter_add_rows ids must be int";
  std::vector<int64_t> rowShape(g.shape.begin(), g.shape.end() - 1);
  if (ids.shape != rowShape)
    return fmt::format("scatter_add_rows ids have shape [{}] but the rows "
                       "[{}]",
                       fmt::join(ids.shape, ","), fmt::join(rowShape, ","));
  if (op.end <= 0)
    return "scatter_add_rows needs a positive row count";
  result = Type{{op.end, g.shape.back()}, false, 0, ElementType::Float};
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

//===----------------------------------------------------------------------===//
// Row ops
//===----------------------------------------------------------------------===//

/// Softmax (with an optional mask), LogSoftmax and MaxLast: one float
/// operand with at least one axis.
std::string inferRowOp(const Op &op, Type &result) {
  const Type &x = op.operands[0]->type;
  if (!isFloat(x) || x.isScalar())
    return fmt::format("{} operand must be float with rank >= 1",
                       opName(op.kind));
  result = x;
  if (op.kind == OpKind::MaxLast)
    result.shape.pop_back();
  if (op.operands.size() == 1)
    return "";
  const Type &mask = op.operands[1]->type;
  if (!isFloat(mask) || mask.shape != x.shape)
    return fmt::format("softmax mask must be float of shape [{}], not {}",
                       fmt::join(x.shape, ","), toString(mask));
  result.batched = x.batched || mask.batched;
  return commonSteps(x, mask, result.steps);
}

/// SoftmaxGrad and LogSoftmaxGrad: (y, g) of one shape.
std::string inferRowGrad(const Op &op, Type &result) {
  const Type &y = op.operands[0]->type;
  const Type &g = op.operands[1]->type;
  if (y.shape != g.shape || y.isScalar() || !isFloat(y) || !isFloat(g))
    return fmt::format("{} operands must be float of one shape with rank "
                       ">= 1",
                       opName(op.kind));
  result = y;
  result.batched = y.batched || g.batched;
  return sameSteps(y, g);
}

std::string inferCrossEntropy(const Op &op, Type &result) {
  const Type &logits = op.operands[0]->type;
  const Type &target = op.operands[1]->type;
  if (logits.shape.empty() || !isFloat(logits))
    return "cross_entropy logits must be float with rank >= 1";
  std::vector<int64_t> rowShape(logits.shape.begin(), logits.shape.end() - 1);
  if (isFloat(target) || target.shape != rowShape)
    return fmt::format("cross_entropy target must be int of shape [{}]",
                       fmt::join(rowShape, ","));
  bool batched = logits.batched || target.batched;
  if (op.kind == OpKind::CrossEntropy) {
    result = Type{rowShape, batched, logits.steps, ElementType::Float};
    return sameSteps(logits, target);
  }
  const Type &g = op.operands[2]->type;
  if (g.shape != rowShape)
    return fmt::format("cross_entropy_grad cotangent must have shape [{}]",
                       fmt::join(rowShape, ","));
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

/// The fewest and most operands each non-Scan op takes.
std::pair<size_t, size_t> operandRange(OpKind kind) {
  switch (kind) {
  case OpKind::Param:
  case OpKind::Input:
  case OpKind::Constant:
  case OpKind::Iota:
    return {0, 0};
  case OpKind::Softmax:
    return {1, 2};
  case OpKind::Einsum:
    return {1, 3};
  case OpKind::Concat:
    return {2, std::numeric_limits<size_t>::max()};
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Pow:
  case OpKind::Less:
  case OpKind::LessEqual:
  case OpKind::Greater:
  case OpKind::GreaterEqual:
  case OpKind::Equal:
  case OpKind::NotEqual:
  case OpKind::MatVec:
  case OpKind::OuterSum:
  case OpKind::Gather:
  case OpKind::ScatterAddRows:
  case OpKind::SoftmaxGrad:
  case OpKind::LogSoftmaxGrad:
  case OpKind::CrossEntropy:
    return {2, 2};
  case OpKind::Where:
  case OpKind::CrossEntropyGrad:
    return {3, 3};
  default:
    return {1, 1};
  }
}

} // namespace

bool takesOperandCount(OpKind kind, size_t count) {
  auto [fewest, most] = operandRange(kind);
  return count >= fewest && count <= most;
}

std::string inferResultType(const Op &op, Type &result) {
  if (!takesOperandCount(op.kind, op.operands.size())) {
    auto [fewest, most] = operandRange(op.kind);
    std::string expected = fewest == most
                               ? fmt::format("{}", fewest)
                               : fmt::format("{} to {}", fewest, most);
    return fmt::format("{} takes {} operands, not {}", opName(op.kind),
                       expected, op.operands.size());
  }
  if (isElementwise(op.kind))
    return inferElementwise(op, result);
  switch (op.kind) {
  case OpKind::Param:
  case OpKind::Constant:
    result = Type{op.shape, false, 0, ElementType::Float};
    return "";
  case OpKind::Input:
    result = op.results.empty() ? Type{} : op.result()->type;
    return result.batched ? "" : "input must be batched";
  case OpKind::Iota:
    return inferIota(op, result);
  case OpKind::MatVec:
    return inferMatVec(op, result);
  case OpKind::OuterSum:
    return inferOuterSum(op, result);
  case OpKind::SumBatch:
  case OpKind::BroadcastBatch:
    return inferBatchOp(op, result);
  case OpKind::Einsum:
    return inferEinsum(op, result);
  case OpKind::Slice:
  case OpKind::PadSlice:
    return inferSlice(op, result);
  case OpKind::Concat:
    return inferConcat(op, result);
  case OpKind::Reshape:
    return inferReshape(op, result);
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
  case OpKind::LogSoftmax:
  case OpKind::MaxLast:
    return inferRowOp(op, result);
  case OpKind::SoftmaxGrad:
  case OpKind::LogSoftmaxGrad:
    return inferRowGrad(op, result);
  case OpKind::CrossEntropy:
  case OpKind::CrossEntropyGrad:
    return inferCrossEntropy(op, result);
  case OpKind::Scan:
    return "scan types are checked separately";
  default:
    return inferStreamOp(op, result);
  }
}

} // namespace weft::ir
