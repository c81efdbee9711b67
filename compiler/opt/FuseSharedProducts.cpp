// Fusing the matrix products that share their vector. Products W_k v (not
// transposed) are grouped by v and by the width of W_k. In a scan step a
// matrix qualifies when it does not change from step to step (a capture or
// an outer value), and the stacked matrix is built before the scan; at the
// top level (the input projections hoisted out of scans) the matrices must
// be parameters. Each group of two or more becomes one product of the
// matrices stacked along their rows, and each old product a slice of it.
#include "compiler/opt/FuseSharedProducts.h"

#include "compiler/ir/Rewrite.h"

#include <algorithm>
#include <map>
#include <set>

namespace weft::opt {

namespace {

using ir::OpKind;

class ProductFuser {
public:
  /// Fuses in `scan`'s body, building stacked matrices in `before`; or,
  /// without a scan, in the top-level block.
  ProductFuser(ir::Function &function, ir::Op *scan, ir::Block &before)
      : function(function), scan(scan),
        body(scan ? *scan->body : function.body), outside(function, before) {}

  unsigned run();

private:
  ir::Value *outerMatrix(ir::Value *matrix) const;
  void defineBefore(const std::vector<ir::Value *> &matrices,
                    const ir::Op *position);
  unsigned fuse(const std::vector<ir::Op *> &group);

  ir::Function &function;
  ir::Op *scan;
  ir::Block &body;
  ir::Builder outside;
};

/// The top-level value of a step-invariant matrix, or null if it varies.
ir::Value *ProductFuser::outerMatrix(ir::Value *matrix) const {
  if (!scan) {
    const ir::Op *definer = matrix->definingOp;
    return definer && definer->kind == OpKind::Param ? matrix : nullptr;
  }
  if (matrix->ownerBlock == &body) {
    bool isCapture = matrix->index >= scan->numCarries + scan->numSequences;
    return isCapture ? scan->operands[matrix->index] : nullptr;
  }
  if (matrix->ownerBlock)
    return nullptr; // An argument of another scan's body.
  const ir::Op *definer = matrix->definingOp;
  for (const auto &op : body.ops)
    if (op.get() == definer)
      return nullptr;
  return matrix;
}

/// Moves the top-level parameters `matrices` that are declared after
/// `position` to just before it, so that the stacked matrix built there
/// can read them. A parameter reads nothing, so it may go anywhere.
void ProductFuser::defineBefore(const std::vector<ir::Value *> &matrices,
                                const ir::Op *position) {
  auto at = [&](const ir::Op *op) {
    return std::find_if(
        body.ops.begin(), body.ops.end(),
        [&](const std::unique_ptr<ir::Op> &each) { return each.get() == op; });
  };
  for (ir::Value *matrix : matrices) {
    auto definition = at(matrix->definingOp);
    if (definition <= at(position))
      continue;
    std::unique_ptr<ir::Op> moved = std::move(*definition);
    body.ops.erase(definition);
    body.ops.insert(at(position), std::move(moved));
  }
}

unsigned ProductFuser::fuse(const std::vector<ir::Op *> &group) {
  std::vector<ir::Value *> matrices;
  for (const ir::Op *product : group)
    matrices.push_back(outerMatrix(product->operands[0]));
  if (!scan)
    defineBefore(matrices, group[0]);
  // The fused product and its slices go where the first product was; at
  // the top level, so does the stacked matrix.
  ir::Block built;
  ir::Builder inner(function, built);
  inner.range = group[0]->range;
  outside.range = group[0]->range;
  ir::Value *stacked = (scan ? outside : inner).concat(matrices);
  stacked->hint = "stacked";
  ir::Value *product = inner.matVec(stacked, group[0]->operands[1]);
  int64_t offset = 0;
  for (ir::Op *old : group) {
    int64_t rows = old->result()->type.shape[0];
    ir::Value *slice = inner.slice(product, offset, offset + rows);
    slice->hint = old->result()->hint;
    ir::replaceAllUses(function, old->result(), slice);
    offset += rows;
  }
  auto first = std::find_if(
      body.ops.begin(), body.ops.end(),
      [&](const std::unique_ptr<ir::Op> &op) { return op.get() == group[0]; });
  body.ops.insert(first, std::make_move_iterator(built.ops.begin()),
                  std::make_move_iterator(built.ops.end()));
  return group.size();
}

unsigned ProductFuser::run() {
  // Group by the vector and the matrix width, in order of first use.
  std::map<std::pair<const ir::Value *, int64_t>, std::vector<ir::Op *>> groups;
  std::vector<std::pair<const ir::Value *, int64_t>> order;
  for (const auto &op : body.ops) {
    if (op->kind != OpKind::MatVec || op->transpose ||
        !outerMatrix(op->operands[0]))
      continue;
    std::pair<const ir::Value *, int64_t> key{op->operands[1],
                                              op->operands[0]->type.shape[1]};
    auto &group = groups[key];
    if (group.empty())
      order.push_back(key);
    bool repeated = false;
    for (const ir::Op *other : group)
      repeated = repeated || other->operands[0] == op->operands[0];
    if (!repeated)
      group.push_back(op.get());
  }
  unsigned fused = 0;
  for (const auto &key : order)
    if (groups[key].size() >= 2)
      fused += fuse(groups[key]);
  return fused;
}

} // namespace

unsigned fuseSharedProducts(ir::Function &function) {
  // The stacked matrices go just before the scan.
  unsigned total = ir::rewriteScans(
      function, [&](ir::Op &scan, ir::Block &before, ir::Block &) {
        return ProductFuser(function, &scan, before).run();
      });
  ir::Block unused;
  total += ProductFuser(function, nullptr, unused).run();
  if (total)
    ir::eliminateDeadCode(function);
  return total;
}

} // namespace weft::opt
