// Hoisting out of the time loop: takes a Function before autodiff, gives the
// same Function in which the work of each forward scan step that does not
// depend on the carried state (input projections `W @ x[t]`, embedding
// gathers, their bias adds) runs once over all steps before the scan, as
// one big product over every step and example, and enters the scan as a
// sequence.
#pragma once

#include "compiler/ir/IR.h"

namespace weft::opt {

/// Rewrites every top-level forward scan of `function`; returns how many
/// ops were hoisted.
unsigned hoistStepInvariant(ir::Function &function);

} // namespace weft::opt
