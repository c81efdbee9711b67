// Lowering: the tensor IR (one Function, per example, with Scan time loops)
// in, a LoweredProgram (buffers, time loops, kernels) out. Every value gets a
// buffer or a view into one; chains of elementwise ops become one kernel.
#pragma once

#include "compiler/ir/IR.h"
#include "compiler/lower/Lowered.h"

#include <optional>
#include <string>

namespace weft::lower {

/// Lowers `function`, which must pass ir::verify. Returns nothing and sets
/// `error` when the function uses something lowering does not support yet.
std::optional<LoweredProgram> lowerFunction(const ir::Function &function,
                                            std::string *error);

} // namespace weft::lower
