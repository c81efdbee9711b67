// Reverse-mode differentiation of a tensor IR function: takes the forward
// Function with a `loss` output and appends the reverse pass and a
// `grad_<name>` output for every parameter and float input.
#pragma once

#include "compiler/ir/IR.h"

namespace weft::autodiff {

/// Appends the reverse pass: for every Param op and every Float Input op, an
/// output named "grad_<name>" with dLoss/d(value), where the loss is
/// Function::findOutput("loss"), an unbatched scalar. Values the loss does
/// not depend on get zero gradients.
void appendGradients(ir::Function &function);

} // namespace weft::autodiff
