// Models: inputs, time indices, streams and their scans, outputs and the
// loss. Each time index gets one scan whose body computes every stream over
// it; a recurrence with an initial value `h[-1]` is a carry of that scan.
#include "compiler/sema/Elaborator.h"

#include <fmt/format.h>

#include <algorithm>

namespace weft::sema {

using ir::OpKind;

namespace {

/// A time index expression: `t + offset`, or a plain step when `axis` is
/// empty.
struct TimeIndex {
  std::string axis;
  const ast::Expr *offsetExpr = nullptr;
  bool negate = false;
};

/// Splits `t`, `t - 1`, `t + 1` into the axis and the offset expression.
TimeIndex splitTimeIndex(const ast::Expr &expr,
                         const std::map<std::string, TimeAxis> &axes) {
  if (expr.kind == ast::ExprKind::Name && axes.count(expr.name))
    return {expr.name, nullptr, false};
  if (expr.kind == ast::ExprKind::Binary &&
      (expr.binaryOp == ast::BinaryOp::Add ||
       expr.binaryOp == ast::BinaryOp::Sub)) {
    const ast::Expr &lhs = *expr.operands[0];
    if (lhs.kind == ast::ExprKind::Name && axes.count(lhs.name))
      return {lhs.name, expr.operands[1].get(),
              expr.binaryOp == ast::BinaryOp::Sub};
  }
  return {};
}

} // namespace

/// Reports an undeclared time index once; later uses of it stay quiet.
void Elaborator::reportUndeclaredAxis(const std::string &name,
                                      SourceRange range, bool onTheLeft) {
  if (!undeclaredAxes.insert(name).second)
    return;
  diags.error(range,
              fmt::format("`{0}` is not a time index; declare it with "
                          "`time {0} < N`{1}",
                          name,
                          onTheLeft ? fmt::format(", or, for an index over "
                                                  "the axis of a tensor, "
                                                  "bound it: `[{} < N]`",
                                                  name)
                                    : ""));
}

bool Elaborator::isTimeAxis(const std::string &name) const {
  return axes.count(name) != 0;
}

bool Elaborator::isTimeIndexExpr(const ast::Expr &expr) const {
  return !splitTimeIndex(expr, axes).axis.empty();
}

/// Walks a top-level expression for reductions over time; the body of each
/// becomes a stream of that axis.
void Elaborator::collectReductions(const ast::Expr &expr) {
  if (expr.kind == ast::ExprKind::Reduce && expr.binders.size() == 1 &&
      isTimeAxis(expr.binders[0].name)) {
    const char *op = expr.reduceOp == ast::ReduceOp::Mean  ? "mean"
                     : expr.reduceOp == ast::ReduceOp::Max ? "max"
                                                           : "sum";
    std::string name = fmt::format("{}@{}:{}", op, expr.range.begin.line,
                                   expr.range.begin.column);
    Stream stream;
    stream.name = name;
    stream.axis = expr.binders[0].name;
    stream.body = expr.operands[0].get();
    stream.range = expr.range;
    streams[name] = stream;
    streamOrder.push_back(name);
    reductionStreams[&expr] = name;
    return;
  }
  for (const ast::ExprPtr &operand : expr.operands)
    if (operand)
      collectReductions(*operand);
}

/// Sorts a model's statements: time indices, inputs, streams and initial
/// values, then every other kind through collectBody.
void Elaborator::collectModel(const ast::Decl &model) {
  for (const ast::Stmt &stmt : model.body) {
    if (stmt.kind == ast::StmtKind::Time) {
      std::optional<Size> steps = evaluateSize(*stmt.bound);
      if (steps && steps->value() && *steps->value() <= 0) {
        diags.error(stmt.bound->range,
                    fmt::format("`{}` has {} steps here; a time index needs "
                                "at least one",
                                stmt.timeIndex, *steps->value()));
        steps.reset();
      }
      if (axes.count(stmt.timeIndex)) {
        diags.error(stmt.range, fmt::format("the time index `{}` is declared "
                                            "twice",
                                            stmt.timeIndex));
        continue;
      }
      axes[stmt.timeIndex] = {
          stmt.timeIndex, steps.value_or(Size()), stmt.range, {}};
    }
  }
  for (const ast::Stmt &stmt : model.body) {
    if (stmt.kind == ast::StmtKind::Input) {
      InputDecl input;
      input.stmt = &stmt;
      input.axis = stmt.timeIndex;
      const std::string &lengthOf = stmt.declared[0].type.lengthOf;
      if (!lengthOf.empty()) {
        auto axis = axes.find(lengthOf);
        if (axis == axes.end()) {
          reportUndeclaredAxis(lengthOf, stmt.declared[0].type.range);
        } else if (!axis->second.lengths.empty()) {
          diags.error(stmt.range,
                      fmt::format("`{}` already has its lengths in `{}`",
                                  lengthOf, axis->second.lengths));
        } else {
          axis->second.lengths = stmt.declared[0].name;
        }
      }
      if (stmt.inputIndex && !axes.count(input.axis)) {
        // `input h0[L]: [H]` stacks L values on an axis of its own.
        bool isName = stmt.inputIndex->kind == ast::ExprKind::Name;
        if (isName && !modelFrame->sizes.count(input.axis)) {
          reportUndeclaredAxis(input.axis, stmt.range);
        } else if (std::optional<Size> count = evaluateSize(*stmt.inputIndex)) {
          input.axis = "#" + stmt.declared[0].name;
          axes[input.axis] = {input.axis, *count, stmt.inputIndex->range, {}};
        }
      }
      inputs[stmt.declared[0].name] = input;
    }
    if (stmt.kind != ast::StmtKind::Equation)
      continue;
    for (unsigned part = 0; part < stmt.targets.size(); ++part) {
      const ast::Target &target = stmt.targets[part];
      if (!target.timeIndex || isIndexEquation(model, target))
        continue;
      TimeIndex index = splitTimeIndex(*target.timeIndex, axes);
      const ast::Expr &written = *target.timeIndex;
      if (written.kind == ast::ExprKind::Name && !axes.count(written.name) &&
          !modelFrame->sizes.count(written.name)) {
        reportUndeclaredAxis(written.name, written.range, true);
        // The name is known, so its uses are not reported as unknown.
        define(*modelFrame, target.name, target.range);
        streams[target.name].name = target.name;
        failedStreams.insert(target.name);
        continue;
      }
      Stream &stream = streams[target.name];
      stream.name = target.name;
      if (!index.axis.empty() && !index.offsetExpr) {
        define(*modelFrame, target.name, target.range);
        if (stream.stmt)
          continue;
        stream.stmt = &stmt;
        stream.part = part;
        stream.axis = index.axis;
        stream.range = target.range;
        streamOrder.push_back(target.name);
        continue;
      }
      // An initial value: `h[-1]`, or `b[T]` for a backward recurrence;
      // which one fits is checked once the stream's axis is known.
      if (evaluateSize(*target.timeIndex)) {
        stream.initial = &stmt;
        stream.initialPart = part;
        continue;
      }
    }
  }
  for (auto &[name, stream] : streams) {
    if (!stream.initial || !stream.stmt || !axes.count(stream.axis))
      continue;
    const ast::Expr &written =
        *stream.initial->targets[stream.initialPart].timeIndex;
    Size at = *evaluateSize(written);
    const Size &steps = axes.at(stream.axis).steps;
    if (at == Size::constant(-1))
      continue;
    if (at == steps) {
      stream.backward = true;
      continue;
    }
    diags.error(written.range,
                fmt::format("an initial value is written `{}[-1]` (before "
                            "the first step) or `{}[{}]` (after the last, "
                            "for a recurrence that runs backwards)",
                            name, name, steps.str()));
    stream.initial = nullptr;
    failedStreams.insert(name);
  }
  for (auto &[name, stream] : streams) {
    // An undeclared time index was reported already.
    bool undeclared = !undeclaredAxes.empty();
    if (!stream.stmt && !stream.body && stream.initial && !undeclared)
      diags.error(stream.initial->range,
                  fmt::format("`{}[-1]` is given but no equation `{}[t] = "
                              "...` defines the stream",
                              name, name));
  }
  for (const ast::Stmt &stmt : model.body) {
    if (stmt.kind == ast::StmtKind::Equation && stmt.value &&
        !stmt.targets[0].timeIndex)
      collectReductions(*stmt.value);
  }
}

/// An input's value: a leaf of the IR with the declared shape.
Val Elaborator::buildInput(const ast::Stmt &stmt) {
  const ast::Declared &declared = stmt.declared[0];
  Val val;
  val.batched = true;
  val.origin = declared.type.range;
  val.isToken = declared.type.isToken;
  if (!declared.type.lengthOf.empty()) {
    // Lengths are whole numbers from 0 to the number of steps.
    auto axis = axes.find(declared.type.lengthOf);
    if (axis == axes.end())
      return Val::poisoned();
    val.isToken = true;
    val.vocab = axis->second.steps + Size::constant(1);
  } else if (val.isToken) {
    std::optional<Size> vocab = evaluateSize(*declared.type.vocab);
    if (!vocab)
      return Val::poisoned();
    val.vocab = *vocab;
  }
  std::optional<Dims> dims = evaluateDims(declared.type);
  if (!dims)
    return Val::poisoned();
  val.dims = *dims;
  if (!building())
    return val;

  InputInfo input;
  input.name = declared.name;
  input.shape = concreteDims(val.dims);
  input.isToken = val.isToken;
  input.vocab = val.vocab.value().value_or(0);
  ir::Type type;
  type.shape = input.shape;
  type.element = val.isToken ? ir::ElementType::Int : ir::ElementType::Float;
  const std::string &axis = inputs.at(declared.name).axis;
  if (axes.count(axis))
    type.steps = input.steps = axes.at(axis).steps.value().value_or(1);
  val.ir = topBuilder->input(declared.name, type);
  if (info)
    info->inputs.push_back(input);
  return val;
}

/// `name[index]` for a stream or a stream input.
Val Elaborator::timeAccess(const std::string &name, const ast::Expr &indexExpr,
                           SourceRange range) {
  // Uses of an undeclared time index were reported with its declaration.
  if (failedStreams.count(name))
    return Val::poisoned();
  bool isTensor = tensorStreams.count(name) != 0;
  const std::string &streamAxis = isTensor ? tensorStreams.at(name).second
                                  : inputs.count(name) ? inputs.at(name).axis
                                                       : streams.at(name).axis;
  if (!axes.count(streamAxis) || (indexExpr.kind == ast::ExprKind::Name &&
                                  undeclaredAxes.count(indexExpr.name)))
    return Val::poisoned();
  TimeIndex index = splitTimeIndex(indexExpr, axes);
  if (index.axis.empty()) {
    // A fixed step, such as `h[T - 1]`, read from the whole stream.
    std::optional<Size> step = evaluateSize(indexExpr);
    if (!step)
      return Val::poisoned();
    bool isInput = inputs.count(name) != 0;
    const std::string &axisName =
        isInput ? inputs.at(name).axis : streams.at(name).axis;
    Val whole = isInput ? inputs.at(name).value : stackedStream(name, range);
    if (!whole.ok)
      return whole;
    std::optional<int64_t> value = step->value();
    std::optional<int64_t> steps = axes.at(axisName).steps.value();
    if (value && steps && (*value < 0 || *value >= *steps)) {
      diags.error(indexExpr.range,
                  fmt::format("step {} is outside `{}`, which has {} steps",
                              *value, name, *steps));
      return Val::poisoned();
    }
    // The step is read at the top level, also when a step of another
    // stream needs it: it is then captured by that scan.
    Val val = whole;
    val.origin = range;
    val.level = 0;
    if (building()) {
      topBuilder->range = range;
      val.ir = topBuilder->streamAt(whole.ir, value.value_or(0));
    }
    return val;
  }

  std::optional<Size> offset = Size::constant(0);
  if (index.offsetExpr)
    offset = evaluateSize(*index.offsetExpr);
  if (!offset)
    return Val::poisoned();
  std::optional<int64_t> shift = offset->value();
  if (!shift) {
    diags.error(indexExpr.range, "a time shift must be a whole number");
    return Val::poisoned();
  }
  int64_t delta = index.negate ? -*shift : *shift;
  if (!scan || scan->axis->name != index.axis) {
    diags.error(range, fmt::format("`{}` is used outside an equation over "
                                   "`{}`; reduce over it, as in `sum({}) "
                                   "...`",
                                   index.axis, index.axis, index.axis));
    return Val::poisoned();
  }
  if (isTensor)
    return sequenceArg(name, delta, range);
  if (inputs.count(name)) {
    if (inputs.at(name).axis.empty()) {
      diags.error(range, fmt::format("`{}` is not a stream", name));
      return Val::poisoned();
    }
    return sequenceArg(name, delta, range);
  }
  const Stream &stream = streams.at(name);
  if (stream.axis != index.axis) {
    diags.error(range,
                fmt::format("`{}` is a stream over `{}`, not `{}`; using a "
                            "stream of another time index is not supported "
                            "yet",
                            name, stream.axis, index.axis));
    return Val::poisoned();
  }
  // A recurrence of the other direction is computed by its own scan; this
  // one reads its steps.
  // A stream another scan has computed already is read from it.
  if (delta == 0 && stacked.count(name) && !scan->stepValues.count(name))
    return sequenceArg(name, 0, range);
  if (stream.initial && !scan->carryIn.count(name)) {
    // The step before, in the recurrence's own direction: its stream
    // shifted by one, starting from its initial value.
    if (delta == (stream.backward ? 1 : -1))
      return previousSteps(name, range);
    if (delta != 0) {
      diags.error(
          range,
          stream.backward != scan->reverse
              ? fmt::format("`{}` runs in the other direction; reading it "
                            "at a shifted step is not supported yet",
                            name)
              : fmt::format("`{}` is computed by its own loop over `{}`; "
                            "outside its recurrence it can be read at `{}` "
                            "or one step back, `{}[{} {} 1]`, and other "
                            "shifts are not supported yet",
                            name, index.axis, index.axis, name, index.axis,
                            stream.backward ? "+" : "-"));
      return Val::poisoned();
    }
    return sequenceArg(name, 0, range);
  }
  if (delta == 0)
    return stepValue(name, range);
  // The step computed just before this one: t - 1, or t + 1 backwards.
  int64_t previous = scan->reverse ? 1 : -1;
  std::string previousText =
      fmt::format("{} {} 1", index.axis, scan->reverse ? "+" : "-");
  if (delta == -previous || (delta > 0) == (previous < 0)) {
    diags.error(range,
                fmt::format("`{}` at step `{} {} {}` is not computed yet "
                            "when step `{}` runs: a {} recurrence can "
                            "only look {}",
                            name, index.axis, delta > 0 ? "+" : "-",
                            delta > 0 ? delta : -delta, index.axis,
                            scan->reverse ? "backward" : "forward",
                            scan->reverse ? "ahead" : "back"));
    return Val::poisoned();
  }
  if (delta != previous) {
    diags.error(range, fmt::format("looking {} more than one step is not "
                                   "supported yet",
                                   scan->reverse ? "ahead" : "back"));
    return Val::poisoned();
  }
  auto carry = scan->carryIn.find(name);
  if (carry == scan->carryIn.end()) {
    std::string start =
        scan->reverse ? scan->axis->steps.str() : std::string("-1");
    diags.error(range, fmt::format("`{}[{}]` needs an initial value: "
                                   "add `{}[{}] = ...`",
                                   name, previousText, name, start));
    return Val::poisoned();
  }
  return carry->second;
}

/// The whole stacked value a scan reads step by step: an input stream, or a
/// stream computed by another scan.
Val Elaborator::sequenceSource(const std::string &name, SourceRange range) {
  if (auto input = inputs.find(name); input != inputs.end())
    return input->second.value;
  if (auto tensor = tensorStreams.find(name); tensor != tensorStreams.end())
    return tensor->second.first;
  return stackedStream(name, range);
}

/// The number of steps of a sequence source.
Size Elaborator::sequenceSteps(const std::string &name) {
  if (auto input = inputs.find(name); input != inputs.end())
    return axes.at(input->second.axis).steps;
  if (auto tensor = tensorStreams.find(name); tensor != tensorStreams.end())
    return axes.at(tensor->second.second).steps;
  return axes.at(streams.at(name).axis).steps;
}

/// The body argument for an input stream read at step t + offset.
Val Elaborator::sequenceArg(const std::string &name, int64_t offset,
                            SourceRange range) {
  auto key = std::make_pair(name, offset);
  if (auto found = scan->sequenceArgs.find(key);
      found != scan->sequenceArgs.end())
    return found->second;
  Val source = sequenceSource(name, range);
  if (!source.ok)
    return source;
  Size inputSteps = sequenceSteps(name);
  Size last = scan->axis->steps + Size::constant(offset);
  std::optional<int64_t> overrun = (last - inputSteps).value();
  if (offset < 0 || (overrun && *overrun > 0)) {
    diags.error(range,
                fmt::format("`{}` has {} steps, so it cannot be read "
                            "at every step of `{}` with a shift of {}",
                            name, inputSteps.str(), scan->axis->name, offset));
    return Val::poisoned();
  }
  Val val = source;
  val.level = 1;
  val.origin = range;
  if (building()) {
    auto argument = std::make_unique<ir::Value>();
    argument->type = source.ir->type.stepType();
    argument->ownerBlock = scan->body.get();
    argument->id = function->nextId();
    argument->hint = name;
    val.ir = argument.get();
    scan->body->arguments.push_back(std::move(argument));
  }
  scan->sequences.push_back(key);
  return scan->sequenceArgs[key] = val;
}

/// A stream's value at the current step, computed once per scan.
Val Elaborator::stepValue(const std::string &name, SourceRange range) {
  if (auto found = scan->stepValues.find(name); found != scan->stepValues.end())
    return found->second;
  Stream &stream = streams.at(name);
  auto &active = scan->activeStreams;
  if (std::find(active.begin(), active.end(), name) != active.end()) {
    std::string chain;
    for (auto it = std::find(active.begin(), active.end(), name);
         it != active.end(); ++it)
      chain += fmt::format("`{}[t]` -> ", *it);
    diags.error(stream.range,
                fmt::format("these equations form a cycle with no time "
                            "shift: {}`{}[t]`",
                            chain, name));
    return scan->stepValues[name] = Val::poisoned();
  }
  active.push_back(name);
  Vals values = stream.stmt ? elaborate(*stream.stmt->value)
                            : Vals{elaborateOne(*stream.body)};
  // A reduction over time adds nothing from the steps past an example's
  // length.
  if (!stream.stmt && !scan->axis->lengths.empty() && values[0].ok)
    values[0] =
        elementwise(OpKind::Mul, values[0],
                    validSteps(*scan->axis, stream.range), stream.range, "*");
  active.pop_back();
  if (stream.stmt && values.size() != stream.stmt->targets.size()) {
    diags.error(stream.stmt->value->range,
                fmt::format("this gives {} values but the equation defines {}",
                            values.size(), stream.stmt->targets.size()));
    values.assign(stream.stmt->targets.size(), Val::poisoned());
  }
  if (stream.stmt) {
    for (unsigned part = 0; part < values.size(); ++part)
      scan->stepValues[stream.stmt->targets[part].name] = values[part];
    return scan->stepValues[name];
  }
  return scan->stepValues[name] = values[0];
}

/// The whole stacked stream, building its axis's scan on first use.
Val Elaborator::stackedStream(const std::string &name, SourceRange range) {
  if (auto found = stacked.find(name); found != stacked.end())
    return found->second;
  // A stream without an equation over a declared index was reported, as
  // was a stream whose scan failed.
  auto stream = streams.find(name);
  if (stream == streams.end() || failedStreams.count(name))
    return Val::poisoned();
  auto axisFound = axes.find(stream->second.axis);
  if (axisFound == axes.end())
    return Val::poisoned();
  TimeAxis &axis = axisFound->second;
  bool reverse = stream->second.backward;
  auto usedWhileBuilt = [&]() {
    if (scan && scan->reverse != reverse)
      diags.error(range,
                  fmt::format("`{}` and the recurrence computed here run in "
                              "opposite directions and read each other's "
                              "steps, so neither can be computed first",
                              name));
    else
      diags.error(range, fmt::format("the whole stream `{}` is used while "
                                     "its own steps are computed",
                                     name));
    return Val::poisoned();
  };
  // The recurrences of its direction come first: they may compute it.
  bool recurrent = stream->second.initial != nullptr;
  if (axis.building[reverse] && recurrent)
    return usedWhileBuilt();
  if (!axis.built[reverse] && !axis.building[reverse])
    buildScan(axis, reverse, recurrences(axis, reverse), range);
  if (!stacked.count(name) && !recurrent) {
    if (mapsBuilding.count(name))
      return usedWhileBuilt();
    buildScan(axis, false, {name}, range);
  }
  auto found = stacked.find(name);
  return found == stacked.end() ? Val::poisoned() : found->second;
}

/// A recurrence read one step back in its own direction by another scan
/// (`h[t - 1]`, or `b[t + 1]` for a backward one): its stacked steps
/// shifted by one, with its initial value in the step that has none.
Val Elaborator::previousSteps(const std::string &name, SourceRange range) {
  std::string key = "#previous@" + name;
  const std::string &axisName = streams.at(name).axis;
  if (!tensorStreams.count(key)) {
    Val steps = stackedStream(name, range);
    if (!steps.ok)
      return steps;
    Val shifted = steps;
    shifted.origin = range;
    auto initial = initialValues.find(name);
    if (building() && initial != initialValues.end() && initial->second.ok) {
      topBuilder->range = range;
      int64_t count = steps.ir->type.steps;
      bool backward = streams.at(name).backward;
      ir::Value *start = topBuilder->streamPlace(
          initial->second.ir, backward ? count - 1 : 0, count);
      shifted.ir = start;
      if (count > 1) {
        ir::Value *rest = topBuilder->streamSlice(steps.ir, backward ? 1 : 0,
                                                  backward ? count : count - 1);
        shifted.ir = topBuilder->binary(
            OpKind::Add, start,
            topBuilder->streamPad(rest, backward ? 0 : 1, count));
      }
    }
    tensorStreams[key] = {shifted, axisName};
  }
  return sequenceArg(key, 0, range);
}

/// The value before the first step of a recurrence, at the top level.
Val Elaborator::initialValue(Stream &stream, ScanState &state) {
  const ast::Expr &expr = *stream.initial->value;
  bool carried = expr.kind == ast::ExprKind::Call && expr.name == "carry";
  if (!carried)
    return elaborate(expr)[stream.initialPart];
  if (expr.operands.size() != 1 ||
      expr.operands[0]->kind != ast::ExprKind::Call ||
      expr.operands[0]->name != "zeros") {
    diags.error(expr.range, "`carry` takes the starting state `zeros(...)`");
    return Val::poisoned();
  }
  Val start = elaborateOne(*expr.operands[0]);
  if (!start.ok)
    return start;
  Val val = start;
  val.batched = true;
  if (building()) {
    std::string inputName = stream.name + ".init";
    ir::Type type;
    type.shape = concreteDims(start.dims);
    val.ir = topBuilder->input(inputName, type);
    if (info) {
      InputInfo input;
      input.name = inputName;
      input.shape = type.shape;
      input.carriedFrom = stream.name + ".last";
      info->inputs.push_back(input);
    }
    carriedStates.push_back({stream.name, stream.name + ".last"});
  }
  return val;
}

} // namespace weft::sema
