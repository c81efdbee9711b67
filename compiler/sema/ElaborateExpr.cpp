// Expressions: shapes of arithmetic, products, slices, gathers, reductions
// and built-in functions, each checked and then emitted as IR.
#include "compiler/sema/Elaborator.h"

#include <fmt/format.h>

#include <cmath>

namespace weft::sema {

using ir::OpKind;

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
    val.ir = kind == OpKind::Softmax ? builder().softmax(use(x))
                                     : builder().unary(kind, use(x));
  }
  return val;
}

Val Elaborator::elementwise(OpKind kind, const Val &lhs, const Val &rhs,
                            SourceRange range, const char *spelling) {
  if (!lhs.ok || !rhs.ok)
    return Val::poisoned();
  if (lhs.isToken || rhs.isToken) {
    diags.error(range, fmt::format("`{}` needs numbers, but one side is a "
                                   "token id",
                                   spelling));
    return Val::poisoned();
  }
  bool broadcast = lhs.dims.empty() || rhs.dims.empty();
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
  case ast::BinaryOp::MatMul:
    break;
  }
  if (!lhs.ok || !rhs.ok || !requireNumbers(lhs, expr.range) ||
      !requireNumbers(rhs, expr.range))
    return Val::poisoned();
  if (lhs.dims.size() != 2 || rhs.dims.size() != 1) {
    diags.error(expr.range,
                fmt::format("`@` multiplies a matrix by a vector, but this is "
                            "{} @ {}",
                            formatDims(lhs.dims), formatDims(rhs.dims)));
    return Val::poisoned();
  }
  if (!(lhs.dims[1] == rhs.dims[0])) {
    diags.error(expr.range,
                fmt::format("shape mismatch in `@`: {} @ {}: the matrix has "
                            "`{}` columns but the vector has `{}` elements",
                            formatDims(lhs.dims), formatDims(rhs.dims),
                            lhs.dims[1].str(), rhs.dims[0].str()));
    diags.note(lhs.origin,
               fmt::format("the matrix has shape {}", formatDims(lhs.dims)));
    diags.note(rhs.origin,
               fmt::format("the vector has shape {}", formatDims(rhs.dims)));
    return Val::poisoned();
  }
  if (lhs.batched) {
    // TODO: a matrix that differs per example (attention over a memory)
    // needs a batched matrix-vector op in the IR and its lowering.
    diags.error(expr.range, "`@` with a matrix that depends on the input is "
                            "not supported yet");
    return Val::poisoned();
  }
  Val val;
  val.dims = {lhs.dims[0]};
  val.batched = rhs.batched;
  val.origin = expr.range;
  val.level = level;
  if (building()) {
    builder().range = expr.range;
    val.ir = builder().matVec(use(lhs), use(rhs));
  }
  return val;
}

/// `x[i]`: time access of a stream, a slice, or a row gather by token id.
Val Elaborator::elaborateIndex(const ast::Expr &expr) {
  const ast::Expr &base = *expr.operands[0];
  if (expr.indices.size() != 1) {
    // TODO: several indices at once need index notation (`w[k, i, j]`).
    diags.error(expr.range, "indexing with more than one index is not "
                            "supported yet");
    return Val::poisoned();
  }
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

  Val table = elaborateOne(base);
  if (!table.ok)
    return table;
  if (index.isSlice)
    return elaborateSlice(expr, table);
  Val ids = elaborateOne(*index.index);
  if (!ids.ok)
    return ids;
  if (!ids.isToken || !ids.dims.empty()) {
    // TODO: indexing by a number needs an IR op that picks one row.
    diags.error(index.range, "indexing by a number is not supported yet; "
                             "index a table by a token id, or slice with "
                             "`a:b`");
    return Val::poisoned();
  }
  if (table.dims.size() != 2 || table.batched || table.isToken) {
    diags.error(expr.range, fmt::format("a token id picks a row of a table "
                                        "[V, E], but this has shape {}",
                                        formatDims(table.dims)));
    return Val::poisoned();
  }
  if (!(table.dims[0] == ids.vocab)) {
    diags.error(expr.range,
                fmt::format("the table has {} rows but the token ids go up "
                            "to {}",
                            table.dims[0].str(), ids.vocab.str()));
    return Val::poisoned();
  }
  Val val;
  val.dims = {table.dims[1]};
  val.batched = true;
  val.origin = expr.range;
  val.level = level;
  if (building()) {
    builder().range = expr.range;
    val.ir = builder().gather(use(table), use(ids));
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
  if (expr.binders.size() != 1 || !isTimeAxis(binder.name)) {
    // TODO: reductions over named indices need index notation in the IR.
    diags.error(binder.range, "a reduction over named indices is not "
                              "supported yet; reduce over a time index");
    return Val::poisoned();
  }
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
  if (expr.reduceOp == ast::ReduceOp::Max) {
    diags.error(expr.range, "`max` over time is not supported yet");
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
  Val val = steps;
  val.origin = expr.range;
  if (building()) {
    builder().range = expr.range;
    val.ir = builder().sumSteps(steps.ir);
  }
  if (expr.reduceOp == ast::ReduceOp::Mean) {
    std::optional<int64_t> count = axis.steps.value();
    Val scale = constant(count ? 1.0 / static_cast<double>(*count) : 1.0, {},
                         expr.range);
    return elementwise(OpKind::Mul, val, scale, expr.range, "*");
  }
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
    std::unique_ptr<Instance> &direct = current.directInstances[expr.name];
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
  std::vector<std::string> known = {"sigmoid", "tanh",          "exp",
                                    "log",     "softmax",       "sum",
                                    "mean",    "cross_entropy", "zeros"};
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
      {"sigmoid", OpKind::Sigmoid}, {"tanh", OpKind::Tanh},
      {"exp", OpKind::Exp},         {"log", OpKind::Log},
      {"softmax", OpKind::Softmax}, {"sum", OpKind::SumAll}};
  static const std::set<std::string> others = {"cross_entropy", "zeros", "mean",
                                               "carry"};
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
  if (expr.name == "zeros") {
    Dims dims;
    for (const ast::ExprPtr &operand : expr.operands) {
      std::optional<Size> size = evaluateSize(*operand);
      if (!size)
        return Val::poisoned();
      dims.push_back(*size);
    }
    return constant(0.0, dims, expr.range);
  }
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
  OpKind kind = unaryOps.at(expr.name);
  if (kind == OpKind::Softmax && x.dims.size() != 1) {
    diags.error(expr.range, fmt::format("`softmax` takes a vector, but this "
                                        "has shape {}",
                                        formatDims(x.dims)));
    return Val::poisoned();
  }
  return unary(kind, x, expr.range);
}

} // namespace weft::sema
