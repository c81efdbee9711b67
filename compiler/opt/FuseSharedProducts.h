// Fusing products that share an operand: takes a Function before autodiff,
// gives the same Function in which the matrix products of a scan step that
// multiply the same vector by different step-invariant matrices, W_1 h,
// ..., W_n h (the gates of an LSTM or GRU), are one product [W_1; ...; W_n]
// h of the stacked matrix, built once before the scan, whose slices the
// step reads. One GEMM of width Σ N_k replaces n thin ones, forward and,
// through autodiff, backward: the cotangents of the slices are joined
// (opt/JoinPaddedSlices) and multiply the stacked matrix once.
#pragma once

#include "compiler/ir/IR.h"

namespace weft::opt {

/// Rewrites the body of every top-level scan, then the top level itself
/// (the input projections hoisted out of scans); returns how many products
/// were replaced.
unsigned fuseSharedProducts(ir::Function &function);

} // namespace weft::opt
