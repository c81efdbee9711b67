// The reference interpreter of the tensor IR: every op's meaning, executed
// op by op in double precision. Clarity first; each op costs O(its work).
#include "compiler/ir/Interpreter.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

namespace weft::ir {

namespace {

using Buffer = std::vector<double>;

[[noreturn]] void interpreterFailure(const std::string &message) {
  fmt::print(stderr, "weft IR interpreter: {}\n", message);
  std::abort();
}

/// One step of an operand: its per-step type and where its data starts.
struct View {
  const Type *type;
  const double *data;
};

class Interpreter {
public:
  Interpreter(int64_t batch, const BufferMap &params, const BufferMap &inputs)
      : batch(batch), params(params), inputs(inputs) {}

  void runBlock(const Block &block);
  const Buffer &valueOf(const Value *value) const;
  /// Elements of one step of a value of `type`, over the batch.
  int64_t stepSize(const Type &type) const {
    return (type.batched ? batch : 1) * type.elementCount();
  }

private:
  void runOp(const Op &op);
  Buffer leaf(const Op &op);
  Buffer iota(const Op &op);
  Buffer stepwise(const Op &op);
  Buffer streamOp(const Op &op);
  Buffer einsum(const Op &op);
  void runScan(const Op &scan);
  Buffer computeStep(const Op &op, const std::vector<View> &in,
                     const Type &resultType);

  int64_t batch;
  const BufferMap &params;
  const BufferMap &inputs;
  std::unordered_map<const Value *, Buffer> values;
};

/// Element `index` of example `example` of a view; scalars broadcast over
/// the shape and unbatched views over the batch.
double at(const View &view, int64_t example, int64_t index) {
  int64_t count = view.type->elementCount();
  int64_t offset = view.type->batched ? example * count : 0;
  return view.data[offset + (view.type->isScalar() ? 0 : index)];
}

/// One element of an elementwise op from its operands' elements.
double applyElementwise(OpKind kind, double a, double b, double c) {
  switch (kind) {
  case OpKind::Neg:
    return -a;
  case OpKind::Add:
    return a + b;
  case OpKind::Sub:
    return a - b;
  case OpKind::Mul:
    return a * b;
  case OpKind::Div:
    return a / b;
  case OpKind::Sigmoid:
    return 1 / (1 + std::exp(-a));
  case OpKind::Tanh:
    return std::tanh(a);
  case OpKind::Exp:
    return std::exp(a);
  case OpKind::Log:
    return std::log(a);
  case OpKind::Sqrt:
    return std::sqrt(a);
  case OpKind::Abs:
    return std::abs(a);
  case OpKind::Relu:
    return a > 0 ? a : 0;
  case OpKind::Pow:
    return std::pow(a, b);
  case OpKind::Less:
    return a < b ? 1 : 0;
  case OpKind::LessEqual:
    return a <= b ? 1 : 0;
  case OpKind::Greater:
    return a > b ? 1 : 0;
  case OpKind::GreaterEqual:
    return a >= b ? 1 : 0;
  case OpKind::Equal:
    return a == b ? 1 : 0;
  case OpKind::NotEqual:
    return a != b ? 1 : 0;
  case OpKind::Where:
    return a != 0 ? b : c;
  default:
    interpreterFailure("not an elementwise op");
  }
}

/// One step of one op being computed: its operands and its result buffer.
struct Step {
  const Op &op;
  const std::vector<View> &in;
  const Type &resultType;
  int64_t batch;
  int64_t examples; ///< Result examples: the batch, or 1 when unbatched.
  int64_t count;    ///< Result elements per example.
  Buffer out;

  double *example(int64_t b) { return out.data() + b * count; }
  /// Examples the operands hold: the batch when any of them is batched.
  int64_t operandExamples() const {
    for (const View &view : in)
      if (view.type->batched)
        return batch;
    return 1;
  }
};

/// Softmax of `count` logits read through `logit(i)`, written to `out`,
/// over the entries where `keep(i)`: the others get 0, and so does every
/// entry of a row with none kept.
template <typename Logit, typename Keep>
void softmaxInto(int64_t count, Logit logit, Keep keep, double *out) {
  double largest = -INFINITY;
  for (int64_t i = 0; i < count; ++i)
    if (keep(i))
      largest = std::max(largest, logit(i));
  double total = 0;
  for (int64_t i = 0; i < count; ++i)
    total += out[i] = keep(i) ? std::exp(logit(i) - largest) : 0;
  for (int64_t i = 0; i < count; ++i)
    out[i] /= total > 0 ? total : 1;
}

/// The elements of a value of `type` per row along its last axis.
int64_t rowWidth(const Type &type) { return type.shape.back(); }

/// The row an id selects, checked against the table's row count.
int64_t rowOf(double id, int64_t rows) {
  auto row = static_cast<int64_t>(id);
  if (row < 0 || row >= rows || row != id)
    interpreterFailure(fmt::format("id {} outside [0, {})", id, rows));
  return row;
}

void computeElementwise(Step &step) {
  double operands[3] = {0, 0, 0};
  for (int64_t b = 0; b < step.examples; ++b)
    for (int64_t i = 0; i < step.count; ++i) {
      for (size_t k = 0; k < step.in.size(); ++k)
        operands[k] = at(step.in[k], b, i);
      step.example(b)[i] =
          applyElementwise(step.op.kind, operands[0], operands[1], operands[2]);
    }
}

void computeLinearAlgebra(Step &step) {
  const View &lhs = step.in[0];
  const Op &op = step.op;
  if (op.kind == OpKind::MatVec) {
    // y[m] = sum_k A[m, k] x[k], or A[k, m] with `transpose`.
    const std::vector<int64_t> &dims = lhs.type->shape;
    int64_t inner = op.transpose ? dims[0] : dims[1];
    for (int64_t b = 0; b < step.examples; ++b)
      for (int64_t m = 0; m < step.count; ++m)
        for (int64_t k = 0; k < inner; ++k) {
          int64_t entry = op.transpose ? k * dims[1] + m : m * dims[1] + k;
          step.example(b)[m] += lhs.data[entry] * at(step.in[1], b, k);
        }
    return;
  }
  if (op.kind == OpKind::OuterSum) {
    // out[m, k] = sum over the batch of a[m] b[k].
    int64_t rows = step.resultType.shape[0];
    int64_t columns = step.resultType.shape[1];
    for (int64_t b = 0; b < step.operandExamples(); ++b)
      for (int64_t m = 0; m < rows; ++m)
        for (int64_t k = 0; k < columns; ++k)
          step.out[m * columns + k] += at(lhs, b, m) * at(step.in[1], b, k);
    return;
  }
  // SumBatch adds the examples up; BroadcastBatch copies x to each.
  double scale = op.mean ? 1.0 / step.batch : 1.0;
  bool isSum = op.kind == OpKind::SumBatch;
  for (int64_t b = 0; b < step.batch; ++b)
    for (int64_t i = 0; i < step.count; ++i)
      step.example(isSum ? 0 : b)[i] += at(lhs, b, i) * scale;
}

void computeSlice(Step &step) {
  // Around the axis, each example is [outer, length, inner]; `moved`
  // entries of the axis go from offset `from` in x to `to` in the result.
  const Op &op = step.op;
  const std::vector<int64_t> &shape = step.in[0].type->shape;
  int64_t outer = 1, inner = 1;
  for (unsigned d = 0; d < shape.size(); ++d)
    (d < op.axis ? outer : inner) *= d == op.axis ? 1 : shape[d];
  int64_t sourceLength = shape[op.axis];
  int64_t resultLength = step.resultType.shape[op.axis];
  bool isSlice = op.kind == OpKind::Slice;
  int64_t moved = isSlice ? op.end - op.begin : sourceLength;
  int64_t from = isSlice ? op.begin : 0;
  int64_t to = isSlice ? 0 : op.begin;
  for (int64_t b = 0; b < step.examples; ++b)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t r = 0; r < moved; ++r)
        for (int64_t i = 0; i < inner; ++i)
          step.example(b)[((o * resultLength) + to + r) * inner + i] =
              at(step.in[0], b, ((o * sourceLength) + from + r) * inner + i);
}

void computeConcat(Step &step) {
  // Around the axis, each example is [outer, length, inner]; part k fills
  // entries [offset_k, offset_k + its length) of the axis.
  const Op &op = step.op;
  const std::vector<int64_t> &shape = step.resultType.shape;
  int64_t outer = 1, inner = 1;
  for (unsigned d = 0; d < shape.size(); ++d)
    (d < op.axis ? outer : inner) *= d == op.axis ? 1 : shape[d];
  int64_t resultLength = shape[op.axis];
  int64_t offset = 0;
  for (const View &part : step.in) {
    int64_t length = part.type->shape[op.axis];
    for (int64_t b = 0; b < step.examples; ++b)
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t r = 0; r < length; ++r)
          for (int64_t i = 0; i < inner; ++i)
            step.example(b)[((o * resultLength) + offset + r) * inner + i] =
                at(part, b, ((o * length) + r) * inner + i);
    offset += length;
  }
}

void computeReshape(Step &step) {
  for (int64_t b = 0; b < step.examples; ++b)
    for (int64_t i = 0; i < step.count; ++i)
      step.example(b)[i] = at(step.in[0], b, i);
}

void computeRows(Step &step) {
  const View &source = step.in[0];
  const View &ids = step.in[1];
  int64_t positions = ids.type->elementCount();
  if (step.op.kind == OpKind::Gather) {
    // out[s] = table[ids[s]] at every position s of the ids.
    int64_t width = source.type->shape[1];
    for (int64_t b = 0; b < step.examples; ++b)
      for (int64_t s = 0; s < positions; ++s) {
        int64_t row = rowOf(at(ids, b, s), source.type->shape[0]);
        for (int64_t i = 0; i < width; ++i)
          step.example(b)[s * width + i] = source.data[row * width + i];
      }
    return;
  }
  // ScatterAddRows: row ids[s] receives g[s], summed over s and the batch.
  int64_t width = step.resultType.shape[1];
  for (int64_t b = 0; b < step.operandExamples(); ++b)
    for (int64_t s = 0; s < positions; ++s) {
      int64_t row = rowOf(at(ids, b, s), step.resultType.shape[0]);
      for (int64_t i = 0; i < width; ++i)
        step.out[row * width + i] += at(source, b, s * width + i);
    }
}

void computeReduction(Step &step) {
  const View &x = step.in[0];
  int64_t sourceCount = x.type->elementCount();
  for (int64_t b = 0; b < step.examples; ++b)
    if (step.op.kind == OpKind::SumAll)
      for (int64_t i = 0; i < sourceCount; ++i)
        step.example(b)[0] += at(x, b, i);
    else // Fill
      std::fill_n(step.example(b), step.count, at(x, b, 0));
}

/// Softmax (masked), SoftmaxGrad, LogSoftmax, LogSoftmaxGrad and MaxLast,
/// row by row along the last axis.
void computeRowOp(Step &step) {
  const View &x = step.in[0];
  int64_t width = rowWidth(*x.type);
  int64_t rows = x.type->elementCount() / width;
  for (int64_t b = 0; b < step.examples; ++b)
    for (int64_t row = 0; row < rows; ++row) {
      int64_t first = row * width;
      auto value = [&](size_t k, int64_t i) {
        return at(step.in[k], b, first + i);
      };
      auto logit = [&](int64_t i) { return value(0, i); };
      double *out = step.example(b) + first;
      double largest = -INFINITY, total = 0;
      switch (step.op.kind) {
      case OpKind::Softmax:
        softmaxInto(
            width, logit,
            [&](int64_t i) { return step.in.size() < 2 || value(1, i) != 0; },
            out);
        break;
      case OpKind::SoftmaxGrad:
        // y * (g - sum(g * y)), where operand 0 is y.
        for (int64_t i = 0; i < width; ++i)
          total += value(1, i) * value(0, i);
        for (int64_t i = 0; i < width; ++i)
          out[i] = value(0, i) * (value(1, i) - total);
        break;
      case OpKind::LogSoftmax:
        // x - max - log(sum exp(x - max)).
        for (int64_t i = 0; i < width; ++i)
          largest = std::max(largest, logit(i));
        for (int64_t i = 0; i < width; ++i)
          total += std::exp(logit(i) - largest);
        for (int64_t i = 0; i < width; ++i)
          out[i] = logit(i) - largest - std::log(total);
        break;
      case OpKind::LogSoftmaxGrad:
        // g - exp(y) * sum(g), where operand 0 is y.
        for (int64_t i = 0; i < width; ++i)
          total += value(1, i);
        for (int64_t i = 0; i < width; ++i)
          out[i] = value(1, i) - std::exp(value(0, i)) * total;
        break;
      default: // MaxLast
        for (int64_t i = 0; i < width; ++i)
          largest = std::max(largest, logit(i));
        step.example(b)[row] = largest;
      }
    }
}

void computeCrossEntropy(Step &step) {
  const View &logits = step.in[0];
  int64_t classes = rowWidth(*logits.type);
  int64_t rows = logits.type->elementCount() / classes;
  Buffer probabilities(classes);
  for (int64_t b = 0; b < step.examples; ++b)
    for (int64_t row = 0; row < rows; ++row) {
      auto logit = [&](int64_t i) { return at(logits, b, row * classes + i); };
      int64_t target = rowOf(at(step.in[1], b, row), classes);
      if (step.op.kind == OpKind::CrossEntropy) {
        // logsumexp(logits) - logits[target], shifted by the largest logit.
        double largest = -INFINITY, total = 0;
        for (int64_t i = 0; i < classes; ++i)
          largest = std::max(largest, logit(i));
        for (int64_t i = 0; i < classes; ++i)
          total += std::exp(logit(i) - largest);
        step.example(b)[row] = largest + std::log(total) - logit(target);
        continue;
      }
      // CrossEntropyGrad: g * (softmax(logits) - onehot(target)).
      softmaxInto(
          classes, logit, [](int64_t) { return true; }, probabilities.data());
      double g = at(step.in[2], b, row);
      for (int64_t i = 0; i < classes; ++i)
        step.example(b)[row * classes + i] =
            g * (probabilities[i] - (i == target ? 1 : 0));
    }
}

/// The size of each axis of a value's full layout [steps?][batch?][shape].
std::vector<int64_t> layoutSizes(const Type &type, int64_t batch) {
  std::vector<int64_t> sizes;
  if (type.isStream())
    sizes.push_back(type.steps);
  if (type.batched)
    sizes.push_back(batch);
  sizes.insert(sizes.end(), type.shape.begin(), type.shape.end());
  return sizes;
}

} // namespace

const Buffer &Interpreter::valueOf(const Value *value) const {
  auto found = values.find(value);
  if (found == values.end())
    interpreterFailure(
        fmt::format("%{} used before it has a value", value->id));
  return found->second;
}

void Interpreter::runBlock(const Block &block) {
  for (const auto &op : block.ops)
    runOp(*op);
}

void Interpreter::runOp(const Op &op) {
  switch (op.kind) {
  case OpKind::Param:
  case OpKind::Input:
  case OpKind::Constant:
  case OpKind::Iota:
    values[op.result()] = leaf(op);
    return;
  case OpKind::Scan:
    runScan(op);
    return;
  case OpKind::Einsum:
    values[op.result()] = einsum(op);
    return;
  case OpKind::StreamAt:
  case OpKind::StreamPlace:
  case OpKind::SumSteps:
  case OpKind::StreamFill:
  case OpKind::StreamSlice:
  case OpKind::StreamPad:
    values[op.result()] = streamOp(op);
    return;
  default:
    values[op.result()] = stepwise(op);
    return;
  }
}

Buffer Interpreter::leaf(const Op &op) {
  const Type &type = op.result()->type;
  int64_t size = stepSize(type) * std::max<int64_t>(type.steps, 1);
  if (op.kind == OpKind::Constant)
    return Buffer(size, op.value);
  if (op.kind == OpKind::Iota)
    return iota(op);
  const BufferMap &source = op.kind == OpKind::Param ? params : inputs;
  auto found = source.find(op.name);
  if (found == source.end())
    interpreterFailure(
        fmt::format("no buffer for {} `{}`", opName(op.kind), op.name));
  if (static_cast<int64_t>(found->second.size()) != size)
    interpreterFailure(fmt::format("buffer `{}` has {} elements, expected {}",
                                   op.name, found->second.size(), size));
  return found->second;
}

/// Each element's index along the axis: in row-major order it advances
/// every `inner` elements (the product of the later axes) and wraps at the
/// axis's size.
Buffer Interpreter::iota(const Op &op) {
  std::vector<int64_t> sizes = layoutSizes(op.result()->type, batch);
  int64_t inner = 1;
  for (size_t d = op.axis + 1; d < sizes.size(); ++d)
    inner *= sizes[d];
  Buffer result(stepSize(op.result()->type) *
                std::max<int64_t>(op.result()->type.steps, 1));
  for (size_t i = 0; i < result.size(); ++i)
    result[i] =
        static_cast<double>((static_cast<int64_t>(i) / inner) % sizes[op.axis]);
  return result;
}

/// Runs an op step by step over its stream operands: the result is their
/// stack, or their sum when the result is not a stream (OuterSum and
/// ScatterAddRows). Non-stream operands are the same at every step.
Buffer Interpreter::stepwise(const Op &op) {
  int64_t steps = 1;
  for (const Value *operand : op.operands)
    steps = std::max(steps, operand->type.steps);
  const Type &resultType = op.result()->type;
  Type resultStep = resultType.stepType();
  std::vector<Type> operandSteps;
  for (const Value *operand : op.operands)
    operandSteps.push_back(operand->type.stepType());

  Buffer result;
  for (int64_t t = 0; t < steps; ++t) {
    std::vector<View> views;
    for (size_t i = 0; i < op.operands.size(); ++i) {
      bool isStream = op.operands[i]->type.isStream();
      int64_t offset = isStream ? t * stepSize(operandSteps[i]) : 0;
      views.push_back(
          {&operandSteps[i], valueOf(op.operands[i]).data() + offset});
    }
    Buffer stepResult = computeStep(op, views, resultStep);
    if (t == 0 || resultType.isStream())
      result.insert(result.end(), stepResult.begin(), stepResult.end());
    else
      for (size_t i = 0; i < result.size(); ++i)
        result[i] += stepResult[i];
  }
  return result;
}

/// Computes one step of a non-stream op.
Buffer Interpreter::computeStep(const Op &op, const std::vector<View> &in,
                                const Type &resultType) {
  int64_t examples = resultType.batched ? batch : 1;
  int64_t count = resultType.elementCount();
  Step step{op,
            in,
            resultType,
            batch,
            examples,
            count,
            Buffer(examples * count, 0.0)};
  switch (op.kind) {
  case OpKind::MatVec:
  case OpKind::OuterSum:
  case OpKind::SumBatch:
  case OpKind::BroadcastBatch:
    computeLinearAlgebra(step);
    break;
  case OpKind::Slice:
  case OpKind::PadSlice:
    computeSlice(step);
    break;
  case OpKind::Concat:
    computeConcat(step);
    break;
  case OpKind::Reshape:
    computeReshape(step);
    break;
  case OpKind::Gather:
  case OpKind::ScatterAddRows:
    computeRows(step);
    break;
  case OpKind::SumAll:
  case OpKind::Fill:
    computeReduction(step);
    break;
  case OpKind::Softmax:
  case OpKind::SoftmaxGrad:
  case OpKind::LogSoftmax:
  case OpKind::LogSoftmaxGrad:
  case OpKind::MaxLast:
    computeRowOp(step);
    break;
  case OpKind::CrossEntropy:
  case OpKind::CrossEntropyGrad:
    computeCrossEntropy(step);
    break;
  default:
    if (!isElementwise(op.kind))
      interpreterFailure(
          fmt::format("{} is not a per-step op", opName(op.kind)));
    computeElementwise(step);
  }
  return std::move(step.out);
}

/// An einsum over whole layouts (steps and batch included): every point of
/// the space of all labels adds the product of the operands there to the
/// result at its labels.
Buffer Interpreter::einsum(const Op &op) {
  // Every label once, the result's first, each with its size.
  std::string labels = op.labels.back();
  std::vector<int64_t> sizes;
  std::vector<const Type *> types;
  for (const Value *operand : op.operands)
    types.push_back(&operand->type);
  types.push_back(&op.result()->type);
  for (const std::string &valueLabels : op.labels)
    for (char label : valueLabels)
      if (labels.find(label) == std::string::npos)
        labels += label;
  sizes.assign(labels.size(), 0);
  for (size_t v = 0; v < types.size(); ++v) {
    std::vector<int64_t> axes = layoutSizes(*types[v], batch);
    for (size_t a = 0; a < axes.size(); ++a)
      sizes[labels.find(op.labels[v][a])] = axes[a];
  }

  // Each value's stride along each label: zero where it lacks the label.
  std::vector<std::vector<int64_t>> strides;
  for (size_t v = 0; v < types.size(); ++v) {
    std::vector<int64_t> axes = layoutSizes(*types[v], batch);
    std::vector<int64_t> valueStrides(labels.size(), 0);
    int64_t stride = 1;
    for (size_t a = axes.size(); a-- > 0;) {
      valueStrides[labels.find(op.labels[v][a])] = stride;
      stride *= axes[a];
    }
    strides.push_back(std::move(valueStrides));
  }

  const Type &resultType = op.result()->type;
  Buffer result(stepSize(resultType) * std::max<int64_t>(resultType.steps, 1),
                0.0);
  std::vector<int64_t> point(labels.size(), 0);
  auto offset = [&](size_t v) {
    int64_t sum = 0;
    for (size_t l = 0; l < labels.size(); ++l)
      sum += point[l] * strides[v][l];
    return sum;
  };
  for (;;) {
    double product = 1;
    for (size_t v = 0; v < op.operands.size(); ++v)
      product *= valueOf(op.operands[v])[offset(v)];
    result[offset(op.operands.size())] += product;
    // Advances the point like an odometer, the last label fastest.
    size_t l = labels.size();
    while (l > 0 && ++point[l - 1] == sizes[l - 1])
      point[--l] = 0;
    if (l == 0)
      break;
  }
  return result;
}

/// The ops that move whole steps of streams.
Buffer Interpreter::streamOp(const Op &op) {
  const Value *x = op.operands[0];
  const Buffer &source = valueOf(x);
  const Type &resultType = op.result()->type;
  int64_t stride = stepSize(resultType.stepType());
  auto stepOf = [&](int64_t t) { return source.begin() + t * stride; };
  Buffer out;
  switch (op.kind) {
  case OpKind::StreamAt:
    return Buffer(stepOf(op.begin), stepOf(op.begin + 1));
  case OpKind::StreamSlice:
    return Buffer(stepOf(op.begin), stepOf(op.end));
  case OpKind::SumSteps:
    out.assign(stride, 0.0);
    for (int64_t t = 0; t < x->type.steps; ++t)
      for (int64_t i = 0; i < stride; ++i)
        out[i] += source[t * stride + i];
    return out;
  case OpKind::StreamFill:
    for (int64_t t = 0; t < op.steps; ++t)
      out.insert(out.end(), source.begin(), source.end());
    return out;
  default: // StreamPlace and StreamPad put the source at step `begin`.
    out.assign(stride * op.steps, 0.0);
    std::copy(source.begin(), source.end(), out.begin() + op.begin * stride);
    return out;
  }
}

/// Runs the body once per step, in time order or reversed, binding the
/// carries, each sequence's step t + offset, and the captures.
void Interpreter::runScan(const Op &scan) {
  const Block &body = *scan.body;
  unsigned sequenceEnd = scan.numCarries + scan.numSequences;
  for (unsigned i = 0; i < scan.numCarries; ++i)
    values[body.arguments[i].get()] = valueOf(scan.operands[i]);
  for (unsigned i = sequenceEnd; i < scan.operands.size(); ++i)
    values[body.arguments[i].get()] = valueOf(scan.operands[i]);
  std::vector<Buffer> stacked(scan.results.size() - scan.numCarries);

  for (int64_t n = 0; n < scan.steps; ++n) {
    int64_t t = scan.reverse ? scan.steps - 1 - n : n;
    for (unsigned i = scan.numCarries; i < sequenceEnd; ++i) {
      const Value *argument = body.arguments[i].get();
      int64_t stride = stepSize(argument->type);
      int64_t at = t + scan.sequenceOffsets[i - scan.numCarries];
      auto start = valueOf(scan.operands[i]).begin() + at * stride;
      values[argument] = Buffer(start, start + stride);
    }
    runBlock(body);

    // Per-step outputs are stacked at step t whatever the direction.
    for (size_t i = 0; i < stacked.size(); ++i) {
      const Buffer &output = valueOf(body.yields[scan.numCarries + i]);
      stacked[i].resize(output.size() * scan.steps);
      std::copy(output.begin(), output.end(),
                stacked[i].begin() + t * output.size());
    }
    std::vector<Buffer> next;
    for (unsigned i = 0; i < scan.numCarries; ++i)
      next.push_back(valueOf(body.yields[i]));
    for (unsigned i = 0; i < scan.numCarries; ++i)
      values[body.arguments[i].get()] = std::move(next[i]);
  }

  for (unsigned i = 0; i < scan.numCarries; ++i)
    values[scan.result(i)] = valueOf(body.arguments[i].get());
  for (size_t i = 0; i < stacked.size(); ++i)
    values[scan.result(scan.numCarries + i)] = std::move(stacked[i]);
}

BufferMap evaluate(const Function &function, int64_t batch,
                   const BufferMap &params, const BufferMap &inputs) {
  Interpreter interpreter(batch, params, inputs);
  interpreter.runBlock(function.body);
  BufferMap outputs;
  for (const NamedValue &output : function.outputs)
    outputs[output.name] = interpreter.valueOf(output.value);
  return outputs;
}

} // namespace weft::ir
