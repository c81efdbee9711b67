// Joining padded slices: takes a Function (after autodiff), gives the same
// Function in which a sum of zero-padded slices that cover disjoint parts
// of one axis, PadSlice(a) + PadSlice(b) + ..., is one Concat of the
// pieces (and zeros for the gaps). This is the cotangent of a value that a
// step reads in slices, such as the fused gate pre-activations: each piece
// is then written once into its region, with no zero fills and no adds.
#pragma once

#include "compiler/ir/IR.h"

namespace weft::opt {

/// Rewrites every such sum at any depth; returns how many it joined.
unsigned joinPaddedSlices(ir::Function &function);

} // namespace weft::opt
