// One kernel recipe per IR op kind: elementwise chains (fused into one
// kernel where a value has a single elementwise user), index copies, GEMMs,
// reductions, row kernels, gathers and scatters.
#include "compiler/lower/LowerContext.h"

namespace weft::lower {

namespace {

/// Ops whose result element depends only on the same element (after
/// broadcasting) of their operands, so an expression tree can compute them.
bool isElementwise(ir::OpKind kind) {
  switch (kind) {
  case ir::OpKind::Constant:
  case ir::OpKind::Fill:
  case ir::OpKind::BroadcastBatch:
  case ir::OpKind::StreamFill:
    return true;
  default:
    return kind >= ir::OpKind::Neg && kind <= ir::OpKind::Log;
  }
}

ExprKind exprKindOf(ir::OpKind kind) {
  switch (kind) {
  case ir::OpKind::Neg:
    return ExprKind::Neg;
  case ir::OpKind::Add:
    return ExprKind::Add;
  case ir::OpKind::Sub:
    return ExprKind::Sub;
  case ir::OpKind::Mul:
    return ExprKind::Mul;
  case ir::OpKind::Div:
    return ExprKind::Div;
  case ir::OpKind::Sigmoid:
    return ExprKind::Sigmoid;
  case ir::OpKind::Tanh:
    return ExprKind::Tanh;
  case ir::OpKind::Exp:
    return ExprKind::Exp;
  default:
    return ExprKind::Log;
  }
}

Expr constantExpr(double value) {
  Expr expr;
  expr.kind = ExprKind::Constant;
  expr.value = value;
  return expr;
}

Expr loadExpr(Access access) {
  Expr expr;
  expr.kind = ExprKind::Load;
  expr.access = std::move(access);
  return expr;
}

Expr nodeExpr(ExprKind kind, std::vector<Expr> operands) {
  Expr expr;
  expr.kind = kind;
  expr.operands = std::move(operands);
  return expr;
}

/// `type` with another per-example shape.
ir::Type withShape(ir::Type type, std::vector<int64_t> shape) {
  type.shape = std::move(shape);
  return type;
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise chains
//===----------------------------------------------------------------------===//

/// A value is computed inside its user's kernel when that user is the only
/// use, is elementwise, lives in the same block, and has the same type (so
/// nothing is recomputed); constants are inlined into any such user.
bool Lowering::isFusible(const ir::Value *value) const {
  const ir::Op *definer = value->definingOp;
  if (!definer || !isElementwise(definer->kind))
    return false;
  auto count = useCounts.find(value);
  auto user = operandUser.find(value);
  if (count == useCounts.end() || count->second != 1 ||
      user == operandUser.end() || yieldedOrOutput.count(value) ||
      destinations.count(value))
    return false;
  const ir::Op *consumer = user->second;
  if (!isElementwise(consumer->kind) ||
      blockOf.at(consumer) != blockOf.at(definer))
    return false;
  return definer->kind == ir::OpKind::Constant ||
         value->type == consumer->result()->type;
}

Expr Lowering::valueExpr(const ir::Value *value, const ir::Type &domain,
                         std::string &label) {
  if (fused.count(value))
    return opExpr(*value->definingOp, domain, label);
  return loadExpr(
      accessOf(viewOf(value), broadcastStrides(value->type, domain, true)));
}

Expr Lowering::opExpr(const ir::Op &op, const ir::Type &domain,
                      std::string &label) {
  std::vector<Expr> operands;
  for (const ir::Value *operand : op.operands)
    operands.push_back(valueExpr(operand, domain, label));
  label += (label.empty() ? "" : "+") + std::string(ir::opName(op.kind));

  switch (op.kind) {
  case ir::OpKind::Constant:
    return constantExpr(op.value);
  case ir::OpKind::Fill:
  case ir::OpKind::StreamFill:
    return std::move(operands[0]);
  case ir::OpKind::BroadcastBatch:
    if (!op.mean)
      return std::move(operands[0]);
    return nodeExpr(ExprKind::Div, {std::move(operands[0]),
                                    nodeExpr(ExprKind::BatchSize, {})});
  default:
    return nodeExpr(exprKindOf(op.kind), std::move(operands));
  }
}

void Lowering::lowerElementwise(const ir::Op &op) {
  const ir::Value *result = op.result();
  if (isFusible(result)) {
    fused.insert(result);
    return;
  }
  const ir::Type &domain = result->type;
  View view = resultView(result);
  std::string label;
  Expr body = opExpr(op, domain, label);
  emit(
      {ElementwiseKernel{label, domainExtents(domain, true),
                         accessOf(view, broadcastStrides(domain, domain, true)),
                         std::move(body)}});
}

//===----------------------------------------------------------------------===//
// Index copies
//===----------------------------------------------------------------------===//

/// result = x[begin:end] along axis 0, for every step and example.
void Lowering::lowerSlice(const ir::Op &op) {
  const ir::Value *x = op.operands[0];
  const ir::Type &domain = op.result()->type;
  View view = resultView(op.result());
  View source = viewOf(x);
  std::vector<Size> strides = broadcastStrides(x->type, domain, true);
  source.base = source.base +
                Size{op.begin * (elementsOf(x->type) / x->type.shape[0]), 0};
  emit(
      {ElementwiseKernel{"slice", domainExtents(domain, true),
                         accessOf(view, broadcastStrides(domain, domain, true)),
                         loadExpr(accessOf(source, strides))}});
}

/// result = zeros with g at rows [begin, begin + len) along axis 0.
void Lowering::lowerPadSlice(const ir::Op &op) {
  const ir::Value *g = op.operands[0];
  const ir::Type &type = op.result()->type;
  View view = resultView(op.result());
  emitZero(view, type);
  View region = view;
  region.base =
      region.base + Size{op.begin * (elementsOf(type) / type.shape[0]), 0};
  emit({ElementwiseKernel{
      "pad_slice", domainExtents(g->type, true),
      accessOf(region, broadcastStrides(type, g->type, true)),
      loadExpr(
          accessOf(viewOf(g), broadcastStrides(g->type, g->type, true)))}});
}

/// StreamAt and StreamSlice: a contiguous run of steps.
void Lowering::lowerStreamCopy(const ir::Op &op) {
  const ir::Value *stream = op.operands[0];
  View view = resultView(op.result());
  View source = viewOf(stream);
  source.base = source.base + stepSize(stream->type) * op.begin;
  emitCopy(view, source, totalSize(op.result()->type));
}

/// StreamPlace and StreamPad: zeros with g at steps from `begin`.
void Lowering::lowerStreamPlace(const ir::Op &op) {
  const ir::Value *g = op.operands[0];
  const ir::Type &type = op.result()->type;
  View view = resultView(op.result());
  emitZero(view, type);
  View region = view;
  region.base = region.base + stepSize(type) * op.begin;
  emitCopy(region, viewOf(g), totalSize(g->type));
}

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

/// y = A x for every row of x (steps times batch): Y[N, M] = X[N, K] A^T, or
/// X A with `transpose` (A is then [K, M]).
void Lowering::lowerMatVec(const ir::Op &op) {
  const ir::Value *matrix = op.operands[0];
  const ir::Value *x = op.operands[1];
  int64_t outer = op.result()->type.shape[0];
  int64_t inner = x->type.shape[0];
  View view = resultView(op.result());
  Gemm gemm;
  gemm.label = op.transpose ? "matvec_transpose" : "matvec";
  gemm.m = rowCount(x->type);
  gemm.n = {outer, 0};
  gemm.k = {inner, 0};
  gemm.a = accessOf(viewOf(x));
  gemm.lda = inner;
  gemm.transposeB = !op.transpose;
  gemm.b = accessOf(viewOf(matrix));
  gemm.ldb = op.transpose ? outer : inner;
  gemm.c = accessOf(view);
  gemm.ldc = outer;
  emit({std::move(gemm)});
}

/// C[M, K] = sum over rows n of a[n]^T b[n] = a^T b, with a [N, M] and
/// b [N, K], N = steps times batch.
void Lowering::lowerOuterSum(const ir::Op &op) {
  const ir::Value *lhs = op.operands[0];
  const ir::Value *rhs = op.operands[1];
  int64_t rows = lhs->type.shape[0];
  int64_t columns = rhs->type.shape[0];
  View view = resultView(op.result());
  Gemm gemm;
  gemm.label = "outer_sum";
  gemm.transposeA = true;
  gemm.m = {rows, 0};
  gemm.n = {columns, 0};
  gemm.k = rowCount(lhs->type);
  gemm.a = accessOf(viewOf(lhs));
  gemm.lda = rows;
  gemm.b = accessOf(viewOf(rhs));
  gemm.ldb = columns;
  gemm.c = accessOf(view);
  gemm.ldc = columns;
  emit({std::move(gemm)});
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// SumBatch sums over the batch, SumAll over the elements of each example,
/// SumSteps over the steps; each leaves the other axes in place.
void Lowering::lowerReduce(const ir::Op &op) {
  const ir::Value *x = op.operands[0];
  const ir::Type &domain = op.result()->type;
  View view = resultView(op.result());
  bool sumAll = op.kind == ir::OpKind::SumAll;
  Reduce reduce;
  reduce.label = ir::opName(op.kind);
  reduce.extents = domainExtents(domain, !sumAll);
  reduce.destination =
      accessOf(view, broadcastStrides(domain, domain, !sumAll));
  reduce.source =
      accessOf(viewOf(x), broadcastStrides(x->type, domain, !sumAll));
  switch (op.kind) {
  case ir::OpKind::SumBatch:
    reduce.count = Size::batch();
    reduce.stride = {elementsOf(x->type), 0};
    reduce.divideByBatch = op.mean;
    break;
  case ir::OpKind::SumAll:
    reduce.count = {elementsOf(x->type), 0};
    reduce.stride = {1, 0};
    break;
  default:
    reduce.count = {x->type.steps, 0};
    reduce.stride = stepSize(x->type);
    break;
  }
  emit({std::move(reduce)});
}

//===----------------------------------------------------------------------===//
// Row kernels, gathers and scatters
//===----------------------------------------------------------------------===//

void Lowering::lowerRowKernel(const ir::Op &op) {
  static const std::pair<ir::OpKind, RowKernelKind> kinds[] = {
      {ir::OpKind::Softmax, RowKernelKind::Softmax},
      {ir::OpKind::SoftmaxGrad, RowKernelKind::SoftmaxGrad},
      {ir::OpKind::CrossEntropy, RowKernelKind::CrossEntropy},
      {ir::OpKind::CrossEntropyGrad, RowKernelKind::CrossEntropyGrad}};
  RowKernel kernel;
  for (const auto &[irKind, kind] : kinds)
    if (irKind == op.kind)
      kernel.kind = kind;
  // Rows run over the result's steps and batch; each operand is read with
  // its own strides, so an unbatched operand is shared by every row.
  const ir::Type &domain = op.result()->type;
  View view = resultView(op.result());
  kernel.extents = domainExtents(domain, false);
  kernel.width = elementsOf(op.operands[0]->type);
  for (const ir::Value *operand : op.operands)
    kernel.operands.push_back(accessOf(
        viewOf(operand), broadcastStrides(operand->type, domain, false)));
  kernel.result = accessOf(view, broadcastStrides(domain, domain, false));
  emit({std::move(kernel)});
}

void Lowering::lowerGather(const ir::Op &op) {
  const ir::Value *table = op.operands[0];
  const ir::Value *ids = op.operands[1];
  const ir::Type &domain = op.result()->type;
  View view = resultView(op.result());
  Gather gather;
  gather.extents = domainExtents(domain, false);
  gather.rows = table->type.shape[0];
  gather.width = table->type.shape[1];
  gather.table = accessOf(viewOf(table));
  gather.ids =
      accessOf(viewOf(ids), broadcastStrides(ids->type, domain, false));
  gather.result = accessOf(view, broadcastStrides(domain, domain, false));
  emit({std::move(gather)});
}

/// Zeroes the [rows, width] result, then adds each row of g at its id; the
/// sum runs over steps and batch.
void Lowering::lowerScatterAddRows(const ir::Op &op) {
  const ir::Value *g = op.operands[0];
  const ir::Value *ids = op.operands[1];
  const ir::Type &type = op.result()->type;
  View view = resultView(op.result());
  emitZero(view, type);
  ir::Type domain = withShape(g->type, {});
  domain.batched = g->type.batched || ids->type.batched;
  ScatterAddRows scatter;
  scatter.extents = domainExtents(domain, false);
  scatter.rows = type.shape[0];
  scatter.width = type.shape[1];
  scatter.grad = accessOf(viewOf(g), broadcastStrides(g->type, domain, false));
  scatter.ids =
      accessOf(viewOf(ids), broadcastStrides(ids->type, domain, false));
  scatter.result = accessOf(view);
  emit({std::move(scatter)});
}

} // namespace weft::lower
