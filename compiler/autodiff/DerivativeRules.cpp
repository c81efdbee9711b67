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
};

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

// Slice: y = x[begin:end]; x̄[begin:end] += ȳ, zero elsewhere.
void sliceRule(RuleContext &c) {
  int64_t rows = c.op.operands[0]->type.shape[0];
  c.accumulate(0, c.builder().padSlice(c.resultCotangent, c.op.begin, rows));
}

// PadSlice: y[begin:begin+n] = g, zero elsewhere; ḡ += ȳ[begin:begin+n].
void padSliceRule(RuleContext &c) {
  int64_t rows = c.op.operands[0]->type.shape[0];
  c.accumulate(
      0, c.builder().slice(c.resultCotangent, c.op.begin, c.op.begin + rows));
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

// Softmax: y = softmax(x); x̄ += y ⊙ (ȳ − ⟨ȳ, y⟩) (SoftmaxGrad).
void softmaxRule(RuleContext &c) {
  c.accumulate(0, c.builder().softmaxGrad(c.result(), c.resultCotangent));
}

// SoftmaxGrad: z = y ⊙ (g − ⟨g, y⟩), i.e. z = J g with the symmetric
// J = diag(y) − y yᵀ; ḡ += J z̄ = y ⊙ (z̄ − ⟨z̄, y⟩),
// ȳ += z̄ ⊙ (g − ⟨g, y⟩) − g ⟨z̄, y⟩.
void softmaxGradRule(RuleContext &c) {
  Value *y = c.operand(0);
  Value *g = c.operand(1);
  Value *zBar = c.resultCotangent;
  c.accumulate(1, c.builder().softmaxGrad(y, zBar));
  Value *gDotY = c.builder().sumAll(c.binary(OpKind::Mul, g, y));
  Value *zBarDotY = c.builder().sumAll(c.binary(OpKind::Mul, zBar, y));
  Value *centered = c.binary(OpKind::Sub, g, gDotY);
  Value *first = c.binary(OpKind::Mul, zBar, centered);
  Value *second = c.binary(OpKind::Mul, g, zBarDotY);
  c.accumulate(0, c.binary(OpKind::Sub, first, second));
}

// CrossEntropy: l = logsumexp(x) − x[t]; x̄ += l̄ (softmax(x) − onehot(t))
// (CrossEntropyGrad). The target is an int and gets no cotangent.
void crossEntropyRule(RuleContext &c) {
  c.accumulate(0, c.builder().crossEntropyGrad(c.operand(0), c.operand(1),
                                               c.resultCotangent));
}

// CrossEntropyGrad: z = g (p − onehot(t)) with p = softmax(x);
// x̄ += g · (p ⊙ (z̄ − ⟨z̄, p⟩)), ḡ += ⟨z̄, p − onehot(t)⟩.
void crossEntropyGradRule(RuleContext &c) {
  Value *logits = c.operand(0);
  Value *target = c.operand(1);
  Value *zBar = c.resultCotangent;
  Value *probabilities = c.builder().softmax(logits);
  Value *throughSoftmax = c.builder().softmaxGrad(probabilities, zBar);
  c.accumulate(0, c.binary(OpKind::Mul, c.operand(2), throughSoftmax));
  Value *one = c.builder().constant(1);
  Value *direction = c.builder().crossEntropyGrad(logits, target, one);
  Value *product = c.binary(OpKind::Mul, zBar, direction);
  c.accumulate(2, c.builder().sumAll(product));
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
/// no operands.
Rule ruleFor(OpKind kind) {
  switch (kind) {
  case OpKind::Param:
  case OpKind::Input:
  case OpKind::Constant:
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
