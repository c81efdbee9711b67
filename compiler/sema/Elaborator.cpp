// Frames, equations and cells: name lookup, demand-driven evaluation of
// equations with cycle detection, size evaluation, and cell instantiation.
#include "compiler/sema/Elaborator.h"
#include "compiler/sema/SizeExpr.h"
#include "compiler/syntax/AstPrinter.h"

#include <fmt/format.h>

#include <algorithm>

namespace weft::sema {

size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggestion(const std::string &name,
                       const std::vector<std::string> &known) {
  std::string best;
  size_t bestDistance = std::max<size_t>(2, name.size() / 3) + 1;
  for (const std::string &candidate : known) {
    size_t distance = editDistance(name, candidate);
    if (distance < bestDistance && candidate.size() > 1) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best.empty() ? "" : fmt::format("; did you mean `{}`?", best);
}

Elaborator::Elaborator(const Program &program, DiagnosticEngine &diags,
                       ir::Function *function)
    : program(program), diags(diags), function(function),
      errorsAtStart(diags.errorCount()) {
  if (function)
    topBuilder = std::make_unique<ir::Builder>(*function, function->body);
}

ir::Builder &Elaborator::builder() {
  return level > 0 ? *bodyBuilder : *topBuilder;
}

/// Records a name defined in a scope; a second definition is an error.
void Elaborator::define(Frame &target, const std::string &name,
                        SourceRange range) {
  auto [first, inserted] = target.definitions.emplace(name, range);
  if (inserted)
    return;
  diags.error(range, fmt::format("`{}` is defined twice", name));
  diags.note(first->second, "the first definition is here");
}

/// Checks a parameter's initialiser: a known name with sensible arguments.
void Elaborator::checkInitializer(const ast::Stmt &stmt) {
  if (!stmt.init)
    return;
  const ast::Initializer &init = *stmt.init;
  const std::vector<double> &args = init.args;
  static const std::map<std::string, std::string> forms = {
      {"zeros", "`zeros`"},
      {"ones", "`ones`"},
      {"normal", "`normal(mean, deviation)`"},
      {"uniform", "`uniform(low, high)`"},
      {"glorot", "`glorot` or `glorot(gain)`"},
      {"orthogonal", "`orthogonal` or `orthogonal(gain)`"}};
  auto form = forms.find(init.name);
  if (form == forms.end()) {
    diags.error(init.range,
                fmt::format("unknown initialiser `{}`; use zeros, ones, "
                            "normal(m, s), uniform(a, b), glorot or "
                            "orthogonal",
                            init.name));
    return;
  }
  bool ok = true;
  if (init.name == "zeros" || init.name == "ones")
    ok = args.empty();
  else if (init.name == "normal")
    ok = args.size() == 2 && args[1] >= 0;
  else if (init.name == "uniform")
    ok = args.size() == 2 && args[0] <= args[1];
  else
    ok = args.size() <= 1;
  if (!ok) {
    diags.error(init.range,
                fmt::format("this initialiser is written {}{}", form->second,
                            init.name == "normal" ? ", with a deviation of at "
                                                    "least 0"
                            : init.name == "uniform" ? ", with low <= high"
                                                     : ""));
    return;
  }
  // An orthogonal matrix needs rows and columns.
  for (const ast::Declared &declared : stmt.declared)
    if (init.name == "orthogonal" && declared.type.dims.size() < 2)
      diags.error(init.range,
                  fmt::format("`orthogonal` makes a matrix, but `{}` has {} "
                              "dimension{}: give it two or more",
                              declared.name, declared.type.dims.size(),
                              declared.type.dims.size() == 1 ? "" : "s"));
}

/// Sorts a body's statements into parameters, instances and equations.
void Elaborator::collectBody(Frame &target) {
  for (const ast::Parameter &parameter : target.decl->parameters)
    define(target, parameter.name, parameter.range);
  for (const ast::Stmt &stmt : target.decl->body) {
    switch (stmt.kind) {
    case ast::StmtKind::Param:
      for (const ast::Declared &declared : stmt.declared) {
        define(target, declared.name, declared.nameRange);
        target.paramDecls[declared.name] = {&declared, &stmt};
      }
      checkInitializer(stmt);
      break;
    case ast::StmtKind::Input:
      define(target, stmt.declared[0].name, stmt.declared[0].nameRange);
      break;
    case ast::StmtKind::Return:
      target.returnStmt = &stmt;
      break;
    case ast::StmtKind::Equation: {
      const ast::Expr *value = stmt.value.get();
      bool makesInstance =
          stmt.targets.size() == 1 && !stmt.targets[0].timeIndex && value &&
          value->kind == ast::ExprKind::Call && value->operands.empty() &&
          program.decls.count(value->name) &&
          program.decls.at(value->name)->kind == ast::DeclKind::Cell;
      if (makesInstance) {
        define(target, stmt.targets[0].name, stmt.targets[0].range);
        Instance &instance = target.instances[stmt.targets[0].name];
        instance.cell = program.decls.at(value->name);
        instance.prefix = target.prefix + stmt.targets[0].name + ".";
        instance.creation = value;
        instance.range = stmt.range;
        continue;
      }
      for (unsigned part = 0; part < stmt.targets.size(); ++part) {
        const ast::Target &item = stmt.targets[part];
        if (item.timeIndex && !isIndexEquation(*target.decl, item))
          continue;
        define(target, item.name, item.range);
        target.locals[item.name] = {&stmt, part};
      }
      break;
    }
    default:
      break;
    }
  }
}

void Elaborator::reportCycle(const std::vector<const ast::Stmt *> &active,
                             const ast::Stmt *again) {
  auto first = std::find(active.begin(), active.end(), again);
  std::string names;
  for (auto it = first; it != active.end(); ++it)
    names += fmt::format("`{}` -> ", (*it)->targets[0].name);
  names += fmt::format("`{}`", again->targets[0].name);
  diags.error(again->range,
              fmt::format("these equations form a cycle with no time shift: "
                          "{}",
                          names));
  for (auto it = first + 1; it != active.end(); ++it)
    diags.note((*it)->range,
               fmt::format("`{}` is defined here", (*it)->targets[0].name));
}

/// Evaluates an equation of the current frame once, on first demand.
Vals Elaborator::elaborateStmt(const ast::Stmt &stmt) {
  Frame &current = frame();
  auto done = current.finished.find(&stmt);
  if (done != current.finished.end())
    return done->second;
  if (std::count(current.active.begin(), current.active.end(), &stmt)) {
    reportCycle(current.active, &stmt);
    Vals poisoned(stmt.targets.size(), Val::poisoned());
    current.finished[&stmt] = poisoned;
    return poisoned;
  }
  // Deep chains of equations would overflow the stack of this recursion.
  if (++depth > maxDepth) {
    --depth;
    diags.error(stmt.range, fmt::format("equations depend on each other "
                                        "more than {} levels deep",
                                        maxDepth));
    return Vals(stmt.targets.size(), Val::poisoned());
  }
  current.active.push_back(&stmt);
  // An equation of the model that is not a stream is computed once, outside
  // any step, even when a step asks for it first.
  bool outsideSteps = &current == modelFrame && level > 0;
  ScanState *savedScan = scan;
  int savedLevel = level;
  if (outsideSteps) {
    scan = nullptr;
    level = 0;
  }
  // Index variables belong to the equation that names them.
  std::vector<std::map<std::string, IndexVar>> outerIndices =
      std::move(indexScopes);
  indexScopes.clear();
  bool indexed = isIndexEquation(*current.decl, stmt.targets[0]);
  Vals values =
      indexed ? Vals{elaborateIndexEquation(stmt)} : elaborate(*stmt.value);
  indexScopes = std::move(outerIndices);
  if (outsideSteps) {
    scan = savedScan;
    level = savedLevel;
  }
  --depth;
  current.active.pop_back();
  if (values.size() != stmt.targets.size() &&
      std::all_of(values.begin(), values.end(),
                  [](const Val &v) { return v.ok; })) {
    diags.error(stmt.value->range,
                fmt::format("this gives {} value{} but the equation defines {}",
                            values.size(), values.size() == 1 ? "" : "s",
                            stmt.targets.size()));
    values.assign(stmt.targets.size(), Val::poisoned());
  }
  values.resize(stmt.targets.size(), Val::poisoned());
  current.finished[&stmt] = values;
  return values;
}

void Elaborator::reportUnknown(const std::string &name, SourceRange range) {
  std::vector<std::string> known;
  const Frame &current = frame();
  for (const auto &[known_name, val] : current.arguments)
    known.push_back(known_name);
  for (const auto &[known_name, local] : current.locals)
    known.push_back(known_name);
  for (const auto &[known_name, param] : current.paramDecls)
    known.push_back(known_name);
  for (const auto &[known_name, size] : current.sizes)
    known.push_back(known_name);
  if (&current == modelFrame) {
    for (const auto &[known_name, input] : inputs)
      known.push_back(known_name);
    for (const auto &[known_name, stream] : streams)
      known.push_back(known_name);
  }
  std::string message =
      fmt::format("unknown name `{}`{}", name, suggestion(name, known));
  diags.error(range, message);
}

/// Resolves a name used as a value in the current frame.
Val Elaborator::lookupName(const std::string &name, SourceRange range) {
  Frame &current = frame();
  // Positions used as numbers: an index variable, or the current step.
  if (findIndexVar(name))
    return indexValues(name, range);
  if (&current == modelFrame && scan && scan->axis->name == name)
    return stepNumber(range);
  if (auto arg = current.arguments.find(name); arg != current.arguments.end())
    return arg->second;
  if (auto local = current.locals.find(name); local != current.locals.end())
    return elaborateStmt(*local->second.first)[local->second.second];
  if (current.paramDecls.count(name))
    return paramValue(name, range);
  if (&current == modelFrame) {
    // A stream used whole is a tensor of its steps.
    if (auto input = inputs.find(name); input != inputs.end())
      return input->second.axis.empty() ? input->second.value
                                        : wholeStream(name, range);
    if (streams.count(name))
      return wholeStream(name, range);
  }
  if (auto size = current.sizes.find(name); size != current.sizes.end()) {
    std::optional<int64_t> value = size->second.value();
    return constant(value ? static_cast<double>(*value) : 0.0, {}, range);
  }
  if (auto decl = program.decls.find(name); decl != program.decls.end()) {
    diags.error(range,
                fmt::format("`{}` is a {}; {}", name,
                            decl->second->kind == ast::DeclKind::Cell ? "cell"
                                                                      : "model",
                            decl->second->kind == ast::DeclKind::Cell
                                ? fmt::format("call it, or make an instance "
                                              "with `a = {}()`",
                                              name)
                                : "a model cannot be used in an expression"));
    return Val::poisoned();
  }
  if (current.instances.count(name)) {
    diags.error(range, fmt::format("`{}` is a cell instance; call it with "
                                   "arguments",
                                   name));
    return Val::poisoned();
  }
  reportUnknown(name, range);
  return Val::poisoned();
}

/// The value of a parameter of the current frame, created on first use.
Val Elaborator::paramValue(const std::string &name, SourceRange range) {
  Frame &current = frame();
  std::map<std::string, Val> &owned =
      current.instance ? current.instance->params : current.modelParams;
  if (auto found = owned.find(name); found != owned.end())
    return found->second;

  auto [declared, stmt] = current.paramDecls.at(name);
  std::optional<Dims> dims = evaluateDims(declared->type);
  if (!dims)
    return owned[name] = Val::poisoned();
  Val val;
  val.dims = *dims;
  val.origin = declared->type.range;
  std::string fullName = current.prefix + name;
  if (building()) {
    std::vector<int64_t> shape = concreteDims(val.dims);
    // The parameter is located at its declaration, not its first use.
    SourceRange useRange = topBuilder->range;
    topBuilder->range = stmt->range;
    val.ir = topBuilder->param(fullName, shape);
    topBuilder->range = useRange;
    if (info) {
      ParamInfo param{fullName, shape, "zeros", {}};
      if (stmt->init) {
        param.init = stmt->init->name;
        param.initArgs = stmt->init->args;
      }
      info->params.push_back(param);
    }
  }
  return owned[name] = val;
}

std::optional<Size> Elaborator::evaluateSize(const ast::Expr &expr) {
  const std::map<std::string, Size> &sizes = frame().sizes;
  auto lookup = [&](const std::string &name) -> std::optional<Size> {
    auto found = sizes.find(name);
    return found == sizes.end() ? std::nullopt
                                : std::optional<Size>(found->second);
  };
  return evaluateSizeExpr(expr, lookup, &diags);
}

std::optional<Dims> Elaborator::evaluateDims(const ast::TypeExpr &type) {
  Dims dims;
  for (const ast::ExprPtr &dim : type.dims) {
    std::optional<Size> size = evaluateSize(*dim);
    if (!size)
      return std::nullopt;
    if (std::optional<int64_t> value = size->value(); value && *value <= 0) {
      diags.error(dim->range, fmt::format("this size is {}; sizes must be "
                                          "positive",
                                          *value));
      return std::nullopt;
    }
    dims.push_back(*size);
  }
  return dims;
}

std::optional<int64_t> Elaborator::concreteSize(const Size &size,
                                                SourceRange range) {
  if (std::optional<int64_t> value = size.value())
    return value;
  diags.error(range,
              fmt::format("the size `{}` is not known here", size.str()));
  return std::nullopt;
}

std::vector<int64_t> Elaborator::concreteDims(const Dims &dims) {
  std::vector<int64_t> shape;
  for (const Size &size : dims)
    shape.push_back(size.value().value_or(1));
  return shape;
}

/// Binds the sizes in one declared argument type from an argument's shape.
bool Elaborator::bindArgument(Frame &callee, const ast::TypeExpr &type,
                              const Val &arg, const std::string &argName,
                              SourceRange range) {
  if (type.isToken != arg.isToken || type.dims.size() != arg.dims.size()) {
    diags.error(range, fmt::format("argument `{}` of `{}` must have shape "
                                   "with {} dimension{}, but this has shape "
                                   "{}",
                                   argName, callee.decl->name, type.dims.size(),
                                   type.dims.size() == 1 ? "" : "s",
                                   formatDims(arg.dims)));
    return false;
  }
  // Token ids bind their vocabulary like a dimension: `ids: [L] token(V)`.
  std::vector<const ast::Expr *> declared;
  std::vector<Size> given = arg.dims;
  for (const ast::ExprPtr &dim : type.dims)
    declared.push_back(dim.get());
  if (type.isToken) {
    declared.push_back(type.vocab.get());
    given.push_back(arg.vocab);
  }
  for (size_t i = 0; i < declared.size(); ++i) {
    const ast::Expr &dim = *declared[i];
    if (dim.kind == ast::ExprKind::Name && !callee.sizes.count(dim.name)) {
      callee.sizes[dim.name] = given[i];
      continue;
    }
    frames.push_back(&callee);
    std::optional<Size> expected = evaluateSize(dim);
    frames.pop_back();
    if (!expected)
      return false;
    if (!(*expected == given[i])) {
      bool isVocab = i == type.dims.size();
      diags.error(
          range, isVocab
                     ? fmt::format("argument `{}` of `{}` holds token "
                                   "ids below {}, but the cell expects "
                                   "ids below `{}` = {}",
                                   argName, callee.decl->name, given[i].str(),
                                   syntax::printExpr(dim), expected->str())
                     : fmt::format("argument `{}` of `{}` has shape {}, "
                                   "but the cell expects `{}`{} in "
                                   "dimension {}",
                                   argName, callee.decl->name,
                                   formatDims(arg.dims), syntax::printExpr(dim),
                                   syntax::printExpr(dim) == expected->str()
                                       ? ""
                                       : fmt::format(" = {}", expected->str()),
                                   i + 1));
      diags.note(type.range, "the argument's type is declared here");
      return false;
    }
  }
  return true;
}

/// The size names in a size expression.
std::vector<std::string> sizeNames(const ast::Expr &expr) {
  if (expr.kind == ast::ExprKind::Name)
    return {expr.name};
  std::vector<std::string> names;
  for (const ast::ExprPtr &operand : expr.operands)
    if (operand)
      for (std::string &name : sizeNames(*operand))
        names.push_back(std::move(name));
  return names;
}

/// Inlines a call of a cell instance: binds its sizes from the arguments,
/// then evaluates its return expression in a fresh frame.
Vals Elaborator::callCell(Instance &instance, const ast::Expr &call) {
  const ast::Decl &cell = *instance.cell;
  Vals failed(std::max<size_t>(cell.results.size(), 1), Val::poisoned());
  if (call.operands.size() != cell.parameters.size()) {
    diags.error(call.range,
                fmt::format("`{}` takes {} argument{}, but {} {} given",
                            cell.name, cell.parameters.size(),
                            cell.parameters.size() == 1 ? "" : "s",
                            call.operands.size(),
                            call.operands.size() == 1 ? "is" : "are"));
    diags.note(cell.nameRange, fmt::format("`{}` is declared here", cell.name));
    return failed;
  }
  if (frames.size() > maxCellDepth) {
    diags.error(call.range, fmt::format("cells call each other more than {} "
                                        "levels deep",
                                        maxCellDepth));
    return failed;
  }
  for (const Frame *caller : frames) {
    if (caller->decl == &cell) {
      diags.error(call.range,
                  fmt::format("`{}` calls itself; cells are inlined, so a "
                              "cell cannot call itself, directly or through "
                              "other cells",
                              cell.name));
      return failed;
    }
  }
  Vals args;
  for (const ast::ExprPtr &operand : call.operands) {
    args.push_back(elaborateOne(*operand));
    if (!args.back().ok)
      return failed;
  }

  Frame callee;
  callee.decl = &cell;
  callee.instance = &instance;
  callee.prefix = instance.prefix;
  if (instance.bound)
    callee.sizes = instance.sizes;
  // Sizes named at the call or where the instance was made: `K = 3`.
  for (const ast::Expr *source : {instance.creation, &call}) {
    if (!source)
      continue;
    for (const ast::NamedArg &named : source->namedArgs) {
      std::optional<Size> size = evaluateSize(*named.value);
      if (!size)
        return failed;
      auto [entry, inserted] = callee.sizes.emplace(named.name, *size);
      if (!inserted && !(entry->second == *size)) {
        diags.error(named.range,
                    fmt::format("`{}` is {} here but {} before", named.name,
                                size->str(), entry->second.str()));
        return failed;
      }
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const ast::Parameter &parameter = cell.parameters[i];
    if (!bindArgument(callee, *parameter.type, args[i], parameter.name,
                      call.operands[i]->range))
      return failed;
    callee.arguments[parameter.name] = args[i];
  }
  // Every size of the cell's parameters and results must now be known.
  std::vector<std::pair<const ast::Expr *, SourceRange>> declaredSizes;
  for (const ast::Stmt &stmt : cell.body)
    for (const ast::Declared &declared : stmt.declared)
      for (const ast::ExprPtr &dim : declared.type.dims)
        declaredSizes.push_back({dim.get(), declared.type.range});
  for (const ast::TypeExpr &result : cell.results)
    for (const ast::ExprPtr &dim : result.dims)
      declaredSizes.push_back({dim.get(), result.range});
  for (const auto &[dim, declaredAt] : declaredSizes) {
    for (const std::string &name : sizeNames(*dim)) {
      if (callee.sizes.count(name))
        continue;
      diags.error(call.range,
                  fmt::format("the size `{}` of `{}` is not given by its "
                              "arguments; name it at the call or the "
                              "instance, as in `{}(..., {} = 3)`",
                              name, cell.name, cell.name, name));
      diags.note(declaredAt, fmt::format("`{}` is used here", name));
      return failed;
    }
  }
  instance.sizes = callee.sizes;
  instance.bound = true;
  collectBody(callee);
  if (!callee.returnStmt) {
    diags.error(cell.nameRange,
                fmt::format("cell `{}` has no `return`", cell.name));
    return failed;
  }

  frames.push_back(&callee);
  std::vector<std::map<std::string, IndexVar>> outerIndices =
      std::move(indexScopes);
  indexScopes.clear();
  Vals results = elaborate(*callee.returnStmt->value);
  indexScopes = std::move(outerIndices);
  bool resultsOk = true;
  if (results.size() != cell.results.size()) {
    diags.error(callee.returnStmt->range,
                fmt::format("`{}` declares {} result{} but returns {}",
                            cell.name, cell.results.size(),
                            cell.results.size() == 1 ? "" : "s",
                            results.size()));
    resultsOk = false;
  }
  for (size_t i = 0; resultsOk && i < results.size(); ++i) {
    std::optional<Dims> declared = evaluateDims(cell.results[i]);
    if (results[i].ok && declared && !(*declared == results[i].dims)) {
      diags.error(callee.returnStmt->value->range,
                  fmt::format("`{}` returns shape {} but declares {}",
                              cell.name, formatDims(results[i].dims),
                              formatDims(*declared)));
      resultsOk = false;
    }
  }
  frames.pop_back();
  return resultsOk ? results : failed;
}

/// Checks a lone cell: arguments get their declared shapes, with every size
/// left as a symbol, and every equation and the return are checked.
bool Elaborator::checkCell(const ast::Decl &cell) {
  unsigned errorsBefore = diags.errorCount();
  Instance instance;
  instance.cell = &cell;
  Frame callee;
  callee.decl = &cell;
  callee.instance = &instance;
  frames.push_back(&callee);
  for (const ast::Parameter &parameter : cell.parameters) {
    for (const ast::ExprPtr &dim : parameter.type->dims)
      if (dim->kind == ast::ExprKind::Name)
        callee.sizes.emplace(dim->name, Size::symbol(dim->name));
    const ast::Expr *vocab = parameter.type->vocab.get();
    if (vocab && vocab->kind == ast::ExprKind::Name)
      callee.sizes.emplace(vocab->name, Size::symbol(vocab->name));
  }
  // Sizes that appear only in parameter declarations are symbols too.
  for (const ast::Stmt &stmt : cell.body)
    for (const ast::Declared &declared : stmt.declared)
      for (const ast::ExprPtr &dim : declared.type.dims)
        if (dim->kind == ast::ExprKind::Name)
          callee.sizes.emplace(dim->name, Size::symbol(dim->name));
  for (const ast::Parameter &parameter : cell.parameters) {
    std::optional<Dims> dims = evaluateDims(*parameter.type);
    Val arg = dims ? Val() : Val::poisoned();
    if (dims)
      arg.dims = *dims;
    arg.batched = true;
    arg.isToken = parameter.type->isToken;
    if (arg.isToken && arg.ok) {
      std::optional<Size> vocab = evaluateSize(*parameter.type->vocab);
      if (vocab)
        arg.vocab = *vocab;
    }
    arg.origin = parameter.type->range;
    callee.arguments[parameter.name] = arg;
  }
  collectBody(callee);
  for (const auto &[name, local] : callee.locals)
    elaborateStmt(*local.first);
  if (callee.returnStmt)
    elaborate(*callee.returnStmt->value);
  else
    diags.error(cell.nameRange,
                fmt::format("cell `{}` has no `return`", cell.name));
  if (diags.errorCount() == errorsBefore)
    warnUnusedParams(callee, instance.params);
  frames.pop_back();
  return diags.errorCount() == errorsBefore;
}

/// Warns of each parameter of `frame` that nothing read: it would get no
/// gradient and no place in saved weights.
void Elaborator::warnUnusedParams(const Frame &frame,
                                  const std::map<std::string, Val> &used) {
  for (const auto &[name, declaration] : frame.paramDecls)
    if (!used.count(name))
      diags.warning(declaration.first->nameRange,
                    fmt::format("the parameter `{}` is never used, so it is "
                                "not trained or saved",
                                name));
}

} // namespace weft::sema
