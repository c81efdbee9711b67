// Expressions: shapes of arithmetic, products, slices, gathers, reductions
// and built-in functions, each checked and then emitted as IR.
#include "compiler/sema/Elaborator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace weft::sema {

using ir::OpKind;

namespace {

/// True when `expr` is built from whole numbers and the size names of
/// `sizes` with `+ - * /` only: an index that is a size, such as `x[H]`.
bool isSizeExpression(const ast::Expr &expr,
                      const std::map<std::string, Size> &sizes) {
  switch (expr.kind) {
  case ast::ExprKind::Number:
    return expr.isInteger;
  case ast::ExprKind::Name:
    return sizes.count(expr.name) != 0;
  case ast::ExprKind::Unary:
    return isSizeExpression(*expr.operands[0], sizes);
  case ast::ExprKind::Binary:
    return expr.binaryOp <= ast::BinaryOp::Div &&
           isSizeExpression(*expr.operands[0], sizes) &&
           isSizeExpression(*expr.operands[1], sizes);
  default:
    return false;
  }
}

/// Whether `name` is read anywhere in `expr`: as a value, an index or in a
/// slice's bounds.
bool mentionsName(const ast::Expr &expr, const std::string &name) {
  if (expr.kind == ast::ExprKind::Name && expr.name == name)
    return true;
  auto within = [&](const ast::ExprPtr &part) {
    return part && mentionsName(*part, name);
  };
  for (const ast::ExprPtr &operand : expr.operands)
    if (within(operand))
      return true;
  for (const ast::NamedArg &argument : expr.namedArgs)
    if (within(argument.value))
      return true;
  for (const ast::IndexArg &index : expr.indices)
    if (within(index.index) || within(index.sliceBegin) ||
        within(index.sliceEnd))
      return true;
  return false;
}

} // namespace

/// The IR value of `val` usable at the current level: a top-level value used
/// inside a scan body becomes a captured argument of the scan, once.
ir::Value *Elaborator::use(const Val &val) {
  if (!val.ir || val.level >= level || !scan)
    return val.ir;
  auto found = scan->captured.find(val.ir);
  if (found != scan->captured.end())
    return found->second;
  auto argument = std::make_unique<ir::Value>();
  argument->type = val.ir->type;
  argument->ownerBlock = scan->body.get();
  argument->id = function->nextId();
  argument->hint = val.ir->hint;
  ir::Value *raw = argument.get();
  scan->body->arguments.push_back(std::move(argument));
  scan->captureOperands.push_back(val.ir);
  scan->captureArgs.push_back(raw);
  scan->captured[val.ir] = raw;
  return raw;
}

Val Elaborator::constant(double value, Dims dims, SourceRange range) {
  Val val;
  val.dims = std::move(dims);
  val.origin = range;
  val.level = level;
  if (building())
    val.ir = builder().constant(value, concreteDims(val.dims));
  return val;
}

/// Token ids are labels, not numbers: arithmetic on them is an error.
bool Elaborator::requireNumbers(const Val &val, SourceRange range) {
  if (!val.isToken)
    return true;
  diags.error(range, "this needs numbers, but its operand is a token id; "
                     "use a token to index a table (`emb[token]`) or as a "
                     "target of `cross_entropy`");
  return false;
}

Val Elaborator::unary(OpKind kind, const Val &x, SourceRange range) {
  if (!x.ok)
    return x;
  if (!requireNumbers(x, range))
    return Val::poisoned();
  Val val = x;
  val.origin = range;
  val.level = level;
  if (building()) {
    builder().range = range;
    val.ir = builder().unary(kind, use(x));
  }
  return val;
}

Val Elaborator::elementwise(OpKind kind, const Val &lhs, const Val &rhs,
                            SourceRange range, const char *spelling) {
  if (!lhs.ok || !rhs.ok)
    return Val::poisoned();
  if (!lhs.labels.empty() || !rhs.labels.empty())
    return labeledElementwise(kind, lhs, rhs, range, spelling);
  bool comparison = ir::isComparison(kind);
  if ((lhs.isToken || rhs.isToken) && !comparison) {
    diags.error(range, fmt::format("`{}` needs numbers, but one side is a "
                                   "token id",
                                   spelling));
    return Val::poisoned();
  }
  bool broadcast = lhs.dims.empty() || rhs.dims.empty();
  const Dims &shorter = lhs.dims.size() < rhs.dims.size() ? lhs.dims : rhs.dims;
  const Dims &longer = lhs.dims.size() < rhs.dims.size() ? rhs.dims : lhs.dims;
  if (!broadcast && shorter.size() < longer.size() &&
      std::equal(shorter.begin(), shorter.end(), longer.end() - shorter.size()))
    return broadcastElementwise(kind, lhs, rhs, range, spelling);
  if (!broadcast && lhs.dims != rhs.dims) {
    diags.error(range,
                fmt::format("shape mismatch in `{}`: {} and {}", spelling,
                            formatDims(lhs.dims), formatDims(rhs.dims)));
    diags.note(lhs.origin,
               fmt::format("the left side has shape {}", formatDims(lhs.dims)));
    diags.note(rhs.origin, fmt::format("the right side has shape {}",
                                       formatDims(rhs.dims)));
    return Val::poisoned();
  }
  Val val;
  val.dims = lhs.dims.empty() ? rhs.dims : lhs.dims;
  val.batched = lhs.batched || rhs.batched;
  val.isToken = false;
  val.rowMask = lhs.rowMask ? lhs.rowMask : rhs.rowMask;
  val.origin = range;
  val.level = level;
  if (building()) {
    builder().range = range;
    val.ir = builder().binary(kind, use(lhs), use(rhs));
  }
  return val;
}

Vals Elaborator::elaborate(const ast::Expr &expr) {
  switch (expr.kind) {
  case ast::ExprKind::Tuple: {
    Vals items;
    for (const ast::ExprPtr &item : expr.operands)
      items.push_back(elaborateOne(*item));
    return items;
  }
  case ast::ExprKind::Call:
    return elaborateCall(expr);
  default:
    return {elaborateOne(expr)};
  }
}

Val Elaborator::elaborateOne(const ast::Expr &expr) {
  switch (expr.kind) {
  case ast::ExprKind::Number:
    return constant(expr.number, {}, expr.range);
  case ast::ExprKind::Name:
    return lookupName(expr.name, expr.range);
  case ast::ExprKind::Unary:
    return unary(OpKind::Neg, elaborateOne(*expr.operands[0]), expr.range);
  case ast::ExprKind::Binary:
    return elaborateBinary(expr);
  case ast::ExprKind::Index:
    return elaborateIndex(expr);
  case ast::ExprKind::Reduce:
    return elaborateReduce(expr);
  case ast::ExprKind::Call:
  case ast::ExprKind::Tuple: {
    Vals values = elaborate(expr);
    if (values.size() == 1)
      return values[0];
    diags.error(expr.range, fmt::format("expected one value here, but this "
                                        "gives {}",
                                        values.size()));
    return Val::poisoned();
  }
  }
  return Val::poisoned();
}

Val Elaborator::elaborateBinary(const ast::Expr &expr) {
  Val lhs = elaborateOne(*expr.operands[0]);
  Val rhs = elaborateOne(*expr.operands[1]);
  switch (expr.binaryOp) {
  case ast::BinaryOp::Add:
    return elementwise(OpKind::Add, lhs, rhs, expr.range, "+");
  case ast::BinaryOp::Sub:
    return elementwise(OpKind::Sub, lhs, rhs, expr.range, "-");
  case ast::BinaryOp::Mul:
    return elementwise(OpKind::Mul, lhs, rhs, expr.range, "*");
  case ast::BinaryOp::Div:
    return elementwise(OpKind::Div, lhs, rhs, expr.range, "/");
  case ast::BinaryOp::Less:
    return elementwise(OpKind::Less, lhs, rhs, expr.range, "<");
  case ast::BinaryOp::LessEqual:
    return elementwise(OpKind::LessEqual, lhs, rhs, expr.range, "<=");
  case ast::BinaryOp::Greater:
    return elementwise(OpKind::Greater, lhs, rhs, expr.range, ">");
  case ast::BinaryOp::GreaterEqual:
    return elementwise(OpKind::GreaterEqual, lhs, rhs, expr.range, ">=");
  case ast::BinaryOp::Equal:
    return elementwise(OpKind::Equal, lhs, rhs, expr.range, "==");
  case ast::BinaryOp::NotEqual:
    return elementwise(OpKind::NotEqual, lhs, rhs, expr.range, "!=");
  case ast::BinaryOp::MatMul:
    break;
  }
  if (!lhs.ok || !rhs.ok || !requireNumbers(lhs, expr.range) ||
      !requireNumbers(rhs, expr.range))
    return Val::poisoned();
  if (!lhs.labels.empty() || !rhs.labels.empty()) {
    diags.error(expr.range, "in index notation, write products with `*` "
                            "and `sum(...)` rather than `@`");
    return Val::poisoned();
  }
  return matMul(lhs, rhs, expr.range);
}

/// `x[i]`: time access of a stream, a slice, or a row gather by token id.
Val Elaborator::elaborateIndex(const ast::Expr &expr) {
  const ast::Expr &base = *expr.operands[0];
  if (expr.indices.size() != 1 &&
      std::none_of(expr.indices.begin(), expr.indices.end(),
                   [&](const ast::IndexArg &index) {
                     return !index.isSlice &&
                            index.index->kind == ast::ExprKind::Name &&
                            findIndexVar(index.index->name);
                   })) {
    diags.error(expr.range, "several indices are index notation, as in "
                            "`y[k] = sum(i) w[k, i] * x[i]`; a plain value "
                            "takes one index or slice");
    return Val::poisoned();
  }
  if (expr.indices.size() == 1 && expr.indices[0].isPrefix)
    return prefixAccess(base, *expr.indices[0].index, expr.range);
  // In index notation, a plain name that is no size is taken as an index
  // variable, so that a missing `sum(i)` gets its own message.
  for (const ast::IndexArg &index : expr.indices)
    if (!index.isSlice && !index.isPrefix &&
        index.index->kind == ast::ExprKind::Name &&
        (findIndexVar(index.index->name) ||
         (!indexScopes.empty() && !frame().sizes.count(index.index->name) &&
          !isTimeAxis(index.index->name))))
      return indexedTensor(expr);
  const ast::IndexArg &index = expr.indices[0];
  bool isStreamName =
      base.kind == ast::ExprKind::Name && &frame() == modelFrame &&
      (streams.count(base.name) ||
       (inputs.count(base.name) && !inputs.at(base.name).axis.empty()));
  if (isStreamName) {
    if (index.isSlice) {
      diags.error(index.range, "a stream is indexed by one time step, not a "
                               "slice");
      return Val::poisoned();
    }
    return timeAccess(base.name, *index.index, expr.range);
  }
  if (&frame() == modelFrame && !index.isSlice && isTimeIndexExpr(*index.index))
    return tensorAsStream(base, *index.index, expr.range);

  Val table = elaborateOne(base);
  if (!table.ok)
    return table;
  if (index.isSlice)
    return elaborateSlice(expr, table);
  if (isSizeExpression(*index.index, frame().sizes)) {
    std::optional<Size> at = evaluateSize(*index.index);
    if (!at)
      return Val::poisoned();
    return pickEntry(table, *at, expr.range);
  }
  Val ids = elaborateOne(*index.index);
  if (!ids.ok)
    return ids;
  if (!ids.isToken) {
    diags.error(index.range, "an index is a size (`x[0]`, `x[H]`), a token "
                             "id (`emb[token]`) or a slice (`x[a:b]`)");
    return Val::poisoned();
  }
  if (table.dims.size() != 2 || table.isToken) {
    diags.error(expr.range, fmt::format("a token id picks a row of a table "
                                        "[V, E], but this has shape {}",
                                        formatDims(table.dims)));
    return Val::poisoned();
  }
  // A cell checked on its own takes every argument as per example; the
  // table's sharing is known at each call.
  if (table.batched && building()) {
    diags.error(expr.range, "a token id picks a row of a table shared by "
                            "every example, but this table differs per "
                            "example; that is not supported yet");
    return Val::poisoned();
  }
  if (!(table.dims[0] == ids.vocab)) {
    diags.error(expr.range,
                fmt::format("the table has {} rows but the token ids go up "
                            "to {}",
                            table.dims[0].str(), ids.vocab.str()));
    return Val::poisoned();
  }
  // Token ids of any shape pick rows: [M, W] ids give [M, W, E].
  Val val;
  val.dims = ids.dims;
  val.dims.push_back(table.dims[1]);
  val.batched = true;
  val.origin = expr.range;
  val.level = level;
  if (building()) {
    builder().range = expr.range;
    val.ir = builder().gather(use(table), use(ids));
  }
  return val;
}

/// `x[k]` for a size k: entry k of a vector (a scalar), or row k of a
/// matrix.
Val Elaborator::pickEntry(const Val &base, const Size &at, SourceRange range) {
  if (!requireNumbers(base, range))
    return Val::poisoned();
  if (base.dims.empty()) {
    diags.error(range, "a scalar cannot be indexed");
    return Val::poisoned();
  }
  std::optional<int64_t> position = at.value();
  std::optional<int64_t> length = base.dims[0].value();
  bool outside =
      position && (*position < 0 || (length && *position >= *length));
  if (outside || (at - base.dims[0] + Size::constant(1)).isKnownPositive()) {
    diags.error(range, fmt::format("index {} is outside a dimension of size "
                                   "{}",
                                   at.str(), base.dims[0].str()));
    return Val::poisoned();
  }
  Val val = base;
  val.dims.erase(val.dims.begin());
  val.origin = range;
  val.level = level;
  if (building()) {
    builder().range = range;
    int64_t begin = position.value_or(0);
    ir::Value *row = builder().slice(use(base), begin, begin + 1);
    val.ir = val.dims.empty() ? builder().sumAll(row)
                              : builder().reshape(row, concreteDims(val.dims));
  }
  return val;
}

Val Elaborator::elaborateSlice(const ast::Expr &expr, const Val &base) {
  const ast::IndexArg &index = expr.indices[0];
  if (!requireNumbers(base, expr.range))
    return Val::poisoned();
  if (base.dims.empty()) {
    diags.error(expr.range, "a scalar cannot be sliced");
    return Val::poisoned();
  }
  std::optional<Size> begin = index.sliceBegin
                                  ? evaluateSize(*index.sliceBegin)
                                  : std::optional<Size>(Size::constant(0));
  std::optional<Size> end =
      index.sliceEnd ? evaluateSize(*index.sliceEnd) : base.dims[0];
  if (!begin || !end)
    return Val::poisoned();
  Size length = *end - *begin;
  bool empty = length.value() ? *length.value() <= 0
                              : (Size::constant(1) - length).isKnownPositive();
  bool pastEnd = (*end - base.dims[0]).isKnownPositive();
  bool beforeStart = begin->value() && *begin->value() < 0;
  if (empty || pastEnd || beforeStart) {
    diags.error(index.range,
                empty ? fmt::format("the slice {}:{} is empty: its end must "
                                    "come after its start",
                                    begin->str(), end->str())
                      : fmt::format("the slice {}:{} does not fit in a "
                                    "dimension of size {}",
                                    begin->str(), end->str(),
                                    base.dims[0].str()));
    return Val::poisoned();
  }
  Val val = base;
  val.dims[0] = length;
  val.origin = expr.range;
  val.level = level;
  if (building()) {
    builder().range = expr.range;
    val.ir = builder().slice(use(base), begin->value().value_or(0),
                             end->value().value_or(1));
  }
  return val;
}

Val Elaborator::elaborateReduce(const ast::Expr &expr) {
  const ast::Binder &binder = expr.binders[0];
  if (binder.name == "batch") {
    diags.error(binder.range, "`batch` can be reduced only at the top of "
                              "`loss`");
    return Val::poisoned();
  }
  if (undeclaredAxes.count(binder.name))
    return Val::poisoned();
  if (expr.binders.size() != 1 || !isTimeAxis(binder.name))
    return reduceIndices(expr);
  if (level > 0) {
    diags.error(expr.range, "a reduction over time inside a step is not "
                            "supported yet");
    return Val::poisoned();
  }
  const TimeAxis &axis = axes.at(binder.name);
  if (binder.bound) {
    std::optional<Size> bound = evaluateSize(*binder.bound);
    if (bound && !(*bound == axis.steps)) {
      diags.error(binder.range,
                  fmt::format("reducing over part of `{}` is not supported "
                              "yet; declare another time index with `time`",
                              binder.name));
      return Val::poisoned();
    }
  }
  if (!mentionsName(*expr.operands[0], binder.name)) {
    // `sum(t) e` would add the whole of `e` once per step.
    diags.error(expr.range,
                fmt::format("this reduction over `{0}` reads no step of "
                            "`{0}`, so every step gives the same value; to "
                            "reduce a stream's steps, index it: `{1}({0}) "
                            "e[{0}]`",
                            binder.name,
                            expr.reduceOp == ast::ReduceOp::Mean  ? "mean"
                            : expr.reduceOp == ast::ReduceOp::Max ? "max"
                                                                  : "sum"));
    return Val::poisoned();
  }
  auto reduction = reductionStreams.find(&expr);
  if (reduction == reductionStreams.end()) {
    // TODO: a reduction over time inside an initial value or a stream
    // would need its own scan before the one that uses it.
    diags.error(expr.range, "a reduction over time is supported only in "
                            "equations of the model that are not streams "
                            "or initial values");
    return Val::poisoned();
  }
  Val steps = stackedStream(reduction->second, expr.range);
  if (!steps.ok)
    return steps;
  if (expr.reduceOp == ast::ReduceOp::Max)
    return maxOverSteps(steps, axis, expr.range);
  Val val = steps;
  val.origin = expr.range;
  if (building()) {
    builder().range = expr.range;
    val.ir = builder().sumSteps(steps.ir);
  }
  if (expr.reduceOp == ast::ReduceOp::Mean && !axis.lengths.empty())
    return elementwise(OpKind::Div, val, validCount(axis, expr.range),
                       expr.range, "/");
  if (expr.reduceOp == ast::ReduceOp::Mean) {
    std::optional<int64_t> count = axis.steps.value();
    Val scale = constant(count ? 1.0 / static_cast<double>(*count) : 1.0, {},
                         expr.range);
    return elementwise(OpKind::Mul, val, scale, expr.range, "*");
  }
  return val;
}

/// `max(t) e[t]`: the largest of the stacked steps, feature by feature;
/// the steps past an example's length never win.
Val Elaborator::maxOverSteps(const Val &steps, const TimeAxis &axis,
                             SourceRange range) {
  Val val = steps;
  val.origin = range;
  if (!building())
    return val;
  topBuilder->range = range;
  ir::Value *stream = steps.ir;
  if (!axis.lengths.empty()) {
    Val valid = topLevelStream("#valid@" + axis.name, axis.name,
                               &Elaborator::validMask);
    stream = topBuilder->where(valid.ir, stream, topBuilder->constant(-1e30));
  }
  // The steps move to the last axis, where `maxLast` reduces.
  std::string features;
  for (size_t i = 0; i < steps.dims.size(); ++i)
    features += static_cast<char>('b' + i);
  std::string batch = steps.batched ? "B" : "";
  std::vector<int64_t> shape = concreteDims(steps.dims);
  shape.push_back(stream->type.steps);
  ir::Value *lastAxis = topBuilder->einsum(
      {stream}, {"a" + batch + features, batch + features + "a"}, shape);
  val.ir = topBuilder->maxLast(lastAxis);
  return val;
}

Vals Elaborator::elaborateCall(const ast::Expr &expr) {
  bool handled = false;
  Val builtin = elaborateBuiltin(expr, handled);
  if (handled)
    return {builtin};

  Frame &current = frame();
  if (auto named = current.instances.find(expr.name);
      named != current.instances.end())
    return callCell(named->second, expr);
  auto decl = program.decls.find(expr.name);
  if (decl != program.decls.end() &&
      decl->second->kind == ast::DeclKind::Cell) {
    // A call without an instance owns parameters under the caller's names.
    const ast::Decl &cell = *decl->second;
    bool ownsParams = std::any_of(cell.body.begin(), cell.body.end(),
                                  [](const ast::Stmt &stmt) {
                                    return stmt.kind == ast::StmtKind::Param;
                                  });
    // A cell without parameters may be called any number of times; each
    // call is its own.
    std::unique_ptr<Instance> &direct = ownsParams
                                            ? current.directInstances[expr.name]
                                            : current.paramlessCalls[&expr];
    if (!direct) {
      direct = std::make_unique<Instance>();
      direct->cell = decl->second;
      direct->prefix = current.prefix;
      direct->directCall = &expr;
      direct->range = expr.range;
    } else if (direct->directCall != &expr) {
      diags.error(expr.nameRange,
                  fmt::format("`{}` is called without an instance in two "
                              "places; make one instance for each, as in "
                              "`a = {}()`",
                              expr.name, expr.name));
      diags.note(direct->range, "the other call is here");
      return {Val::poisoned()};
    }
    return callCell(*direct, expr);
  }
  if (decl != program.decls.end()) {
    diags.error(
        expr.nameRange,
        fmt::format("`{}` is a model; only cells can be called", expr.name));
    return {Val::poisoned()};
  }
  std::vector<std::string> known = builtinNames();
  for (const auto &[name, declared] : program.decls)
    known.push_back(name);
  for (const auto &[name, instance] : current.instances)
    known.push_back(name);
  diags.error(expr.nameRange, fmt::format("unknown function `{}`{}", expr.name,
                                          suggestion(expr.name, known)));
  return {Val::poisoned()};
}

/// Built-in functions; sets `handled` when `expr` calls one.
Val Elaborator::elaborateBuiltin(const ast::Expr &expr, bool &handled) {
  static const std::map<std::string, OpKind> unaryOps = {
      {"sigmoid", OpKind::Sigmoid},
      {"tanh", OpKind::Tanh},
      {"exp", OpKind::Exp},
      {"log", OpKind::Log},
      {"sum", OpKind::SumAll}};
  static const std::set<std::string> others = {
      "cross_entropy", "zeros", "ones", "mean", "carry", "stack", "concat"};
  Val tensorResult = elaborateTensorBuiltin(expr, handled);
  if (handled)
    return tensorResult;
  handled = unaryOps.count(expr.name) || others.count(expr.name);
  if (!handled)
    return Val::poisoned();

  auto arity = [&](size_t count) {
    if (expr.operands.size() == count && expr.namedArgs.empty())
      return true;
    diags.error(expr.range, fmt::format("`{}` takes {} argument{}", expr.name,
                                        count, count == 1 ? "" : "s"));
    return false;
  };
  if (expr.name == "zeros" || expr.name == "ones") {
    Dims dims;
    for (const ast::ExprPtr &operand : expr.operands) {
      std::optional<Size> size = evaluateSize(*operand);
      if (!size)
        return Val::poisoned();
      dims.push_back(*size);
    }
    return constant(expr.name == "ones" ? 1.0 : 0.0, dims, expr.range);
  }
  if (expr.name == "stack")
    return elaborateStack(expr);
  if (expr.name == "concat")
    return elaborateConcat(expr);
  if (expr.name == "carry") {
    diags.error(expr.range, "`carry(...)` can only be the initial value of "
                            "a recurrence, as in `h[-1] = carry(zeros(H))`");
    return Val::poisoned();
  }
  if (expr.name == "cross_entropy") {
    if (!arity(2))
      return Val::poisoned();
    Val logits = elaborateOne(*expr.operands[0]);
    Val target = elaborateOne(*expr.operands[1]);
    if (!logits.ok || !target.ok)
      return Val::poisoned();
    if (logits.dims.size() != 1 || logits.isToken || !target.isToken ||
        !target.dims.empty()) {
      diags.error(
          expr.range,
          fmt::format("`cross_entropy` takes logits [V] "
                      "and a token id, but got {} and {}",
                      formatDims(logits.dims),
                      target.isToken ? "a token id" : formatDims(target.dims)));
      return Val::poisoned();
    }
    if (!(logits.dims[0] == target.vocab)) {
      diags.error(expr.range,
                  fmt::format("the logits have {} classes but the token ids "
                              "go up to {}",
                              logits.dims[0].str(), target.vocab.str()));
      return Val::poisoned();
    }
    Val val;
    val.batched = logits.batched || target.batched;
    val.origin = expr.range;
    val.level = level;
    if (building()) {
      builder().range = expr.range;
      val.ir = builder().crossEntropy(use(logits), use(target));
    }
    return val;
  }

  if (!arity(1))
    return Val::poisoned();
  Val x = elaborateOne(*expr.operands[0]);
  if (!x.ok)
    return x;
  if (!requireNumbers(x, expr.range))
    return Val::poisoned();
  if (expr.name == "mean" || expr.name == "sum") {
    int64_t count = 1;
    for (const Size &size : x.dims)
      count *= size.value().value_or(1);
    Val total = x;
    total.dims = {};
    total.origin = expr.range;
    total.level = level;
    if (building()) {
      builder().range = expr.range;
      total.ir = builder().sumAll(use(x));
    }
    if (expr.name == "sum")
      return total;
    return elementwise(
        OpKind::Mul, total,
        constant(1.0 / static_cast<double>(count), {}, expr.range), expr.range,
        "*");
  }
  return unary(unaryOps.at(expr.name), x, expr.range);
}

} // namespace weft::sema

namespace weft::sema {

/// `stack(a, b, ...)`: values of one shape on a new first axis, [n, ...].
/// An output written `output hT = stack(a, b)` puts that axis before the
/// batch when it is written, [n, B, ...], like a stacked input.
Val Elaborator::elaborateStack(const ast::Expr &expr) {
  if (expr.operands.empty() || !expr.namedArgs.empty()) {
    diags.error(expr.range, "`stack` takes one or more values");
    return Val::poisoned();
  }
  Vals items;
  for (const ast::ExprPtr &operand : expr.operands) {
    items.push_back(elaborateOne(*operand));
    if (!items.back().ok || !requireNumbers(items.back(), operand->range))
      return Val::poisoned();
    if (!(items.back().dims == items[0].dims)) {
      diags.error(operand->range,
                  fmt::format("`stack` needs values of one shape, but this "
                              "has shape {} and the first {}",
                              formatDims(items.back().dims),
                              formatDims(items[0].dims)));
      return Val::poisoned();
    }
  }
  int64_t count = static_cast<int64_t>(items.size());
  Val val = items[0];
  val.dims.insert(val.dims.begin(), Size::constant(count));
  val.batched = std::any_of(items.begin(), items.end(),
                            [](const Val &item) { return item.batched; });
  val.origin = expr.range;
  val.level = level;
  if (!building())
    return val;
  builder().range = expr.range;
  std::vector<int64_t> one = concreteDims(val.dims);
  one[0] = 1;
  ir::Value *sum = nullptr;
  for (int64_t i = 0; i < count; ++i) {
    ir::Value *row = builder().reshape(use(items[i]), one);
    ir::Value *placed = builder().padSlice(row, i, count);
    sum = sum ? builder().binary(OpKind::Add, sum, placed) : placed;
  }
  val.ir = sum;
  return val;
}

/// `concat(a, b, ...)`: joined along their first axis; the other axes
/// agree.
Val Elaborator::elaborateConcat(const ast::Expr &expr) {
  if (expr.operands.size() < 2 || !expr.namedArgs.empty()) {
    diags.error(expr.range, "`concat` takes two or more values");
    return Val::poisoned();
  }
  Vals items;
  Size total = Size::constant(0);
  bool batched = false;
  for (const ast::ExprPtr &operand : expr.operands) {
    Val item = elaborateOne(*operand);
    if (!item.ok || !requireNumbers(item, operand->range))
      return Val::poisoned();
    const Dims &first = items.empty() ? item.dims : items[0].dims;
    bool sameTail =
        item.dims.size() == first.size() && !item.dims.empty() &&
        std::equal(item.dims.begin() + 1, item.dims.end(), first.begin() + 1);
    if (!sameTail) {
      diags.error(operand->range,
                  fmt::format("`concat` joins values along their first axis, "
                              "so the other axes must agree, but this has "
                              "shape {} and the first {}",
                              formatDims(item.dims), formatDims(first)));
      return Val::poisoned();
    }
    total = total + item.dims[0];
    batched = batched || item.batched;
    items.push_back(item);
  }
  Val val = items[0];
  val.dims[0] = total;
  val.batched = batched;
  val.origin = expr.range;
  val.level = level;
  if (!building())
    return val;
  builder().range = expr.range;
  std::vector<ir::Value *> parts;
  for (const Val &item : items)
    parts.push_back(use(item));
  val.ir = builder().concat(std::move(parts));
  return val;
}

} // namespace weft::sema
