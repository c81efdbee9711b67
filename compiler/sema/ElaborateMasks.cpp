// Values that come from positions rather than data: the step number `t`
// inside an equation over `t`, the values of index variables (`b <= a` in
// index notation), the valid steps of sequences of different lengths in one
// batch (`input len: length(t)`), and the causal prefix `h[..t]`.
#include "compiler/sema/Elaborator.h"

#include <fmt/format.h>

namespace weft::sema {

using ir::OpKind;

/// The stream 0, 1, ..., T - 1 of an axis's step numbers.
ir::Value *Elaborator::stepIota(const TimeAxis &axis) {
  return topBuilder->iota({}, 0, axis.steps.value().value_or(1));
}

/// The stream of each example's valid steps: 1 where t < its length.
ir::Value *Elaborator::validMask(const TimeAxis &axis) {
  ir::Value *lengths = inputs.at(axis.lengths).value.ir;
  return topBuilder->binary(OpKind::Less, stepIota(axis), lengths);
}

/// A stream computed once at the top level by `make` and read step by step
/// like an input, under `key`.
Val Elaborator::topLevelStream(
    const std::string &key, const std::string &axis,
    ir::Value *(Elaborator::*make)(const TimeAxis &)) {
  if (auto found = tensorStreams.find(key); found != tensorStreams.end())
    return found->second.first;
  Val val;
  val.level = 0;
  val.batched = make == &Elaborator::validMask;
  if (building())
    val.ir = (this->*make)(axes.at(axis));
  tensorStreams[key] = {val, axis};
  return val;
}

/// `t` used as a number in an equation over `t`: the current step.
Val Elaborator::stepNumber(SourceRange range) {
  const std::string &axis = scan->axis->name;
  topLevelStream("#step@" + axis, axis, &Elaborator::stepIota);
  return sequenceArg("#step@" + axis, 0, range);
}

/// 1 at the steps of the current scan that are within the example's length.
Val Elaborator::validSteps(const TimeAxis &axis, SourceRange range) {
  topLevelStream("#valid@" + axis.name, axis.name, &Elaborator::validMask);
  return sequenceArg("#valid@" + axis.name, 0, range);
}

/// The number of valid steps of each example, as a number.
Val Elaborator::validCount(const TimeAxis &axis, SourceRange range) {
  Val mask =
      topLevelStream("#valid@" + axis.name, axis.name, &Elaborator::validMask);
  Val count = mask;
  count.origin = range;
  if (building()) {
    topBuilder->range = range;
    count.ir = topBuilder->sumSteps(mask.ir);
  }
  return count;
}

/// An index variable used as a number: 0, 1, ... along its axis.
Val Elaborator::indexValues(const std::string &name, SourceRange range) {
  IndexVar *var = findIndexVar(name);
  if (!var->size) {
    diags.error(range, fmt::format("the size of `{}` is not known where its "
                                   "value is used; give it as `{} < N`",
                                   name, name));
    return Val::poisoned();
  }
  Val val;
  val.dims = {*var->size};
  val.labels = {name};
  val.origin = range;
  val.level = level;
  if (building()) {
    builder().range = range;
    val.ir = builder().iota(concreteDims(val.dims), 0);
  }
  return val;
}

/// `h[..t]`: the whole stream h as a tensor [S, ...] whose rows after step
/// t are zero; a softmax along those rows ignores them.
Val Elaborator::prefixAccess(const ast::Expr &base, const ast::Expr &indexExpr,
                             SourceRange range) {
  bool isStream =
      base.kind == ast::ExprKind::Name && &frame() == modelFrame &&
      (streams.count(base.name) ||
       (inputs.count(base.name) && !inputs.at(base.name).axis.empty()));
  if (!isStream) {
    bool named = base.kind == ast::ExprKind::Name;
    diags.error(range,
                fmt::format("`..t` takes the steps of a stream up to `t`, as "
                            "in `h[..t]`{}",
                            named ? fmt::format(", but `{}` is not a stream "
                                                "of the model: write the "
                                                "stream itself",
                                                base.name)
                                  : std::string()));
    return Val::poisoned();
  }
  if (indexExpr.kind != ast::ExprKind::Name || !scan ||
      scan->axis->name != indexExpr.name) {
    diags.error(indexExpr.range, "the prefix `h[..t]` is read in an "
                                 "equation over `t`, up to `t` itself");
    return Val::poisoned();
  }
  Val whole = wholeStream(base.name, base.range);
  if (!whole.ok)
    return whole;
  if (!(whole.dims[0] == scan->axis->steps)) {
    diags.error(range, fmt::format("`{}` has {} steps but `{}` has {}; a "
                                   "prefix is taken over the same number of "
                                   "steps",
                                   base.name, whole.dims[0].str(),
                                   indexExpr.name, scan->axis->steps.str()));
    return Val::poisoned();
  }
  // rows[s] = s, captured from the top level; valid where s <= t.
  Val rows;
  rows.dims = {whole.dims[0]};
  rows.origin = range;
  if (building()) {
    topBuilder->range = range;
    rows.ir = topBuilder->iota(concreteDims(rows.dims), 0);
  }
  Val mask =
      elementwise(OpKind::LessEqual, rows, stepNumber(range), range, "<=");
  Labels labels;
  for (size_t i = 0; i < whole.dims.size(); ++i)
    labels.push_back(fmt::format("{}", i));
  std::map<std::string, Size> newSizes;
  for (size_t i = 1; i < whole.dims.size(); ++i)
    newSizes.emplace(labels[i], whole.dims[i]);
  Val spread = contract({mask}, {{labels[0]}}, labels, range, newSizes);
  Val val = elementwise(OpKind::Mul, whole, spread, range, "*");
  val.rowMask = mask.ir;
  return val;
}

} // namespace weft::sema
