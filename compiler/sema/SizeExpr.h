// Size expressions as written in the source (`3 * H`, `T + 1`) evaluated to
// symbolic sizes, with names looked up by the caller.
#pragma once

#include "compiler/sema/Sizes.h"
#include "compiler/support/Diagnostics.h"
#include "compiler/syntax/AST.h"

#include <functional>
#include <optional>
#include <string>

namespace weft::sema {

/// The size a name stands for, or nullopt when it names no size.
using SizeLookup = std::function<std::optional<Size>(const std::string &name)>;

/// Evaluates a whole number, a size name, or `+ - * /` of these. When
/// `diags` is given, anything else gets a located error there.
std::optional<Size> evaluateSizeExpr(const ast::Expr &expr,
                                     const SizeLookup &lookup,
                                     DiagnosticEngine *diags);

} // namespace weft::sema
