// The parsing stage: the text of one .weft file in, its AST out. Syntax
// errors go to the DiagnosticEngine with the offending token's location; the
// ANTLR parse tree used on the way stays inside this stage.
#pragma once

#include "compiler/support/Diagnostics.h"
#include "compiler/syntax/AST.h"

#include <cstdint>
#include <memory>

namespace weft::syntax {

/// Parses the file already registered in `sources` under `fileId`. Syntax
/// errors are reported to `diags`; returns nullptr when any was found.
std::unique_ptr<ast::Module> parseModule(const SourceManager &sources,
                                         uint32_t fileId,
                                         DiagnosticEngine &diags);

} // namespace weft::syntax
