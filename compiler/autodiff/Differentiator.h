// The state of one reverse pass over one block: where primal values live,
// the cotangents accumulated so far, and a Builder that appends the reverse
// ops. Shared by the derivative rules and the scan transform.
#pragma once

#include "compiler/ir/IR.h"

#include <unordered_map>

namespace weft::autodiff {

/// Builds the reverse pass of a block, one op at a time, last op first.
class Differentiator {
public:
  Differentiator(ir::Function &function, ir::Block &target)
      : function(function), builder(function, target) {}

  /// The value holding `forward`'s primal value where reverse ops are being
  /// built: `forward` itself, or its recomputed copy in a reverse scan body.
  ir::Value *primal(const ir::Value *forward) const;
  void mapPrimal(const ir::Value *forward, ir::Value *visible);

  /// The cotangent accumulated for `forward` so far, or null if none.
  ir::Value *cotangent(const ir::Value *forward) const;
  /// Adds `contribution` to the cotangent of `forward`, first summing away
  /// the axes it was broadcast over (steps, batch, shape). Int values get
  /// no cotangents.
  void accumulate(const ir::Value *forward, ir::Value *contribution);
  /// Zeros of `type` (made float).
  ir::Value *zeros(const ir::Type &type);

  /// Applies the derivative rule of every op of `block`, last op first.
  void differentiateBlock(const ir::Block &block);

  ir::Function &function;
  ir::Builder builder;

private:
  /// Sums `contribution` over the axes `target` lacks.
  ir::Value *reduceTo(ir::Value *contribution, const ir::Type &target);

  std::unordered_map<const ir::Value *, ir::Value *> primals;
  std::unordered_map<const ir::Value *, ir::Value *> cotangents;
};

/// Applies the derivative rule of `op` (DerivativeRules.cpp): accumulates
/// the cotangents of its operands from those of its results.
void applyDerivativeRule(const ir::Op &op, Differentiator &differentiator);

/// The derivative rule of a Scan (ScanGradient.cpp): a reverse scan that
/// recomputes each step from a tape of the carries.
void differentiateScan(const ir::Op &scan, Differentiator &differentiator);

/// Stops on an IR the reverse pass cannot handle yet, or a broken invariant.
[[noreturn]] void autodiffFailure(const std::string &message);

} // namespace weft::autodiff
