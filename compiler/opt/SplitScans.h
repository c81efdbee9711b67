// Splitting scans: takes a Function before hoisting, gives the same
// Function in which a forward scan whose carries fall into a part that does
// not read the rest (the hyper-state z of a hypernetwork, a clock, a
// counter) runs as two scans: the independent part first, then the rest,
// reading what it needs of the first as sequences. Work of the second scan
// that depends only on the first's values becomes step-invariant there, so
// hoisting can run it over all steps at once (the hypernetwork's weight
// generator P z[t] becomes one GEMM).
#pragma once

#include "compiler/ir/IR.h"

namespace weft::opt {

/// Splits every top-level forward scan that has an independent part;
/// returns how many scans were split.
unsigned splitScans(ir::Function &function);

} // namespace weft::opt
