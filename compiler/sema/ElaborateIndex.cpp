// Index notation and tensor products. `y[k] = sum(i, j) w[k, i, j] * x[i]`
// names every axis; values carry the names of their axes (labels), and
// arithmetic lines them up by name. Every product, sum and broadcast becomes
// an IR Einsum. Matrix products `@`, broadcasting by trailing axes, and whole
// streams used as tensors are built on the same contraction.
#include "compiler/sema/Elaborator.h"
#include "compiler/syntax/AstPrinter.h"

#include <fmt/format.h>

#include <algorithm>

namespace weft::sema {

using ir::OpKind;

namespace {

/// The letter that names the label `index` in an IR Einsum; 'B' is the
/// batch axis's own.
char einsumLetter(size_t index) {
  static const std::string letters =
      "abcdefghijklmnopqrstuvwxyzACDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return letters.at(index);
}

bool contains(const Labels &labels, const std::string &name) {
  return std::find(labels.begin(), labels.end(), name) != labels.end();
}

/// The plain name of an index written `k` or `k < K`, else null.
const ast::Expr *indexName(const ast::Expr &expr) {
  if (expr.kind == ast::ExprKind::Name)
    return &expr;
  if (expr.kind == ast::ExprKind::Binary &&
      expr.binaryOp == ast::BinaryOp::Less &&
      expr.operands[0]->kind == ast::ExprKind::Name)
    return expr.operands[0].get();
  return nullptr;
}

/// Flattens `a * b * c` into its factors.
void collectFactors(const ast::Expr &expr,
                    std::vector<const ast::Expr *> &factors) {
  if (expr.kind == ast::ExprKind::Binary &&
      expr.binaryOp == ast::BinaryOp::Mul) {
    collectFactors(*expr.operands[0], factors);
    collectFactors(*expr.operands[1], factors);
    return;
  }
  factors.push_back(&expr);
}

} // namespace

/// True when `target` is written in index notation: in a cell, any indexed
/// target; in a model, one whose first index is a bound `i < N`, or one with
/// several indices of which the first is not a time index.
bool Elaborator::isIndexEquation(const ast::Decl &decl,
                                 const ast::Target &target) const {
  if (!target.timeIndex)
    return false;
  if (decl.kind == ast::DeclKind::Cell)
    return true;
  const ast::Expr &first = *target.timeIndex;
  if (first.kind == ast::ExprKind::Binary &&
      first.binaryOp == ast::BinaryOp::Less)
    return true;
  if (target.extraIndices.empty() || first.kind != ast::ExprKind::Name)
    return false;
  for (const ast::Stmt &stmt : decl.body)
    if (stmt.kind == ast::StmtKind::Time && stmt.timeIndex == first.name)
      return false;
  return true;
}

IndexVar *Elaborator::findIndexVar(const std::string &name) {
  for (auto scope = indexScopes.rbegin(); scope != indexScopes.rend(); ++scope)
    if (auto found = scope->find(name); found != scope->end())
      return &found->second;
  return nullptr;
}

/// Gives an index variable its size at first use, and checks later uses.
bool Elaborator::bindIndex(const std::string &name, const Size &size,
                           SourceRange range) {
  IndexVar *var = findIndexVar(name);
  if (!var->size) {
    var->size = size;
    var->range = range;
    return true;
  }
  if (*var->size == size)
    return true;
  diags.error(range, fmt::format("the index `{}` runs over {} here but over "
                                 "{} where it was first used",
                                 name, size.str(), var->size->str()));
  diags.note(var->range, "first used here");
  return false;
}

/// The Einsum of `operands`, whose axes are named by `labels`: the result
/// has the axes `result`, and every other label is summed over. Labels only
/// in the result take their sizes from `newSizes`. The batch axis is added
/// where the operands have it.
Val Elaborator::contract(const Vals &operands,
                         const std::vector<Labels> &labels,
                         const Labels &result, SourceRange range,
                         const std::map<std::string, Size> &newSizes) {
  std::map<std::string, Size> sizes = newSizes;
  std::map<std::string, char> letters;
  auto letter = [&](const std::string &name) {
    auto [entry, inserted] = letters.emplace(name, 0);
    if (inserted)
      entry->second = einsumLetter(letters.size() - 1);
    return entry->second;
  };
  Val val;
  val.origin = range;
  val.level = level;
  for (size_t i = 0; i < operands.size(); ++i) {
    val.batched = val.batched || operands[i].batched;
    for (size_t axis = 0; axis < labels[i].size(); ++axis)
      sizes.emplace(labels[i][axis], operands[i].dims[axis]);
  }
  for (const std::string &name : result)
    val.dims.push_back(sizes.at(name));
  if (!building())
    return val;
  std::vector<std::string> spec;
  std::vector<ir::Value *> values;
  for (size_t i = 0; i < operands.size(); ++i) {
    std::string text = operands[i].batched ? "B" : "";
    for (const std::string &name : labels[i])
      text += letter(name);
    spec.push_back(text);
    values.push_back(use(operands[i]));
  }
  std::string text = val.batched ? "B" : "";
  for (const std::string &name : result)
    text += letter(name);
  spec.push_back(text);
  builder().range = range;
  val.ir = builder().einsum(values, spec, concreteDims(val.dims));
  return val;
}

/// `x` (labelled) with the axes `to`: reordered, and broadcast along the
/// labels it lacks.
Val Elaborator::alignTo(const Val &x, const Labels &to, const Dims &toDims,
                        SourceRange range) {
  if (x.labels == to)
    return x;
  std::map<std::string, Size> newSizes;
  for (size_t i = 0; i < to.size(); ++i)
    if (!contains(x.labels, to[i]))
      newSizes.emplace(to[i], toDims[i]);
  Val aligned = contract({x}, {x.labels}, to, range, newSizes);
  aligned.isToken = x.isToken;
  aligned.vocab = x.vocab;
  aligned.labels = to;
  return aligned;
}

/// Elementwise arithmetic in index notation: both sides are lined up by
/// the names of their axes.
Val Elaborator::labeledElementwise(OpKind kind, const Val &lhs, const Val &rhs,
                                   SourceRange range, const char *spelling) {
  for (const Val *side : {&lhs, &rhs}) {
    if (side->labels.empty() && !side->dims.empty()) {
      diags.error(side->origin,
                  fmt::format("in index notation every axis is named, but "
                              "this value of shape {} is not indexed; "
                              "write it as `x[i]`",
                              formatDims(side->dims)));
      return Val::poisoned();
    }
  }
  Labels all = lhs.labels;
  Dims allDims = lhs.dims;
  for (size_t i = 0; i < rhs.labels.size(); ++i) {
    auto found = std::find(all.begin(), all.end(), rhs.labels[i]);
    if (found == all.end()) {
      all.push_back(rhs.labels[i]);
      allDims.push_back(rhs.dims[i]);
    } else if (!(allDims[found - all.begin()] == rhs.dims[i])) {
      diags.error(range,
                  fmt::format("the index `{}` runs over {} on the left of "
                              "`{}` but over {} on the right",
                              rhs.labels[i], allDims[found - all.begin()].str(),
                              spelling, rhs.dims[i].str()));
      return Val::poisoned();
    }
  }
  Val left = lhs.labels.empty() ? lhs : alignTo(lhs, all, allDims, range);
  Val right = rhs.labels.empty() ? rhs : alignTo(rhs, all, allDims, range);
  Val plainLeft = left, plainRight = right;
  plainLeft.labels.clear();
  plainRight.labels.clear();
  Val val = elementwise(kind, plainLeft, plainRight, range, spelling);
  val.labels = all;
  return val;
}

/// Elementwise arithmetic of values of different ranks: the smaller one is
/// repeated along the leading axes it lacks, as in `M + v` for `M: [S, A]`
/// and `v: [A]`.
Val Elaborator::broadcastElementwise(OpKind kind, const Val &lhs,
                                     const Val &rhs, SourceRange range,
                                     const char *spelling) {
  bool lhsSmaller = lhs.dims.size() < rhs.dims.size();
  const Val &small = lhsSmaller ? lhs : rhs;
  const Val &large = lhsSmaller ? rhs : lhs;
  size_t lead = large.dims.size() - small.dims.size();
  Labels largeLabels, smallLabels;
  for (size_t i = 0; i < large.dims.size(); ++i)
    largeLabels.push_back(std::to_string(i));
  smallLabels.assign(largeLabels.begin() + lead, largeLabels.end());
  std::map<std::string, Size> newSizes;
  for (size_t i = 0; i < lead; ++i)
    newSizes.emplace(largeLabels[i], large.dims[i]);
  Val repeated = contract({small}, {smallLabels}, largeLabels, range, newSizes);
  return lhsSmaller ? elementwise(kind, repeated, rhs, range, spelling)
                    : elementwise(kind, lhs, repeated, range, spelling);
}

/// `a @ b` for matrices and vectors: [M, K] @ [K], [M, K] @ [K, N],
/// [K] @ [K, N] and [K] @ [K].
Val Elaborator::matMul(const Val &lhs, const Val &rhs, SourceRange range) {
  size_t left = lhs.dims.size(), right = rhs.dims.size();
  if (left < 1 || left > 2 || right < 1 || right > 2) {
    diags.error(range,
                fmt::format("`@` multiplies matrices and vectors, but this is "
                            "{} @ {}",
                            formatDims(lhs.dims), formatDims(rhs.dims)));
    return Val::poisoned();
  }
  const Size &inner = lhs.dims.back();
  if (!(inner == rhs.dims[0])) {
    const char *leftName = left == 2 ? "matrix" : "vector";
    const char *rightName = right == 2 ? "matrix" : "vector";
    diags.error(
        range,
        fmt::format("shape mismatch in `@`: {} @ {}: the {} has `{}` "
                    "{} but the {} has `{}` {}",
                    formatDims(lhs.dims), formatDims(rhs.dims), leftName,
                    inner.str(), left == 2 ? "columns" : "elements", rightName,
                    rhs.dims[0].str(), right == 2 ? "rows" : "elements"));
    diags.note(lhs.origin, fmt::format("the {} has shape {}", leftName,
                                       formatDims(lhs.dims)));
    diags.note(rhs.origin, fmt::format("the {} has shape {}", rightName,
                                       formatDims(rhs.dims)));
    return Val::poisoned();
  }
  if (left == 2 && right == 1 && !lhs.batched) {
    // A shared matrix times a vector: the form the optimiser knows best.
    Val val;
    val.dims = {lhs.dims[0]};
    val.batched = rhs.batched;
    val.origin = range;
    val.level = level;
    if (building()) {
      builder().range = range;
      val.ir = builder().matVec(use(lhs), use(rhs));
    }
    return val;
  }
  // The rows of a prefix stay the rows of the product.
  ir::Value *rowMask = left == 2 ? lhs.rowMask : nullptr;
  Labels lhsLabels = left == 2 ? Labels{"m", "k"} : Labels{"k"};
  Labels rhsLabels = right == 2 ? Labels{"k", "n"} : Labels{"k"};
  Labels result;
  if (left == 2)
    result.push_back("m");
  if (right == 2)
    result.push_back("n");
  Val val = contract({lhs, rhs}, {lhsLabels, rhsLabels}, result, range);
  val.rowMask = rowMask;
  return val;
}

/// `x[i, j]` with index variables: the tensor with its axes named.
Val Elaborator::indexedTensor(const ast::Expr &expr) {
  const ast::Expr &base = *expr.operands[0];
  bool isStreamName = base.kind == ast::ExprKind::Name &&
                      &frame() == modelFrame &&
                      (streams.count(base.name) || inputs.count(base.name)) &&
                      !frame().locals.count(base.name);
  Val tensor = isStreamName && !(inputs.count(base.name) &&
                                 inputs.at(base.name).axis.empty())
                   ? wholeStream(base.name, base.range)
                   : elaborateOne(base);
  if (!tensor.ok)
    return tensor;
  if (!tensor.labels.empty()) {
    diags.error(expr.range, "this value is already indexed");
    return Val::poisoned();
  }
  if (expr.indices.size() != tensor.dims.size()) {
    diags.error(expr.range,
                fmt::format("in index notation every axis is named, but "
                            "this value has shape {} and {} index{}",
                            formatDims(tensor.dims), expr.indices.size(),
                            expr.indices.size() == 1 ? "" : "es"));
    return Val::poisoned();
  }
  Labels labels;
  for (size_t axis = 0; axis < expr.indices.size(); ++axis) {
    const ast::IndexArg &index = expr.indices[axis];
    if (index.isSlice || index.index->kind != ast::ExprKind::Name) {
      diags.error(index.range, "in index notation each index is an index "
                               "variable, such as `k` of `y[k] = ...` or `i` "
                               "of `sum(i) ...`");
      return Val::poisoned();
    }
    if (!findIndexVar(index.index->name)) {
      const std::string &name = index.index->name;
      // Reported once per equation.
      if (unboundIndices.insert(name).second)
        diags.error(index.range,
                    fmt::format("`{}` is not an index of this equation; sum "
                                "over it with `sum({}) ...`, or name it on "
                                "the left",
                                name, name));
      return Val::poisoned();
    }
    const std::string &name = index.index->name;
    if (contains(labels, name)) {
      diags.error(index.range, fmt::format("the index `{}` names two axes "
                                           "of one value; diagonals are not "
                                           "supported",
                                           name));
      return Val::poisoned();
    }
    if (!bindIndex(name, tensor.dims[axis], index.range))
      return Val::poisoned();
    labels.push_back(name);
  }
  Val val = tensor;
  val.labels = labels;
  val.origin = expr.range;
  return val;
}

/// `sum(i, j) body`, `mean(i) body`, `max(j) body` over index variables.
/// A product is contracted two factors at a time, summing each index as
/// soon as no later factor needs it.
Val Elaborator::reduceIndices(const ast::Expr &expr) {
  std::map<std::string, IndexVar> scope;
  Labels summed;
  for (const ast::Binder &binder : expr.binders) {
    if (scope.count(binder.name) || findIndexVar(binder.name)) {
      diags.error(binder.range, fmt::format("the index `{}` is already in "
                                            "use",
                                            binder.name));
      return Val::poisoned();
    }
    IndexVar var;
    var.range = binder.range;
    if (binder.bound) {
      var.size = evaluateSize(*binder.bound);
      if (!var.size)
        return Val::poisoned();
    }
    scope[binder.name] = var;
    summed.push_back(binder.name);
  }
  if (expr.reduceOp == ast::ReduceOp::Max && summed.size() != 1) {
    diags.error(expr.range, "`max` reduces over one index at a time");
    return Val::poisoned();
  }
  indexScopes.push_back(scope);
  std::vector<const ast::Expr *> factorExprs;
  if (expr.reduceOp == ast::ReduceOp::Sum)
    collectFactors(*expr.operands[0], factorExprs);
  else
    factorExprs.push_back(expr.operands[0].get());
  Vals factors;
  for (const ast::Expr *factor : factorExprs)
    factors.push_back(elaborateOne(*factor));
  std::map<std::string, IndexVar> bound = indexScopes.back();
  indexScopes.pop_back();
  for (const Val &factor : factors)
    if (!factor.ok || !requireNumbers(factor, expr.range))
      return Val::poisoned();
  for (const std::string &name : summed) {
    if (!bound.at(name).size) {
      diags.error(bound.at(name).range,
                  fmt::format("the index `{}` indexes nothing, so its size "
                              "is not known; give it as `{} < N`",
                              name, name));
      return Val::poisoned();
    }
  }
  // What survives the reduction: every label but the summed ones.
  Labels kept;
  Dims keptDims;
  for (const Val &factor : factors)
    for (size_t i = 0; i < factor.labels.size(); ++i)
      if (!contains(summed, factor.labels[i]) &&
          !contains(kept, factor.labels[i])) {
        kept.push_back(factor.labels[i]);
        keptDims.push_back(factor.dims[i]);
      }

  if (expr.reduceOp == ast::ReduceOp::Max) {
    const Val &body = factors[0];
    if (!contains(body.labels, summed[0])) {
      diags.error(expr.range,
                  fmt::format("the body does not depend on `{}`", summed[0]));
      return Val::poisoned();
    }
    Labels order = kept;
    Dims orderDims = keptDims;
    order.push_back(summed[0]);
    orderDims.push_back(*bound.at(summed[0]).size);
    Val last = alignTo(body, order, orderDims, expr.range);
    Val val = last;
    val.dims = keptDims;
    val.labels = kept;
    val.origin = expr.range;
    if (building()) {
      builder().range = expr.range;
      val.ir = builder().maxLast(use(last));
    }
    return val;
  }

  // Scalars multiply the result; labelled factors are contracted in turn.
  Vals tensors;
  std::vector<Val> scalars;
  for (const Val &factor : factors) {
    if (!factor.labels.empty())
      tensors.push_back(factor);
    else if (factor.dims.empty())
      scalars.push_back(factor);
    else {
      diags.error(factor.origin,
                  fmt::format("in index notation every axis is named, but "
                              "this value of shape {} is not indexed",
                              formatDims(factor.dims)));
      return Val::poisoned();
    }
  }
  Val acc;
  if (tensors.empty()) {
    diags.error(expr.range, "nothing here depends on the summed indices");
    return Val::poisoned();
  }
  acc = tensors[0];
  for (size_t k = 0; k <= tensors.size() - 1; ++k) {
    // Labels still needed: by later factors, or by the result.
    Labels needed = kept;
    for (size_t later = k + 1; later < tensors.size(); ++later)
      for (const std::string &name : tensors[later].labels)
        if (!contains(needed, name))
          needed.push_back(name);
    Vals operands = {acc};
    std::vector<Labels> labels = {acc.labels};
    if (k > 0) {
      operands.push_back(tensors[k]);
      labels.push_back(tensors[k].labels);
    }
    Labels result;
    for (const Labels &side : labels)
      for (const std::string &name : side)
        if (contains(needed, name) && !contains(result, name))
          result.push_back(name);
    if (k == 0 && result == acc.labels)
      continue;
    acc = contract(operands, labels, result, expr.range);
    acc.labels = result;
  }
  Val val = alignTo(acc, kept, keptDims, expr.range);
  for (const Val &scalar : scalars) {
    Val plain = val;
    plain.labels.clear();
    val = elementwise(OpKind::Mul, plain, scalar, expr.range, "*");
    val.labels = kept;
  }
  if (expr.reduceOp == ast::ReduceOp::Mean) {
    Size count = Size::constant(1);
    for (const std::string &name : summed)
      count = count * *bound.at(name).size;
    Val plain = val;
    plain.labels.clear();
    std::optional<int64_t> n = count.value();
    val = elementwise(
        OpKind::Mul, plain,
        constant(n ? 1.0 / static_cast<double>(*n) : 1.0, {}, expr.range),
        expr.range, "*");
    val.labels = kept;
  }
  val.origin = expr.range;
  return val;
}

/// `y[k] = ...` or `a[i < T, j < T] = ...`: the right side in index
/// notation, with the target's indices as its free variables.
Val Elaborator::elaborateIndexEquation(const ast::Stmt &stmt) {
  const ast::Target &target = stmt.targets[0];
  if (stmt.targets.size() != 1) {
    diags.error(stmt.range, "an equation in index notation defines one "
                            "value");
    return Val::poisoned();
  }
  std::vector<const ast::Expr *> written = {target.timeIndex.get()};
  for (const ast::ExprPtr &index : target.extraIndices)
    written.push_back(index.get());
  std::map<std::string, IndexVar> scope;
  Labels order;
  for (const ast::Expr *index : written) {
    const ast::Expr *name = indexName(*index);
    if (!name || findIndexVar(name->name) || scope.count(name->name)) {
      diags.error(
          index->range,
          name ? fmt::format("the index `{}` is already in use", name->name)
               : std::string("each index on the left is a new name, "
                             "as in `y[k]`, or a name with its "
                             "size, as in `y[k < K]`"));
      return Val::poisoned();
    }
    IndexVar var;
    var.range = index->range;
    if (name != index) {
      var.size = evaluateSize(*index->operands[1]);
      if (!var.size)
        return Val::poisoned();
    }
    scope[name->name] = var;
    order.push_back(name->name);
  }
  indexScopes.push_back(scope);
  std::set<std::string> outerUnbound = std::move(unboundIndices);
  unboundIndices.clear();
  Val body = elaborateOne(*stmt.value);
  unboundIndices = std::move(outerUnbound);
  std::map<std::string, IndexVar> bound = indexScopes.back();
  indexScopes.pop_back();
  if (!body.ok)
    return body;
  Dims dims;
  for (const std::string &name : order) {
    if (!bound.at(name).size) {
      diags.error(bound.at(name).range,
                  fmt::format("the right side does not use `{}`, so its size "
                              "is not known; give it as `{} < N`",
                              name, name));
      return Val::poisoned();
    }
    dims.push_back(*bound.at(name).size);
  }
  if (body.labels.empty() && !body.dims.empty()) {
    diags.error(stmt.value->range,
                fmt::format("in index notation every axis is named, but "
                            "this value of shape {} is not indexed",
                            formatDims(body.dims)));
    return Val::poisoned();
  }
  for (const std::string &name : body.labels) {
    if (!contains(order, name)) {
      diags.error(stmt.value->range,
                  fmt::format("the index `{}` is used on the right but not "
                              "on the left; sum over it with `sum({}) ...`",
                              name, name));
      return Val::poisoned();
    }
  }
  Val val;
  if (body.labels.empty()) {
    // A scalar right side: the same number at every position.
    std::map<std::string, Size> newSizes;
    for (size_t i = 0; i < order.size(); ++i)
      newSizes.emplace(order[i], dims[i]);
    val = contract({body}, {Labels{}}, order, stmt.value->range, newSizes);
  } else {
    val = alignTo(body, order, dims, stmt.value->range);
  }
  val.labels.clear();
  val.origin = target.range;
  return val;
}

/// A stream used whole, as a tensor of its steps: `K` of `input K[t]: [D]`
/// is [T, D] per example.
Val Elaborator::wholeStream(const std::string &name, SourceRange range) {
  Val stream = sequenceSource(name, range);
  if (!stream.ok)
    return stream;
  Val val = stream;
  val.dims.insert(val.dims.begin(), sequenceSteps(name));
  val.origin = range;
  val.level = 0;
  if (!building())
    return val;
  std::string axes;
  for (size_t i = 0; i < stream.dims.size(); ++i)
    axes += einsumLetter(i + 1);
  std::string batch = stream.batched ? "B" : "";
  std::string steps(1, einsumLetter(0));
  topBuilder->range = range;
  val.ir = topBuilder->einsum({stream.ir},
                              {steps + batch + axes, batch + steps + axes},
                              concreteDims(val.dims));
  return val;
}

/// `O[t]` for a tensor `O` whose first axis has the steps of `t`: its rows
/// read step by step, like a stream.
Val Elaborator::tensorAsStream(const ast::Expr &base,
                               const ast::Expr &indexExpr, SourceRange range) {
  std::string axis = indexExpr.kind == ast::ExprKind::Name
                         ? indexExpr.name
                         : indexExpr.operands[0]->name;
  std::string key = fmt::format("{}@{}", syntax::printExpr(base), axis);
  if (!tensorStreams.count(key)) {
    // The tensor itself is computed once, outside the steps.
    ScanState *savedScan = scan;
    int savedLevel = level;
    scan = nullptr;
    level = 0;
    Val tensor = elaborateOne(base);
    scan = savedScan;
    level = savedLevel;
    if (!tensor.ok)
      return tensor;
    if (tensor.dims.empty() || !(tensor.dims[0] == axes.at(axis).steps) ||
        tensor.isToken) {
      diags.error(range,
                  fmt::format("`{}` has shape {}; read step by step with "
                              "`[{}]`, its first axis must have the {} steps "
                              "of `{}`",
                              syntax::printExpr(base), formatDims(tensor.dims),
                              axis, axes.at(axis).steps.str(), axis));
      return Val::poisoned();
    }
    Val stream = tensor;
    stream.dims.erase(stream.dims.begin());
    if (building()) {
      std::string rest;
      for (size_t i = 0; i < stream.dims.size(); ++i)
        rest += einsumLetter(i + 1);
      std::string batch = tensor.batched ? "B" : "";
      std::string steps(1, einsumLetter(0));
      topBuilder->range = range;
      stream.ir = topBuilder->einsum(
          {tensor.ir}, {batch + steps + rest, steps + batch + rest},
          concreteDims(stream.dims), axes.at(axis).steps.value().value_or(1));
    }
    tensorStreams[key] = {stream, axis};
  }
  if (!scan || scan->axis->name != axis) {
    diags.error(range, fmt::format("`{}` is used outside an equation over "
                                   "`{}`",
                                   axis, axis));
    return Val::poisoned();
  }
  return timeAccess(key, indexExpr, range);
}

} // namespace weft::sema
