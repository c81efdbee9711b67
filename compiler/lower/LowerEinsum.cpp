// Lowers an Einsum: to one Gemm when it is a matrix product whose three
// matrices each flatten into two contiguous groups of labelled axes (rows
// and columns), else to a loop nest over the result's axes that sums the
// product of the operands over the other labels.
#include "compiler/lower/LowerContext.h"

#include <optional>

namespace weft::lower {

namespace {

/// One axis of a value's full layout: its label, extent and stride.
struct Axis {
  char label;
  Size extent;
  Size stride;
};

/// The axes of a value of `type` whose layout `labels` names, in layout
/// order [steps?][batch?][shape...].
std::vector<Axis> axesOf(const ir::Type &type, const std::string &labels) {
  std::vector<Size> extents, strides;
  int64_t inner = elementsOf(type);
  if (type.isStream()) {
    extents.push_back({type.steps, 0});
    strides.push_back(stepSize(type));
  }
  if (type.batched) {
    extents.push_back(Size::batch());
    strides.push_back({inner, 0});
  }
  for (int64_t dimension : type.shape) {
    inner /= dimension;
    extents.push_back({dimension, 0});
    strides.push_back({inner, 0});
  }
  std::vector<Axis> axes;
  for (size_t i = 0; i < labels.size(); ++i)
    axes.push_back({labels[i], extents[i], strides[i]});
  return axes;
}

/// The stride of a value with `axes` along each kernel dimension (one
/// label each), zero along the labels it lacks (broadcasting).
std::vector<Size> stridesAlong(const std::vector<Axis> &axes,
                               const std::string &dimensions) {
  std::vector<Size> strides(dimensions.size());
  for (const Axis &axis : axes)
    strides[dimensions.find(axis.label)] = axis.stride;
  return strides;
}

bool contains(const std::string &labels, char label) {
  return labels.find(label) != std::string::npos;
}

/// The labels of `labels` that `keep` accepts, in order.
template <typename Keep>
std::string labelsWhere(const std::string &labels, Keep keep) {
  std::string kept;
  for (char label : labels)
    if (keep(label))
      kept += label;
  return kept;
}

/// The product of the extents of the axes labelled `group`, or nothing
/// when it is not a Size (never: the batch label occurs once).
Size groupExtent(const std::vector<Axis> &axes, const std::string &group) {
  Size extent{1, 0};
  for (const Axis &axis : axes)
    if (contains(group, axis.label))
      extent = axis.extent.isFixed()
                   ? extent * axis.extent.fixed
                   : Size{0, extent.fixed * axis.extent.perBatch};
  return extent;
}

/// How one matrix of a product is stored: whether its layout is `first`
/// then `second` (as is) or `second` then `first` (transposed), with its
/// leading dimension; nothing when it is neither or the leading dimension
/// depends on the batch.
struct MatrixLayout {
  bool transposed = false;
  int64_t leading = 0;
};

std::optional<MatrixLayout> matrixLayout(const std::vector<Axis> &axes,
                                         const std::string &labels,
                                         const std::string &first,
                                         const std::string &second) {
  std::optional<MatrixLayout> layout;
  if (labels == first + second)
    layout = MatrixLayout{false, 0};
  else if (labels == second + first)
    layout = MatrixLayout{true, 0};
  else
    return std::nullopt;
  Size leading = groupExtent(axes, layout->transposed ? first : second);
  if (!leading.isFixed())
    return std::nullopt;
  layout->leading = leading.fixed;
  return layout;
}

} // namespace

/// C = A B with A, B the operands in either order: the labels of C split
/// into M (from A) then N (from B), and the summed labels K occur in both A
/// and B. Each matrix is then [rows, columns] (or transposed) over groups
/// of whole contiguous axes, which cblas_?gemm takes as it is.
bool Lowering::lowerEinsumAsGemm(const ir::Op &op) {
  if (op.operands.size() != 2)
    return false;
  const std::string &c = op.labels[2];
  for (unsigned lhs = 0; lhs < 2; ++lhs) {
    const std::string &a = op.labels[lhs];
    const std::string &b = op.labels[1 - lhs];
    std::string m = labelsWhere(c, [&](char l) { return !contains(b, l); });
    std::string n = labelsWhere(c, [&](char l) { return !contains(a, l); });
    std::string k = labelsWhere(b, [&](char l) { return !contains(c, l); });
    bool everyLabelPlaced = m.size() + n.size() == c.size() &&
                            m.size() + k.size() == a.size() &&
                            k.size() + n.size() == b.size() && !m.empty() &&
                            !n.empty() && !k.empty();
    if (!everyLabelPlaced || c != m + n)
      continue;
    std::vector<Axis> aAxes = axesOf(op.operands[lhs]->type, a);
    std::vector<Axis> bAxes = axesOf(op.operands[1 - lhs]->type, b);
    std::vector<Axis> cAxes = axesOf(op.result()->type, c);
    std::optional<MatrixLayout> aLayout = matrixLayout(aAxes, a, m, k);
    std::optional<MatrixLayout> bLayout = matrixLayout(bAxes, b, k, n);
    Size columns = groupExtent(cAxes, n);
    if (!aLayout || !bLayout || !columns.isFixed())
      continue;

    View view = resultView(op.result());
    Gemm gemm;
    gemm.label = "einsum";
    gemm.m = groupExtent(cAxes, m);
    gemm.n = columns;
    gemm.k = groupExtent(aAxes, k);
    gemm.transposeA = aLayout->transposed;
    gemm.a = accessOf(viewOf(op.operands[lhs]));
    gemm.lda = aLayout->leading;
    gemm.transposeB = bLayout->transposed;
    gemm.b = accessOf(viewOf(op.operands[1 - lhs]));
    gemm.ldb = bLayout->leading;
    gemm.c = accessOf(view);
    gemm.ldc = columns.fixed;
    emit({std::move(gemm)});
    return true;
  }
  return false;
}

/// The general case: one kernel whose dimensions are the result's labels,
/// then every other label (summed over); its body is the product of the
/// operands' elements, each read with zero strides along labels it lacks.
void Lowering::lowerEinsum(const ir::Op &op) {
  if (lowerEinsumAsGemm(op))
    return;
  // TODO: a product batched over a shared label (`Bsh,Bh->Bs`, attention
  // scores) runs here as a scalar loop nest; one GEMM per example, or a
  // strided batched GEMM, would make it as fast as the plain products.
  const std::string &resultLabels = op.labels.back();
  std::vector<Axis> resultAxes = axesOf(op.result()->type, resultLabels);
  std::string dimensions = resultLabels;
  ElementwiseKernel kernel;
  kernel.label = "einsum";
  for (const Axis &axis : resultAxes)
    kernel.extents.push_back(axis.extent);
  std::vector<std::vector<Axis>> operandAxes;
  for (size_t i = 0; i < op.operands.size(); ++i) {
    operandAxes.push_back(axesOf(op.operands[i]->type, op.labels[i]));
    for (const Axis &axis : operandAxes.back())
      if (!contains(dimensions, axis.label)) {
        dimensions += axis.label;
        kernel.reductionExtents.push_back(axis.extent);
      }
  }

  View view = resultView(op.result());
  kernel.store = accessOf(view, stridesAlong(resultAxes, dimensions));
  for (size_t i = 0; i < op.operands.size(); ++i) {
    Expr load;
    load.kind = ExprKind::Load;
    load.access = accessOf(viewOf(op.operands[i]),
                           stridesAlong(operandAxes[i], dimensions));
    if (i == 0) {
      kernel.body = std::move(load);
      continue;
    }
    Expr product;
    product.kind = ExprKind::Mul;
    product.operands = {std::move(kernel.body), std::move(load)};
    kernel.body = std::move(product);
  }
  emit({std::move(kernel)});
}

} // namespace weft::lower
