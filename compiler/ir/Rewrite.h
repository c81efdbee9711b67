// Editing a Function in place, for the passes of opt and autodiff: finding
// and replacing uses, adding inputs and outputs to a scan, and dropping
// what nothing reads. The IR keeps no use lists, so every query walks the
// function; passes call these a handful of times, not per op.
#pragma once

#include "compiler/ir/IR.h"

#include <functional>
#include <unordered_map>

namespace weft::ir {

/// How many times each value is read: operands at any depth, yields of
/// scan bodies, and the function's outputs.
std::unordered_map<const Value *, unsigned> countUses(Function &function);

/// Appends to `builder`'s block a copy of `op` (not a scan) reading
/// `operands`: the same kind, attributes, result types and hints.
Op *cloneOp(Builder &builder, const Op &op, std::vector<Value *> operands);

/// Calls `rewrite(scan, before, after)` for every scan of the top level, in
/// order; the ops it builds in `before` go just before that scan and those
/// in `after` just after it (new scans among them are not visited). Returns
/// the sum of what `rewrite` returns.
unsigned rewriteScans(Function &function,
                      const std::function<unsigned(Op &scan, Block &before,
                                                   Block &after)> &rewrite);

/// Replaces every use of `from` with `to`: operands of ops at any depth,
/// yields of scan bodies, and the function's outputs.
void replaceAllUses(Function &function, const Value *from, Value *to);

/// Adds `stream` to `scan` as a sequence read at step t + `offset`;
/// returns the body argument holding its element.
Value *addSequence(Function &function, Op &scan, Value *stream, int64_t offset);

/// Makes `scan` give the body value `value` at every step; returns the
/// stacked result. A value the body already yields per step gives its
/// existing result.
Value *addStepOutput(Function &function, Op &scan, Value *value);

/// Removes `scan`'s carry `position`: its initial value, body argument,
/// yield and result. The body must not read the argument any more, and
/// nothing may use the result.
void removeCarry(Op &scan, unsigned position);

/// Drops the sequences and captures that `scan`'s body does not read;
/// returns how many went.
unsigned removeUnusedScanArguments(Op &scan);

/// Removes the ops none of whose results are read, the per-step outputs of
/// scans that nothing reads, and then the scan arguments left unread, at
/// every depth. Leaves (Param, Input) stay. Returns how many ops went.
unsigned eliminateDeadCode(Function &function);

} // namespace weft::ir
