// The entry point of reverse-mode differentiation: seeds the loss, runs the
// reverse pass over the top-level block, and names the gradients.
#include "compiler/autodiff/Autodiff.h"

#include "compiler/autodiff/Differentiator.h"
#include "compiler/ir/Rewrite.h"

namespace weft::autodiff {

using namespace ir;

void appendGradients(Function &function) {
  Value *loss = function.findOutput("loss");
  if (!loss)
    autodiffFailure("the function has no `loss` output");
  const Type &lossType = loss->type;
  if (lossType.batched || lossType.isStream() || !lossType.isScalar() ||
      lossType.element != ElementType::Float)
    autodiffFailure("the loss must be an unbatched float scalar, not " +
                    toString(lossType));

  // dLoss/dLoss = 1, then every op in reverse order, once.
  Differentiator differentiator(function, function.body);
  differentiator.accumulate(loss, differentiator.builder.constant(1));
  differentiator.differentiateBlock(function.body);

  // Collect first: naming gradients appends ops to the block being read.
  std::vector<const Op *> leaves;
  for (const auto &op : function.body.ops)
    if (op->kind == OpKind::Param ||
        (op->kind == OpKind::Input &&
         op->result()->type.element == ElementType::Float))
      leaves.push_back(op.get());
  for (const Op *leaf : leaves) {
    Value *gradient = differentiator.cotangent(leaf->result());
    if (!gradient)
      gradient = differentiator.zeros(leaf->result()->type);
    function.outputs.push_back({"grad_" + leaf->name, gradient});
  }
  // Cotangents of constants, recomputed values the tape replaced, and tapes
  // nothing reads.
  eliminateDeadCode(function);
}

} // namespace weft::autodiff
