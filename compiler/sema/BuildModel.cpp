// The model as a whole: one scan per time index, the outputs and the loss,
// and the entry points of sema (check a program, bind sizes, build a model).
#include "compiler/sema/Elaborator.h"

#include <fmt/format.h>

#include <algorithm>

namespace weft::sema {

namespace {

/// Orders a scan body's arguments as the IR expects: carries, sequences,
/// captures; and numbers them.
void orderArguments(ir::Block &body, const std::vector<ir::Value *> &order) {
  std::vector<std::unique_ptr<ir::Value>> sorted;
  for (ir::Value *wanted : order) {
    for (auto &argument : body.arguments) {
      if (argument.get() == wanted) {
        sorted.push_back(std::move(argument));
        break;
      }
    }
  }
  body.arguments = std::move(sorted);
  for (unsigned i = 0; i < body.arguments.size(); ++i)
    body.arguments[i]->index = i;
}

} // namespace

/// The recurrences of one time index that run in one direction: the
/// carries of one scan.
std::vector<std::string> Elaborator::recurrences(const TimeAxis &axis,
                                                 bool reverse) const {
  std::vector<std::string> names;
  for (const std::string &name : streamOrder) {
    const Stream &stream = streams.at(name);
    if (stream.axis == axis.name && stream.initial &&
        stream.backward == reverse)
      names.push_back(name);
  }
  return names;
}

/// Builds a scan over one time index that computes `roots` at every step:
/// either every recurrence of one direction (carried from step to step,
/// forward or in reverse), or one stream that is not a recurrence. Streams
/// the roots need at the same step are computed inline and given back too;
/// recurrences of other scans are read step by step. A scan may start while
/// another is half built (a whole stream used inside a step), so the state
/// of the outer one is kept aside and restored.
void Elaborator::buildScan(TimeAxis &axis, bool reverse,
                           const std::vector<std::string> &roots,
                           SourceRange range) {
  bool isGroup = roots.empty() || streams.at(roots[0]).initial;
  if (isGroup)
    axis.building[reverse] = true;
  else
    mapsBuilding.insert(roots[0]);
  auto finish = [&]() {
    if (isGroup) {
      axis.building[reverse] = false;
      axis.built[reverse] = true;
    } else {
      mapsBuilding.erase(roots[0]);
    }
  };
  ScanState state;
  state.axis = &axis;
  state.reverse = reverse;
  state.body = std::make_unique<ir::Block>();
  const std::vector<std::string> &axisStreams = roots;
  if (axisStreams.empty()) {
    finish();
    return;
  }
  ScanState *outer = scan;
  int outerLevel = level;
  std::unique_ptr<ir::Builder> outerBuilder = std::move(bodyBuilder);
  scan = nullptr;
  level = 0;

  // Initial values are top-level values; each recurrence is a carry.
  Vals initials;
  std::vector<ir::Value *> argumentOrder;
  for (const std::string &name : axisStreams) {
    Stream &stream = streams.at(name);
    if (!stream.initial)
      continue;
    Val initial = initialValue(stream, state);
    if (initial.ok && !initial.batched && building())
      initial.ir = topBuilder->broadcastBatch(initial.ir, false);
    initial.batched = true;
    initialValues[name] = initial;
    Val carry = initial;
    carry.level = 1;
    if (building() && initial.ok) {
      auto argument = std::make_unique<ir::Value>();
      argument->type = initial.ir->type;
      argument->ownerBlock = state.body.get();
      argument->id = function->nextId();
      argument->hint = name;
      carry.ir = argument.get();
      argumentOrder.push_back(carry.ir);
      state.body->arguments.push_back(std::move(argument));
    }
    state.carries.push_back(name);
    state.carryIn[name] = carry;
    initials.push_back(initial);
  }

  // The body: every stream of this scan at step t.
  scan = &state;
  level = 1;
  if (building())
    bodyBuilder = std::make_unique<ir::Builder>(*function, *state.body);
  for (const std::string &name : axisStreams)
    stepValue(name, streams.at(name).range);

  std::vector<ir::Value *> yields;
  bool ok = std::all_of(initials.begin(), initials.end(),
                        [](const Val &v) { return v.ok; });
  for (size_t i = 0; i < state.carries.size(); ++i) {
    Val next = state.stepValues.at(state.carries[i]);
    ok = ok && next.ok;
    if (!next.ok || !initials[i].ok)
      continue;
    if (!(next.dims == initials[i].dims) ||
        next.isToken != initials[i].isToken) {
      diags.error(streams.at(state.carries[i]).range,
                  fmt::format("the recurrence `{}` starts with shape {} but "
                              "a step gives {}",
                              state.carries[i], formatDims(initials[i].dims),
                              formatDims(next.dims)));
      ok = false;
      continue;
    }
    // Past an example's length its state stays as it was.
    if (!axis.lengths.empty()) {
      Val valid = validSteps(axis, streams.at(state.carries[i]).range);
      if (building() && valid.ok) {
        Val kept = next;
        kept.ir = bodyBuilder->where(use(valid), use(next),
                                     use(state.carryIn.at(state.carries[i])));
        kept.batched = true;
        next = kept;
        // The stacked stream shows the kept state too, so `h[T - 1]` is the
        // example's last valid state, and padded inputs get no gradient.
        state.stepValues[state.carries[i]] = kept;
      }
    }
    if (building())
      yields.push_back(next.batched
                           ? use(next)
                           : bodyBuilder->broadcastBatch(use(next), false));
  }
  // Every stream computed here is given back: the roots, and the streams
  // computed on the way that no other scan has.
  std::vector<std::string> produced = axisStreams;
  for (const std::string &name : streamOrder)
    if (state.stepValues.count(name) && !stacked.count(name) &&
        !std::count(produced.begin(), produced.end(), name) &&
        state.stepValues.at(name).ok)
      produced.push_back(name);
  for (const std::string &name : produced) {
    ok = ok && state.stepValues.at(name).ok;
    if (building() && ok)
      yields.push_back(use(state.stepValues.at(name)));
  }
  level = outerLevel;
  scan = outer;
  bodyBuilder = std::move(outerBuilder);
  finish();
  if (!ok) {
    // Reported once: the streams of a failed scan are not built again.
    for (const auto &[name, value] : state.stepValues)
      failedStreams.insert(name);
    for (const std::string &name : roots)
      failedStreams.insert(name);
    return;
  }

  for (const std::string &name : produced) {
    Val whole = state.stepValues.at(name);
    whole.level = 0;
    stacked[name] = whole;
  }
  if (!building())
    return;

  auto op = std::make_unique<ir::Op>();
  op->kind = ir::OpKind::Scan;
  op->range = range;
  op->steps = axis.steps.value().value_or(1);
  op->reverse = reverse;
  op->numCarries = state.carries.size();
  op->numSequences = state.sequences.size();
  for (const Val &initial : initials)
    op->operands.push_back(initial.ir);
  for (const auto &key : state.sequences) {
    op->operands.push_back(sequenceSource(key.first, range).ir);
    op->sequenceOffsets.push_back(key.second);
    argumentOrder.push_back(state.sequenceArgs.at(key).ir);
  }
  for (size_t i = 0; i < state.captureOperands.size(); ++i) {
    op->operands.push_back(state.captureOperands[i]);
    argumentOrder.push_back(state.captureArgs[i]);
  }
  orderArguments(*state.body, argumentOrder);
  state.body->yields = yields;
  state.body->parentOp = op.get();

  // Results: the carries after the last step, then every stream stacked.
  auto addResult = [&](ir::Type type, const std::string &hint) {
    auto result = std::make_unique<ir::Value>();
    result->type = std::move(type);
    result->definingOp = op.get();
    result->index = op->results.size();
    result->id = function->nextId();
    result->hint = hint;
    op->results.push_back(std::move(result));
    return op->results.back().get();
  };
  for (size_t i = 0; i < state.carries.size(); ++i) {
    Val last = initials[i];
    last.ir = addResult(initials[i].ir->type, state.carries[i] + ".last");
    finalCarries[state.carries[i]] = last;
  }
  for (size_t i = 0; i < produced.size(); ++i) {
    ir::Type type = yields[state.carries.size() + i]->type;
    stacked[produced[i]].ir =
        addResult(type.stackedType(op->steps), produced[i]);
  }
  op->body = std::move(state.body);
  function->body.ops.push_back(std::move(op));
}

/// `loss = ...`: one number per example, reduced over the batch by its mean,
/// or by its sum when written `loss = sum(batch) ...`.
Val Elaborator::buildLoss(const ast::Stmt &stmt) {
  const ast::Expr *expr = stmt.value.get();
  bool sumOverBatch = false;
  if (expr->kind == ast::ExprKind::Reduce && expr->binders.size() == 1 &&
      expr->binders[0].name == "batch") {
    if (expr->reduceOp == ast::ReduceOp::Max) {
      diags.error(expr->range, "the loss is reduced over the batch by `sum` "
                               "or `mean`");
      return Val::poisoned();
    }
    sumOverBatch = expr->reduceOp == ast::ReduceOp::Sum;
    expr = expr->operands[0].get();
  }
  Val perExample = elaborateOne(*expr);
  if (!perExample.ok)
    return perExample;
  if (!perExample.dims.empty() || perExample.isToken) {
    diags.error(expr->range,
                fmt::format("the loss must be one number per example, but "
                            "this has shape {}; reduce it with `sum(...)`",
                            formatDims(perExample.dims)));
    return Val::poisoned();
  }
  if (!perExample.batched) {
    diags.error(expr->range, "the loss does not depend on any input");
    return Val::poisoned();
  }
  Val loss = perExample;
  loss.batched = false;
  if (building()) {
    topBuilder->range = stmt.range;
    loss.ir = topBuilder->sumBatch(perExample.ir, !sumOverBatch);
  }
  return loss;
}

bool Elaborator::elaborateModel(const ast::Decl &model,
                                const SizeBindings *sizes, ModelInfo *out) {
  unsigned errorsBefore = diags.errorCount();
  Frame top;
  top.decl = &model;
  modelFrame = &top;
  frames.push_back(&top);
  info = out;
  // Larger sizes would overflow buffer sizes long before they fit.
  auto withinLimit = [&](const ast::Parameter &parameter, int64_t value) {
    const int64_t largest = int64_t(1) << 31;
    if (value > largest)
      diags.error(parameter.range,
                  fmt::format("the size `{}` = {} is larger than {}",
                              parameter.name, value, largest));
    return value <= largest;
  };
  for (const ast::Parameter &parameter : model.parameters) {
    if (!sizes) {
      top.sizes[parameter.name] = Size::symbol(parameter.name);
    } else if (auto bound = sizes->find(parameter.name);
               bound != sizes->end()) {
      if (withinLimit(parameter, bound->second))
        top.sizes[parameter.name] = Size::constant(bound->second);
    } else if (parameter.defaultValue) {
      std::optional<Size> value = evaluateSize(*parameter.defaultValue);
      if (value && withinLimit(parameter, value->value().value_or(0)))
        top.sizes[parameter.name] = *value;
    } else {
      diags.error(parameter.range,
                  fmt::format("the size `{}` is not known: give it with "
                              "`--set {}=N`, a default `{} = N`, or an array "
                              "whose shape has it",
                              parameter.name, parameter.name, parameter.name));
    }
  }
  if (diags.errorCount() != errorsBefore)
    return false;
  if (info)
    for (const auto &[name, size] : top.sizes)
      info->sizes[name] = size.value().value_or(0);

  collectBody(top);
  collectModel(model);
  for (auto &[name, input] : inputs) {
    // A stream over an undeclared time index was reported where it was
    // declared; its uses stay quiet.
    bool undeclared = !input.axis.empty() && !axes.count(input.axis);
    input.value = undeclared ? Val::poisoned() : buildInput(*input.stmt);
  }

  const ast::Stmt *lossStmt = nullptr;
  if (auto found = top.locals.find("loss"); found != top.locals.end()) {
    lossStmt = found->second.first;
    top.locals.erase(found);
  }

  // Outputs in the order they are declared.
  for (const ast::Stmt &stmt : model.body) {
    if (stmt.kind != ast::StmtKind::Equation || !stmt.isOutput)
      continue;
    for (const ast::Target &target : stmt.targets) {
      bool isStream = target.timeIndex && !isIndexEquation(model, target);
      Val val = isStream ? stackedStream(target.name, target.range)
                         : lookupName(target.name, target.range);
      if (val.ok && val.isToken) {
        diags.error(target.range, "an output must be numbers, but this is "
                                  "a token id");
        val = Val::poisoned();
      }
      bool stacked = stmt.value->kind == ast::ExprKind::Call &&
                     stmt.value->name == "stack" && val.ok && !val.dims.empty();
      if (building() && val.ok)
        function->outputs.push_back(
            {target.name, stacked ? stackedOutput(val) : val.ir});
      if (info)
        info->outputs.push_back(target.name);
    }
  }
  // Check what no output needs, too: every local and every time index.
  for (const auto &[name, local] : top.locals)
    elaborateStmt(*local.first);
  for (auto &[name, axis] : axes)
    for (bool reverse : {false, true})
      if (!axis.built[reverse] && !axis.building[reverse])
        buildScan(axis, reverse, recurrences(axis, reverse), axis.range);
  for (const std::string &name : streamOrder)
    if (!stacked.count(name))
      stackedStream(name, streams.at(name).range);
  for (const auto &[stream, output] : carriedStates) {
    if (building() && finalCarries.count(stream))
      function->outputs.push_back({output, finalCarries.at(stream).ir});
    if (info)
      info->outputs.push_back(output);
  }

  if (!lossStmt) {
    diags.error(model.nameRange,
                fmt::format("model `{}` has no `loss` equation", model.name));
  } else {
    Val loss = buildLoss(*lossStmt);
    if (building() && loss.ok)
      function->outputs.push_back({"loss", loss.ir});
    if (info)
      info->outputs.push_back("loss");
  }
  // Checked once, with symbolic sizes, not again for each build.
  if (!sizes && diags.errorCount() == errorsBefore)
    warnUnusedParams(top, top.modelParams);
  frames.pop_back();
  return diags.errorCount() == errorsBefore;
}

/// An output written `stack(...)`: its first axis is written before the
/// batch, [n, B, ...], as a stream of n steps.
ir::Value *Elaborator::stackedOutput(const Val &val) {
  std::string rest;
  for (size_t i = 1; i < val.dims.size(); ++i)
    rest += static_cast<char>('b' + i);
  std::string batch = val.batched ? "B" : "";
  std::vector<int64_t> shape = concreteDims(val.dims);
  int64_t count = shape[0];
  shape.erase(shape.begin());
  return topBuilder->einsum({val.ir}, {batch + "a" + rest, "a" + batch + rest},
                            shape, count);
}

bool checkProgram(const Program &program, DiagnosticEngine &diags) {
  bool ok = true;
  for (const auto &module : program.modules) {
    for (const ast::Decl &decl : module->decls) {
      Elaborator elaborator(program, diags, nullptr);
      ok &= decl.kind == ast::DeclKind::Cell
                ? elaborator.checkCell(decl)
                : elaborator.elaborateModel(decl, nullptr, nullptr);
    }
  }
  return ok;
}

std::unique_ptr<ir::Function> buildModel(const Program &program,
                                         const ast::Decl &model,
                                         const SizeBindings &sizes,
                                         ModelInfo &info,
                                         DiagnosticEngine &diags) {
  auto function = std::make_unique<ir::Function>();
  function->name = model.name;
  Elaborator elaborator(program, diags, function.get());
  if (!elaborator.elaborateModel(model, &sizes, &info) ||
      !checkValueSizes(*function, diags))
    return nullptr;
  return function;
}

} // namespace weft::sema
