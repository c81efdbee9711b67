// The derivative rule of every op kind, in one place. Each rule receives the
// cotangent ȳ of the op's result and accumulates the cotangents x̄ of its
// operands; its formula is stated above it. Broadcast operands are summed
// back to their own type by Differentiator::accumulate.
#include "compiler/autodiff/Differentiator.h"

#include <fmt/core.h>

namespace weft::autodiff {

using namespace ir;

namespace {

/// What every rule needs: the op, its result's cotangent, the reverse pass.
struct RuleContext {
  const Op &op;
  Value *resultCotangent;
  Differentiator &d;

  Builder &builder() { return d.builder; }
  /// The primal value of operand `i` (or of the result, i = -1).
  Value *operand(unsigned i) { return d.primal(op.operands[i]); }
  Value *result() { return d.primal(op.result()); }
  void accumulate(unsigned i, Value *contribution) {
    d.accumulate(op.operands[i], contribution);
  }
  Value *binary(OpKind kind, Value *lhs, Value *rhs) {
    return builder().binary(kind, lhs, rhs);
  }
  Value *unary(OpKind kind, Value *x) { return builder().unary(kind, x); }
};

/// Einsum labels for every axis of a value of `type` in layout order: a
/// fresh letter for the steps axis and each shape axis, `B` for the batch.
std::string layoutLabels(const Type &type) {
  static const char letters[] = "abcdefghijklmnopqrstuvwxy";
  std::string labels;
  size_t next = 0;
  if (type.isStream())
    labels += letters[next++];
  if (type.batched)
    labels += einsumBatchLabel;
  for (size_t axis = 0; axis < type.shape.size(); ++axis)
    labels += letters[next++];
  return labels;
}

/// The sum of each row of x along its last axis (the shape drops it). A
/// vector's row sum is its SumAll.
Value *rowSum(RuleContext &c, Value *x) {
  const Type &type = x->type;
  if (type.shape.size() == 1)
    return c.builder().sumAll(x);
  std::string labels = layoutLabels(type);
  std::vector<int64_t> shape(type.shape.begin(), type.shape.end() - 1);
  return c.builder().einsum({x}, {labels, labels.substr(0, labels.size() - 1)},
                            shape, type.steps);
}

/// s repeated along a new last axis of `width` entries. A scalar needs no
/// copy: elementwise ops broadcast it.
Value *broadcastRow(RuleContext &c, Value *s, int64_t width) {
  const Type &type = s->type;
  if (type.isScalar())
    return s;
  std::string labels = layoutLabels(type);
  std::vector<int64_t> shape = type.shape;
  shape.push_back(width);
  return c.builder().einsum({s}, {labels, labels + 'z'}, shape, type.steps);
}

// Neg: y = -x; x̄ += -ȳ.
void negRule(RuleContext &c) {
  c.accumulate(0, c.builder().unary(OpKind::Neg, c.resultCotangent));
}

// Add: y = a + b; ā += ȳ, b̄ += ȳ.
void addRule(RuleContext &c) {
  c.accumulate(0, c.resultCotangent);
  c.accumulate(1, c.resultCotangent);
}

// Sub: y = a - b; ā += ȳ, b̄ += -ȳ.
void subRule(RuleContext &c) {
  c.accumulate(0, c.resultCotangent);
  c.accumulate(1, c.builder().unary(OpKind::Neg, c.resultCotangent));
}

// Mul: y = a·b; ā += ȳ·b, b̄ += ȳ·a.
void mulRule(RuleContext &c) {
  c.accumulate(0, c.binary(OpKind::Mul, c.resultCotangent, c.operand(1)));
  c.accumulate(1, c.binary(OpKind::Mul, c.resultCotangent, c.operand(0)));
}

// Div: y = a/b; ā += ȳ/b, b̄ += -ȳ·a/b² = -(ȳ·y)/b.
void divRule(RuleContext &c) {
  Value *scaled = c.binary(OpKind::Div, c.resultCotangent, c.operand(1));
  c.accumulate(0, scaled);
  Value *product = c.binary(OpKind::Mul, scaled, c.result());
  c.accumulate(1, c.builder().unary(OpKind::Neg, product));
}

// Sigmoid: y = σ(x); x̄ += ȳ·y(1−y).
void sigmoidRule(RuleContext &c) {
  Value *one = c.builder().constant(1);
  Value *complement = c.binary(OpKind::Sub, one, c.result());
  Value *slope = c.binary(OpKind::Mul, c.result(), complement);
  c.accumulate(0, c.binary(OpKind::Mul, c.resultCotangent, slope));
}

// Tanh: y = tanh(x); x̄ += ȳ·(1−y²).
void tanhRule(RuleContext &c) {
  Value *one = c.builder().constant(1);
  Value *square = c.binary(OpKind::Mul, c.result(), c.result());
  Value *slope = c.binary(OpKind::Sub, one, square);
  c.accumulate(0, c.binary(OpKind::Mul, c.resultCotangent, slope));
}

// Exp: y = eˣ; x̄ += ȳ·y.
void expRule(RuleContext &c) {
  c.accumulate(0, c.binary(OpKind::Mul, c.resultCotangent, c.result()));
}

// Log: y = ln x; x̄ += ȳ/x.
void logRule(RuleContext &c) {
  c.accumulate(0, c.binary(OpKind::Div, c.resultCotangent, c.operand(0)));
}

// Sqrt: y = √x; x̄ += ȳ/(2y).
void sqrtRule(RuleContext &c) {
  Value *twice = c.binary(OpKind::Mul, c.builder().constant(2), c.result());
  c.accumulate(0, c.binary(OpKind::Div, c.resultCotangent, twice));
}

// Abs: y = |x|; x̄ += ȳ·sign(x), with sign(x) = (x > 0) − (x < 0) (0 at 0).
void absRule(RuleContext &c) {
  Value *zero = c.builder().constant(0);
  Value *positive = c.binary(OpKind::Greater, c.operand(0), zero);
  Value *negative = c.binary(OpKind::Less, c.operand(0), zero);
  Value *sign = c.binary(OpKind::Sub, positive, negative);
  c.accumulate(0, c.binary(OpKind::Mul, c.resultCotangent, sign));
}

// Relu: y = max(x, 0); x̄ += ȳ·(x > 0).
void reluRule(RuleContext &c) {
  Value *zero = c.builder().constant(0);
  Value *active = c.binary(OpKind::Greater, c.operand(0), zero);
  c.accumulate(0, c.binary(OpKind::Mul, c.resultCotangent, active));
}

// Pow: y = aᵇ; ā += ȳ·b·a^(b−1), b̄ += ȳ·log(a)·y. The second needs a > 0;
// it is skipped when b is a constant, which needs no gradient (x² at x < 0).
// At a = 0 it is 0, as PyTorch takes it (y = 0 there for b > 0), not
// log(0)·0 = NaN: an NTM head sharpens weights that underflow to 0.
void powRule(RuleContext &c) {
  Value *a = c.operand(0);
  Value *b = c.operand(1);
  Value *g = c.resultCotangent;
  Value *lowered = c.binary(OpKind::Sub, b, c.builder().constant(1));
  Value *slope = c.binary(OpKind::Mul, b, c.binary(OpKind::Pow, a, lowered));
  c.accumulate(0, c.binary(OpKind::Mul, g, slope));
  const Op *exponentOp = c.op.operands[1]->definingOp;
  if (exponentOp && exponentOp->kind == OpKind::Constant)
    return;
  Value *logA = c.unary(OpKind::Log, a);
  Value *zero = c.builder().constant(0);
  Value *scaled = c.builder().where(c.binary(OpKind::Equal, a, zero), zero,
                                    c.binary(OpKind::Mul, logA, c.result()));
  c.accumulate(1, c.binary(OpKind::Mul, g, scaled));
}

// Comparisons: piecewise constant, so their operands get no cotangent.
void comparisonRule(RuleContext &) {}

// Where: y = c ? a : b; ā += c ? ȳ : 0, b̄ += c ? 0 : ȳ; c̄ none.
void whereRule(RuleContext &c) {
  Value *cond = c.operand(0);
  Value *zero = c.builder().constant(0);
  c.accumulate(1, c.builder().where(cond, c.resultCotangent, zero));
  c.accumulate(2, c.builder().where(cond, zero, c.resultCotangent));
}

// Einsum: y[r] = Σ_{labels not in r} Π_j x_j[l_j]. Each operand appears
// linearly, so x̄_i[l_i] += Σ_{labels not in l_i} ȳ[r] Π_{j≠i} x_j[l_j]:
// an einsum of ȳ and the other operands with x_i's labels as the result's.
// A label only x_i has broadcasts (x_i's entries there share one ȳ).
void einsumRule(RuleContext &c) {
  const Op &op = c.op;
  for (unsigned i = 0; i < op.operands.size(); ++i) {
    std::vector<Value *> operands{c.resultCotangent};
    std::vector<std::string> labels{op.labels.back()};
    for (unsigned j = 0; j < op.operands.size(); ++j)
      if (j != i) {
        operands.push_back(c.operand(j));
        labels.push_back(op.labels[j]);
      }
    labels.push_back(op.labels[i]);
    const Type &type = op.operands[i]->type;
    c.accumulate(i,
                 c.builder().einsum(operands, labels, type.shape, type.steps));
  }
}

// MatVec: y = Ax; x̄ += Aᵀȳ, Ā += Σ_batch ȳ xᵀ.
// Transposed: y = Aᵀx; x̄ += Aȳ, Ā += Σ_batch x ȳᵀ.
void matVecRule(RuleContext &c) {
  Value *matrix = c.operand(0);
  Value *vector = c.operand(1);
  Value *g = c.resultCotangent;
  c.accumulate(1, c.builder().matVec(matrix, g, !c.op.transpose));
  c.accumulate(0, c.op.transpose ? c.builder().outerSum(vector, g)
                                 : c.builder().outerSum(g, vector));
}

// OuterSum: C = Σ_batch a bᵀ; ā += C̄ b, b̄ += C̄ᵀ a.
void outerSumRule(RuleContext &c) {
  Value *g = c.resultCotangent;
  c.accumulate(0, c.builder().matVec(g, c.operand(1)));
  c.accumulate(1, c.builder().matVec(g, c.operand(0), /*transpose=*/true));
}

// SumBatch: y = Σ_b x_b (/B with mean); x̄_b += ȳ (/B with mean).
void sumBatchRule(RuleContext &c) {
  c.accumulate(0, c.builder().broadcastBatch(c.resultCotangent, c.op.mean));
}

// BroadcastBatch: y_b = x (/B with mean); x̄ += Σ_b ȳ_b (/B with mean).
void broadcastBatchRule(RuleContext &c) {
  c.accumulate(0, c.builder().sumBatch(c.resultCotangent, c.op.mean));
}

// Slice: y = x[begin:end] along an axis; x̄[begin:end] += ȳ there, zero
// elsewhere.
void sliceRule(RuleContext &c) {
  int64_t length = c.op.operands[0]->type.shape[c.op.axis];
  c.accumulate(0, c.builder().padSlice(c.resultCotangent, c.op.begin, length,
                                       c.op.axis));
}

// PadSlice: y[begin:begin+n] = g along an axis, zero elsewhere;
// ḡ += ȳ[begin:begin+n] there.
void padSliceRule(RuleContext &c) {
  int64_t length = c.op.operands[0]->type.shape[c.op.axis];
  c.accumulate(0, c.builder().slice(c.resultCotangent, c.op.begin,
                                    c.op.begin + length, c.op.axis));
}

// Concat: y = [x_1, ..., x_n] along an axis; x̄_k += the slice of ȳ where
// x_k lies (an unbatched part sums it over the batch).
void concatRule(RuleContext &c) {
  int64_t offset = 0;
  for (unsigned k = 0; k < c.op.operands.size(); ++k) {
    int64_t length = c.op.operands[k]->type.shape[c.op.axis];
    c.accumulate(k, c.builder().slice(c.resultCotangent, offset,
                                      offset + length, c.op.axis));
    offset += length;
  }
}

// Reshape: y = x read with another shape; x̄ += ȳ read with x's shape.
void reshapeRule(RuleContext &c) {
  c.accumulate(
      0, c.builder().reshape(c.resultCotangent, c.op.operands[0]->type.shape));
}

// Gather: y_b = T[ids_b]; T̄[ids_b] += ȳ_b (summed over the batch).
void gatherRule(RuleContext &c) {
  int64_t rows = c.op.operands[0]->type.shape[0];
  c.accumulate(
      0, c.builder().scatterAddRows(c.resultCotangent, c.operand(1), rows));
}

// ScatterAddRows: R[ids_b] += g_b; ḡ_b += R̄[ids_b].
void scatterAddRowsRule(RuleContext &c) {
  c.accumulate(0, c.builder().gather(c.resultCotangent, c.operand(1)));
}

// SumAll: y = Σ_i x_i; x̄_i += ȳ.
void sumAllRule(RuleContext &c) {
  const std::vector<int64_t> &shape = c.op.operands[0]->type.shape;
  c.accumulate(0, c.builder().fill(c.resultCotangent, shape));
}

// Fill: y_i = s; s̄ += Σ_i ȳ_i.
void fillRule(RuleContext &c) {
  c.accumulate(0, c.builder().sumAll(c.resultCotangent));
}

// Softmax: y = softmax(x) per row; x̄ += y ⊙ (ȳ − ⟨ȳ, y⟩) (SoftmaxGrad).
// With a mask, masked entries have y = 0 and so get x̄ = 0; a row with
// every entry masked is all zeros and gets zeros. The mask gets nothing.
void softmaxRule(RuleContext &c) {
  c.accumulate(0, c.builder().softmaxGrad(c.result(), c.resultCotangent));
}

// SoftmaxGrad: z = y ⊙ (g − ⟨g, y⟩) per row, i.e. z = J g with the
// symmetric J = diag(y) − y yᵀ; ḡ += J z̄ = y ⊙ (z̄ − ⟨z̄, y⟩),
// ȳ += z̄ ⊙ (g − ⟨g, y⟩) − g ⟨z̄, y⟩.
void softmaxGradRule(RuleContext &c) {
  Value *y = c.operand(0);
  Value *g = c.operand(1);
  Value *zBar = c.resultCotangent;
  int64_t width = y->type.shape.back();
  c.accumulate(1, c.builder().softmaxGrad(y, zBar));
  Value *gDotY = rowSum(c, c.binary(OpKind::Mul, g, y));
  Value *zBarDotY = rowSum(c, c.binary(OpKind::Mul, zBar, y));
  Value *centered = c.binary(OpKind::Sub, g, broadcastRow(c, gDotY, width));
  Value *first = c.binary(OpKind::Mul, zBar, centered);
  Value *second = c.binary(OpKind::Mul, g, broadcastRow(c, zBarDotY, width));
  c.accumulate(0, c.binary(OpKind::Sub, first, second));
}

// LogSoftmax: y = x − logsumexp(x) per row; ∂y_i/∂x_j = δ_ij − e^{y_j}, so
// x̄ += ȳ − e^y Σ ȳ (LogSoftmaxGrad).
void logSoftmaxRule(RuleContext &c) {
  c.accumulate(0, c.builder().logSoftmaxGrad(c.result(), c.resultCotangent));
}

// LogSoftmaxGrad: z = g − e^y s with s = Σ g per row;
// ḡ += z̄ − Σ (z̄ ⊙ e^y), ȳ += −z̄ ⊙ e^y s.
void logSoftmaxGradRule(RuleContext &c) {
  Value *y = c.operand(0);
  Value *g = c.operand(1);
  Value *zBar = c.resultCotangent;
  int64_t width = y->type.shape.back();
  Value *expY = c.unary(OpKind::Exp, y);
  Value *weighted = c.binary(OpKind::Mul, zBar, expY);
  Value *weightedSum = broadcastRow(c, rowSum(c, weighted), width);
  c.accumulate(1, c.binary(OpKind::Sub, zBar, weightedSum));
  Value *gSum = broadcastRow(c, rowSum(c, g), width);
  Value *product = c.binary(OpKind::Mul, weighted, gSum);
  c.accumulate(0, c.unary(OpKind::Neg, product));
}

// MaxLast: y = max_i x_i per row; x̄_i += ȳ where x_i = y, else 0. Ties are
// not split: every entry equal to the maximum receives the whole ȳ.
void maxLastRule(RuleContext &c) {
  Value *x = c.operand(0);
  int64_t width = x->type.shape.back();
  Value *largest = broadcastRow(c, c.result(), width);
  Value *isLargest = c.binary(OpKind::Equal, x, largest);
  Value *g = broadcastRow(c, c.resultCotangent, width);
  c.accumulate(0, c.builder().where(isLargest, g, c.builder().constant(0)));
}

// CrossEntropy: l = logsumexp(x) − x[t]; x̄ += l̄ (softmax(x) − onehot(t))
// (CrossEntropyGrad). The target is an int and gets no cotangent.
void crossEntropyRule(RuleContext &c) {
  c.accumulate(0, c.builder().crossEntropyGrad(c.operand(0), c.operand(1),
                                               c.resultCotangent));
}

// CrossEntropyGrad: z = g (p − onehot(t)) per row with p = softmax(x);
// x̄ += g · (p ⊙ (z̄ − ⟨z̄, p⟩)), ḡ += ⟨z̄, p − onehot(t)⟩.
void crossEntropyGradRule(RuleContext &c) {
  Value *logits = c.operand(0);
  Value *target = c.operand(1);
  Value *zBar = c.resultCotangent;
  int64_t width = logits->type.shape.back();
  Value *probabilities = c.builder().softmax(logits);
  Value *throughSoftmax = c.builder().softmaxGrad(probabilities, zBar);
  Value *g = broadcastRow(c, c.operand(2), width);
  c.accumulate(0, c.binary(OpKind::Mul, g, throughSoftmax));
  Value *one = c.builder().constant(1, target->type.shape);
  Value *direction = c.builder().crossEntropyGrad(logits, target, one);
  Value *product = c.binary(OpKind::Mul, zBar, direction);
  c.accumulate(2, rowSum(c, product));
}

// StreamAt: y = x[step]; x̄[step] += ȳ, zero at other steps (StreamPlace).
void streamAtRule(RuleContext &c) {
  int64_t steps = c.op.operands[0]->type.steps;
  c.accumulate(0,
               c.builder().streamPlace(c.resultCotangent, c.op.begin, steps));
}

// StreamPlace: y[step] = g, zero elsewhere; ḡ += ȳ[step] (StreamAt).
void streamPlaceRule(RuleContext &c) {
  c.accumulate(0, c.builder().streamAt(c.resultCotangent, c.op.begin));
}

// SumSteps: y = Σ_t x[t]; x̄[t] += ȳ (StreamFill).
void sumStepsRule(RuleContext &c) {
  int64_t steps = c.op.operands[0]->type.steps;
  c.accumulate(0, c.builder().streamFill(c.resultCotangent, steps));
}

// StreamFill: y[t] = x; x̄ += Σ_t ȳ[t] (SumSteps).
void streamFillRule(RuleContext &c) {
  c.accumulate(0, c.builder().sumSteps(c.resultCotangent));
}

// StreamSlice: y = x[begin:end] over steps; x̄[begin:end] += ȳ (StreamPad).
void streamSliceRule(RuleContext &c) {
  int64_t steps = c.op.operands[0]->type.steps;
  c.accumulate(0, c.builder().streamPad(c.resultCotangent, c.op.begin, steps));
}

// StreamPad: y[begin:begin+n] = g, zero elsewhere; ḡ += ȳ[begin:begin+n].
void streamPadRule(RuleContext &c) {
  int64_t steps = c.op.operands[0]->type.steps;
  c.accumulate(0, c.builder().streamSlice(c.resultCotangent, c.op.begin,
                                          c.op.begin + steps));
}

using Rule = void (*)(RuleContext &);

/// The rule of each single-result op kind; null for leaves, which have
/// no operands (Iota, like Constant, is a constant: its cotangent stops).
Rule ruleFor(OpKind kind) {
  switch (kind) {
  case OpKind::Param:
  case OpKind::Input:
  case OpKind::Constant:
  case OpKind::Iota:
    return nullptr;
  case OpKind::Neg:
    return negRule;
  case OpKind::Add:
    return addRule;
  case OpKind::Sub:
    return subRule;
  case OpKind::Mul:
    return mulRule;
  case OpKind::Div:
    return divRule;
  case OpKind::Sigmoid:
    return sigmoidRule;
  case OpKind::Tanh:
    return tanhRule;
  case OpKind::Exp:
    return expRule;
  case OpKind::Log:
    return logRule;
  case OpKind::Sqrt:
    return sqrtRule;
  case OpKind::Abs:
    return absRule;
  case OpKind::Relu:
    return reluRule;
  case OpKind::Pow:
    return powRule;
  case OpKind::Less:
  case OpKind::LessEqual:
  case OpKind::Greater:
  case OpKind::GreaterEqual:
  case OpKind::Equal:
  case OpKind::NotEqual:
    return comparisonRule;
  case OpKind::Where:
    return whereRule;
  case OpKind::Einsum:
    return einsumRule;
  case OpKind::MatVec:
    return matVecRule;
  case OpKind::OuterSum:
    return outerSumRule;
  case OpKind::SumBatch:
    return sumBatchRule;
  case OpKind::BroadcastBatch:
    return broadcastBatchRule;
  case OpKind::Slice:
    return sliceRule;
  case OpKind::PadSlice:
    return padSliceRule;
  case OpKind::Concat:
    return concatRule;
  case OpKind::Reshape:
    return reshapeRule;
  case OpKind::Gather:
    return gatherRule;
  case OpKind::ScatterAddRows:
    return scatterAddRowsRule;
  case OpKind::SumAll:
    return sumAllRule;
  case OpKind::Fill:
    return fillRule;
  case OpKind::Softmax:
    return softmaxRule;
  case OpKind::SoftmaxGrad:
    return softmaxGradRule;
  case OpKind::LogSoftmax:
    return logSoftmaxRule;
  case OpKind::LogSoftmaxGrad:
    return logSoftmaxGradRule;
  case OpKind::MaxLast:
    return maxLastRule;
  case OpKind::CrossEntropy:
    return crossEntropyRule;
  case OpKind::CrossEntropyGrad:
    return crossEntropyGradRule;
  case OpKind::StreamAt:
    return streamAtRule;
  case OpKind::StreamPlace:
    return streamPlaceRule;
  case OpKind::SumSteps:
    return sumStepsRule;
  case OpKind::StreamFill:
    return streamFillRule;
  case OpKind::StreamSlice:
    return streamSliceRule;
  case OpKind::StreamPad:
    return streamPadRule;
  case OpKind::Scan:
    break;
  }
  autodiffFailure(fmt::format("no derivative rule for {}", opName(kind)));
}

} // namespace

void applyDerivativeRule(const Op &op, Differentiator &d) {
  // Scan: the gradient of a scan is a reverse scan; see ScanGradient.cpp.
  if (op.kind == OpKind::Scan) {
    differentiateScan(op, d);
    return;
  }
  Rule rule = ruleFor(op.kind);
  Value *resultCotangent = d.cotangent(op.result());
  // An op the loss does not depend on contributes nothing.
  if (!rule || !resultCotangent)
    return;
  RuleContext context{op, resultCotangent, d};
  rule(context);
}

} // namespace weft::autodiff
