// Binding a model's sizes from the shapes of arrays given for its
// parameters and inputs, so that one model file runs at any size.
#include "compiler/sema/Sema.h"
#include "compiler/sema/SizeExpr.h"
#include "compiler/syntax/AstPrinter.h"

#include <fmt/format.h>

namespace weft::sema {

namespace {

/// Evaluates a size expression; unbound names stay symbols.
std::optional<Size> symbolicSize(const ast::Expr &expr,
                                 const SizeBindings &sizes) {
  auto lookup = [&](const std::string &name) -> std::optional<Size> {
    auto found = sizes.find(name);
    return found == sizes.end() ? Size::symbol(name)
                                : Size::constant(found->second);
  };
  return evaluateSizeExpr(expr, lookup, nullptr);
}

/// One declared size paired with the number an array has there.
struct Constraint {
  const ast::Expr *declared;
  int64_t actual;
  std::string array;
};

class SizeBinder {
public:
  SizeBinder(SizeBindings &sizes, DiagnosticEngine &diags)
      : sizes(sizes), diags(diags) {}

  /// Pairs the declared dimensions with an array's, after `skip` leading
  /// axes of the array (time and batch) that the caller has handled.
  bool addShape(const std::string &array, const ast::TypeExpr &type,
                const std::vector<int64_t> &shape, size_t skip,
                const std::string &declaredText) {
    size_t rank = type.dims.size();
    if (shape.size() != rank + skip) {
      diags.errorWithoutLocation(fmt::format(
          "`{}` has shape {}, but the model declares {}, which needs {} "
          "dimension{}",
          array, formatShape(shape), declaredText, rank + skip,
          rank + skip == 1 ? "" : "s"));
      return false;
    }
    for (size_t i = 0; i < rank; ++i)
      constraints.push_back({type.dims[i].get(), shape[skip + i], array});
    return true;
  }

  void add(const ast::Expr *declared, int64_t actual,
           const std::string &array) {
    constraints.push_back({declared, actual, array});
  }

  /// Solves constraints with one unknown until nothing changes, then checks
  /// that every constraint holds.
  bool solve() {
    for (bool changed = true; changed;) {
      changed = false;
      for (const Constraint &constraint : constraints) {
        auto size = symbolicSize(*constraint.declared, sizes);
        if (!size || size->isConstant())
          continue;
        if (auto solution = size->solveFor(constraint.actual)) {
          sizes[solution->first] = solution->second;
          changed = true;
        }
      }
    }
    bool ok = true;
    for (const Constraint &constraint : constraints) {
      auto size = symbolicSize(*constraint.declared, sizes);
      if (!size || !size->value() || *size->value() == constraint.actual)
        continue;
      diags.error(constraint.declared->range,
                  fmt::format("`{}` has {} here, but this size is {}",
                              constraint.array, constraint.actual,
                              size->str()));
      ok = false;
    }
    return ok;
  }

  static std::string formatShape(const std::vector<int64_t> &shape) {
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i)
      text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
  }

private:
  SizeBindings &sizes;
  DiagnosticEngine &diags;
  std::vector<Constraint> constraints;
};

} // namespace

bool bindSizesFromArrays(const ast::Decl &model, const ArrayShapes &arrays,
                         SizeBindings &sizes, DiagnosticEngine &diags) {
  SizeBinder binder(sizes, diags);
  std::map<std::string, const ast::Expr *> timeBounds;
  for (const ast::Stmt &stmt : model.body)
    if (stmt.kind == ast::StmtKind::Time)
      timeBounds[stmt.timeIndex] = stmt.bound.get();

  auto shownAs = [](const std::map<std::string, std::string> &paths,
                    const std::string &name) {
    auto path = paths.find(name);
    return path == paths.end() ? name : path->second;
  };
  bool ok = true;
  for (const ast::Stmt &stmt : model.body) {
    if (stmt.kind == ast::StmtKind::Param) {
      for (const ast::Declared &declared : stmt.declared) {
        auto found = arrays.params.find(declared.name);
        if (found != arrays.params.end())
          ok &= binder.addShape(shownAs(arrays.paramPaths, declared.name),
                                declared.type, found->second, 0,
                                "parameter `" + declared.name + "`");
      }
    }
    if (stmt.kind != ast::StmtKind::Input)
      continue;
    const ast::Declared &declared = stmt.declared[0];
    auto found = arrays.inputs.find(declared.name);
    if (found == arrays.inputs.end())
      continue;
    // A stream's steps (or a stack's entries) come first, then the batch.
    bool isStream = stmt.inputIndex != nullptr;
    std::string text = fmt::format(
        "input `{}`{} (with the batch axis{})", declared.name,
        isStream ? "[" + syntax::printExpr(*stmt.inputIndex) + "]" : "",
        isStream ? ", after the leading one" : "");
    std::string array = shownAs(arrays.inputPaths, declared.name);
    // An array of the wrong rank says nothing about the time bound.
    bool fits = binder.addShape(array, declared.type, found->second,
                                isStream ? 2 : 1, text);
    ok &= fits;
    if (!fits || !isStream || found->second.empty())
      continue;
    if (timeBounds.count(stmt.timeIndex))
      binder.add(timeBounds.at(stmt.timeIndex), found->second[0], array);
    else
      binder.add(stmt.inputIndex.get(), found->second[0], array);
  }
  return binder.solve() && ok;
}

} // namespace weft::sema
