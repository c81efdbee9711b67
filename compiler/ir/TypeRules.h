// The type rule of every non-Scan op, shared by the Builder (which aborts on
// a broken rule) and the verifier (which reports it). Internal to the IR.
#pragma once

#include "compiler/ir/IR.h"

#include <string>

namespace weft::ir {

/// Whether `count` operands suit an op of `kind` (not a Scan).
bool takesOperandCount(OpKind kind, size_t count);

/// Returns why `op` (not a Scan) is ill typed, or "" after setting `result`
/// to its result type. Input ops keep the type they were given.
std::string inferResultType(const Op &op, Type &result);

} // namespace weft::ir
