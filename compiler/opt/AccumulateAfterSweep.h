// Weight gradients after the sweep: takes a Function after autodiff, gives
// the same Function in which a scan carry that only accumulates outer
// products, acc' = acc + Σ_i OuterSum(a_i, b_i), no longer does so step by
// step: the scan stacks the a_i and b_i of every step instead, and each
// product becomes one OuterSum over all steps after the scan, a single GEMM
// whose inner dimension is steps × batch. A carry left accumulating nothing
// is removed.
#pragma once

#include "compiler/ir/IR.h"

namespace weft::opt {

/// Rewrites every top-level scan of `function`; returns how many outer
/// products moved out of a time loop.
unsigned accumulateAfterSweep(ir::Function &function);

} // namespace weft::opt
