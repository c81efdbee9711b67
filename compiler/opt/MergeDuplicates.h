// Merging duplicate ops (common subexpressions): takes a Function, gives the
// same Function in which an op that repeats an earlier op of its block (the
// same kind, the same operands, the same attributes) is gone and its users
// read the earlier result. Autodiff makes such repeats: one cotangent summed
// over the batch for every bias it feeds, one recomputed constant per rule.
#pragma once

#include "compiler/ir/IR.h"

namespace weft::opt {

/// Merges duplicates in every block; returns how many ops were merged.
unsigned mergeDuplicates(ir::Function &function);

} // namespace weft::opt
