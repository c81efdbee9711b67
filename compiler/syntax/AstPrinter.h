// Prints an AST as an indented S-expression: one line per declaration part
// and statement, each tagged with its line:col. Used by `weft --emit=ast` and
// the syntax golden tests, so the format must stay stable.
#pragma once

#include "compiler/syntax/AST.h"

#include <string>

namespace weft::syntax {

/// The whole module, ending with a line break.
std::string printAst(const ast::Module &module);

/// One expression on a single line, as it appears inside `printAst`.
std::string printExpr(const ast::Expr &expr);

} // namespace weft::syntax
