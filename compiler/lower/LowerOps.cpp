// One kernel recipe per IR op kind: elementwise chains (fused into one
// kernel where a value has a single elementwise user), index copies, GEMMs,
// reductions, row kernels, gathers and scatters.
#include "compiler/lower/LowerContext.h"

namespace weft::lower {

namespace {

/// Ops whose result element depends only on the same element (after
/// broadcasting) of their operands, so an expression tree can compute them.
bool computesElementwise(ir::OpKind kind) {
  switch (kind) {
  case ir::OpKind::Constant:
  case ir::OpKind::Fill:
  case ir::OpKind::BroadcastBatch:
  case ir::OpKind::StreamFill:
    return true;
  default:
    return ir::isElementwise(kind);
  }
}

ExprKind exprKindOf(ir::OpKind opKind) {
  static const std::pair<ir::OpKind, ExprKind> kinds[] = {
      {ir::OpKind::Neg, ExprKind::Neg},
      {ir::OpKind::Add, ExprKind::Add},
      {ir::OpKind::Sub, ExprKind::Sub},
      {ir::OpKind::Mul, ExprKind::Mul},
      {ir::OpKind::Div, ExprKind::Div},
      {ir::OpKind::Sigmoid, ExprKind::Sigmoid},
      {ir::OpKind::Tanh, ExprKind::Tanh},
      {ir::OpKind::Exp, ExprKind::Exp},
      {ir::OpKind::Log, ExprKind::Log},
      {ir::OpKind::Sqrt, ExprKind::Sqrt},
      {ir::OpKind::Abs, ExprKind::Abs},
      {ir::OpKind::Relu, ExprKind::Relu},
      {ir::OpKind::Pow, ExprKind::Pow},
      {ir::OpKind::Less, ExprKind::Less},
      {ir::OpKind::LessEqual, ExprKind::LessEqual},
      {ir::OpKind::Greater, ExprKind::Greater},
      {ir::OpKind::GreaterEqual, ExprKind::GreaterEqual},
      {ir::OpKind::Equal, ExprKind::Equal},
      {ir::OpKind::NotEqual, ExprKind::NotEqual},
      {ir::OpKind::Where, ExprKind::Where}};
  for (const auto &[irKind, kind] : kinds)
    if (irKind == opKind)
      return kind;
  return ExprKind::Log;
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
  // A slice along the first axis is a contiguous run of each example, so
  // its user can load it from the sliced value at an offset.
  bool leadingSlice =
      definer && definer->kind == ir::OpKind::Slice && definer->axis == 0;
  if (!definer || !(computesElementwise(definer->kind) || leadingSlice))
    return false;
  auto count = useCounts.find(value);
  auto user = operandUser.find(value);
  if (count == useCounts.end() || count->second != 1 ||
      user == operandUser.end() || yieldedOrOutput.count(value) ||
      destinations.count(value))
    return false;
  const ir::Op *consumer = user->second;
  if (blockOf.at(consumer) != blockOf.at(definer))
    return false;
  // A part of a concatenation along the first axis is computed straight
  // into its region, over a domain of its own type.
  if (consumer->kind == ir::OpKind::Concat && consumer->axis == 0 &&
      !leadingSlice)
    return value->type.batched == consumer->result()->type.batched;
  // A sum over each example's elements adds up the chain's values as it
  // computes them.
  if (consumer->kind == ir::OpKind::SumAll && !leadingSlice)
    return value->type.element == ir::ElementType::Float;
  if (!computesElementwise(consumer->kind))
    return false;
  return definer->kind == ir::OpKind::Constant ||
         value->type == consumer->result()->type;
}

Expr Lowering::valueExpr(const ir::Value *value, const ir::Type &domain,
                         std::string &label) {
  const ir::Op *definer = value->definingOp;
  if (fused.count(value) && definer->kind == ir::OpKind::Slice) {
    // The domain has the slice's type: the same steps, batch and element
    // count, so x is read with its own strides from the slice's start.
    const ir::Value *x = definer->operands[0];
    View source = viewOf(x);
    source.base =
        source.base +
        Size{definer->begin * (elementsOf(x->type) / x->type.shape[0]), 0};
    label += (label.empty() ? "" : "+") + std::string("slice");
    return loadExpr(accessOf(source, broadcastStrides(x->type, domain, true)));
  }
  if (fused.count(value))
    return opExpr(*definer, domain, label);
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

/// Iota numbers the elements along one axis of its layout [steps?][shape],
/// so its kernel keeps that axis as a dimension of its own: [outer, axis,
/// inner] around it (outer and inner left out when they are 1), and the
/// body is that dimension's loop index. Its users load it: fusing it would
/// need the index along the axis of their flat element loop.
void Lowering::lowerIota(const ir::Op &op) {
  const ir::Type &type = op.result()->type;
  std::vector<int64_t> sizes = type.shape;
  if (type.isStream())
    sizes.insert(sizes.begin(), type.steps);
  int64_t outer = 1, inner = 1;
  for (unsigned d = 0; d < sizes.size(); ++d)
    (d < op.axis ? outer : inner) *= d == op.axis ? 1 : sizes[d];
  int64_t length = sizes[op.axis];

  std::vector<Size> extents, strides;
  if (outer > 1) {
    extents.push_back({outer, 0});
    strides.push_back({length * inner, 0});
  }
  Expr body;
  body.kind = ExprKind::LoopIndex;
  body.dimension = extents.size();
  extents.push_back({length, 0});
  strides.push_back({inner, 0});
  if (inner > 1) {
    extents.push_back({inner, 0});
    strides.push_back({1, 0});
  }
  View view = resultView(op.result());
  emit(
      {ElementwiseKernel{"iota", std::move(extents),
                         accessOf(view, std::move(strides)), std::move(body)}});
}

//===----------------------------------------------------------------------===//
// Index copies
//===----------------------------------------------------------------------===//

namespace {

/// The loop nest of a copy between a value of `type` and a slice of it
/// along `axis` of `length` entries: each example is [outer, length *
/// inner] around the axis, the second axis contiguous in both. Along
/// axis 0 the outer dimension (of one) is left out.
struct SliceNest {
  int64_t outer = 1;
  int64_t inner = 1;
  bool hasOuter = false;

  SliceNest(const ir::Type &type, unsigned axis) {
    for (unsigned d = 0; d < type.shape.size(); ++d)
      (d < axis ? outer : inner) *= d == axis ? 1 : type.shape[d];
    hasOuter = axis != 0;
  }
  std::vector<Size> extents(const ir::Type &domain, int64_t length) const {
    std::vector<Size> result = domainExtents(domain, false);
    if (hasOuter)
      result.push_back({outer, 0});
    result.push_back({length * inner, 0});
    return result;
  }
  /// The strides of a value of `type` with `length` entries on the axis.
  std::vector<Size> strides(const ir::Type &type, const ir::Type &domain,
                            int64_t length) const {
    std::vector<Size> result = broadcastStrides(type, domain, false);
    if (hasOuter)
      result.push_back({length * inner, 0});
    result.push_back({1, 0});
    return result;
  }
};

} // namespace

/// result = x[begin:end] along `axis`, for every step and example.
void Lowering::lowerSlice(const ir::Op &op) {
  if (isFusible(op.result())) {
    fused.insert(op.result());
    return;
  }
  const ir::Value *x = op.operands[0];
  const ir::Type &domain = op.result()->type;
  SliceNest nest(x->type, op.axis);
  int64_t length = op.end - op.begin;
  View view = resultView(op.result());
  View source = viewOf(x);
  source.base = source.base + Size{op.begin * nest.inner, 0};
  std::vector<Size> sourceStrides =
      nest.strides(x->type, domain, x->type.shape[op.axis]);
  emit({ElementwiseKernel{"slice", nest.extents(domain, length),
                          accessOf(view, nest.strides(domain, domain, length)),
                          loadExpr(accessOf(source, sourceStrides))}});
}

/// result = zeros with g at [begin, begin + len) along `axis`.
void Lowering::lowerPadSlice(const ir::Op &op) {
  const ir::Value *g = op.operands[0];
  const ir::Type &type = op.result()->type;
  SliceNest nest(type, op.axis);
  int64_t length = g->type.shape[op.axis];
  View view = resultView(op.result());
  emitZero(view, type);
  View region = view;
  region.base = region.base + Size{op.begin * nest.inner, 0};
  emit({ElementwiseKernel{
      "pad_slice", nest.extents(g->type, length),
      accessOf(region, nest.strides(type, g->type, op.end)),
      loadExpr(accessOf(viewOf(g), nest.strides(g->type, g->type, length)))}});
}

/// Each part is written into its region of the result: along the first
/// axis, by its own elementwise chain when it is fused into the concat.
void Lowering::lowerConcat(const ir::Op &op) {
  const ir::Type &type = op.result()->type;
  SliceNest nest(type, op.axis);
  int64_t length = type.shape[op.axis];
  View view = resultView(op.result());
  int64_t offset = 0;
  for (const ir::Value *part : op.operands) {
    int64_t partLength = part->type.shape[op.axis];
    ir::Type domain = part->type;
    domain.batched = type.batched;
    View region = view;
    region.base = region.base + Size{offset * nest.inner, 0};
    std::string label = "concat";
    Expr body =
        fused.count(part)
            ? valueExpr(part, domain, label)
            : loadExpr(accessOf(viewOf(part),
                                nest.strides(part->type, domain, partLength)));
    emit(
        {ElementwiseKernel{label, nest.extents(domain, partLength),
                           accessOf(region, nest.strides(type, domain, length)),
                           std::move(body)}});
    offset += partLength;
  }
}

/// The layout of a reshaped value is the same as its operand's.
void Lowering::lowerReshape(const ir::Op &op) {
  const ir::Value *result = op.result();
  const ir::Value *x = op.operands[0];
  if (inPlaceReshapes.count(result)) {
    views[result] = viewOf(x);
    return;
  }
  // Without a place of its own to be, the result is x's memory read with
  // its new shape. A carry's buffer is left out: it is overwritten at the
  // end of the step.
  bool isCarry = !x->definingOp && x->ownerBlock &&
                 x->index < x->ownerBlock->parentOp->numCarries;
  if (!destinations.count(result) && !isCarry) {
    views[result] = viewOf(x);
    return;
  }
  View view = resultView(result);
  emitCopy(view, viewOf(x), totalSize(result->type));
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
  if (sumAll && fused.count(x)) {
    // One kernel: the steps and batch of the result, then the elements of
    // x as a reduction dimension, the same order as x's own layout.
    std::string label = "sum_all";
    Expr body = valueExpr(x, x->type, label);
    emit({ElementwiseKernel{
        label,
        domainExtents(domain, false),
        accessOf(view, broadcastStrides(domain, domain, false)),
        std::move(body),
        {Size{elementsOf(x->type), 0}}}});
    return;
  }
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

/// Appends a dimension over the `rows` rows of each example, when there is
/// more than one, to `extents` and to each value's strides; a value with
/// `elements` elements per example steps by elements / rows per row.
static void addRowDimension(
    int64_t rows, std::vector<Size> &extents,
    std::vector<std::pair<std::vector<Size> *, int64_t>> stridesAndElements) {
  if (rows == 1)
    return;
  extents.push_back({rows, 0});
  for (auto &[strides, elements] : stridesAndElements)
    strides->push_back({elements / rows, 0});
}

void Lowering::lowerRowKernel(const ir::Op &op) {
  static const std::pair<ir::OpKind, RowKernelKind> kinds[] = {
      {ir::OpKind::Softmax, RowKernelKind::Softmax},
      {ir::OpKind::SoftmaxGrad, RowKernelKind::SoftmaxGrad},
      {ir::OpKind::LogSoftmax, RowKernelKind::LogSoftmax},
      {ir::OpKind::LogSoftmaxGrad, RowKernelKind::LogSoftmaxGrad},
      {ir::OpKind::MaxLast, RowKernelKind::MaxLast},
      {ir::OpKind::CrossEntropy, RowKernelKind::CrossEntropy},
      {ir::OpKind::CrossEntropyGrad, RowKernelKind::CrossEntropyGrad}};
  RowKernel kernel;
  for (const auto &[irKind, kind] : kinds)
    if (irKind == op.kind)
      kernel.kind = kind;
  // Rows run over the result's steps and batch, then over the rows along
  // the last axis of each example; each operand is read with its own
  // strides, so an unbatched operand is shared by every row.
  const ir::Type &domain = op.result()->type;
  const ir::Type &first = op.operands[0]->type;
  View view = resultView(op.result());
  kernel.extents = domainExtents(domain, false);
  kernel.width = first.shape.back();
  int64_t rows = elementsOf(first) / kernel.width;
  std::vector<std::vector<Size>> strides;
  for (const ir::Value *operand : op.operands)
    strides.push_back(broadcastStrides(operand->type, domain, false));
  std::vector<Size> resultStrides = broadcastStrides(domain, domain, false);
  std::vector<std::pair<std::vector<Size> *, int64_t>> stridesAndElements{
      {&resultStrides, elementsOf(domain)}};
  for (size_t i = 0; i < op.operands.size(); ++i)
    stridesAndElements.push_back(
        {&strides[i], elementsOf(op.operands[i]->type)});
  addRowDimension(rows, kernel.extents, stridesAndElements);
  for (size_t i = 0; i < op.operands.size(); ++i)
    kernel.operands.push_back(accessOf(viewOf(op.operands[i]), strides[i]));
  kernel.result = accessOf(view, resultStrides);
  emit({std::move(kernel)});
}

/// One table row per id: the ids may have any shape S, the result is S +
/// [width].
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
  std::vector<Size> idStrides = broadcastStrides(ids->type, domain, false);
  std::vector<Size> resultStrides = broadcastStrides(domain, domain, false);
  addRowDimension(elementsOf(ids->type), gather.extents,
                  {{&idStrides, elementsOf(ids->type)},
                   {&resultStrides, elementsOf(domain)}});
  gather.ids = accessOf(viewOf(ids), idStrides);
  gather.result = accessOf(view, resultStrides);
  emit({std::move(gather)});
}

/// Zeroes the [rows, width] result, then adds each row of g at its id; the
/// sum runs over steps, batch and the positions of the ids.
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
  std::vector<Size> gradStrides = broadcastStrides(g->type, domain, false);
  std::vector<Size> idStrides = broadcastStrides(ids->type, domain, false);
  addRowDimension(elementsOf(ids->type), scatter.extents,
                  {{&gradStrides, elementsOf(g->type)},
                   {&idStrides, elementsOf(ids->type)}});
  scatter.grad = accessOf(viewOf(g), gradStrides);
  scatter.ids = accessOf(viewOf(ids), idStrides);
  scatter.result = accessOf(view);
  emit({std::move(scatter)});
}

} // namespace weft::lower
