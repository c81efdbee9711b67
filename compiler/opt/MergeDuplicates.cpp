// Merging duplicate ops, block by block. Two ops are the same when their
// kinds, operands (the same values) and every attribute agree. Leaves and
// scans are never merged: leaves are distinct by name, and a scan's body
// is a block of its own, merged inside.
#include "compiler/opt/MergeDuplicates.h"

#include "compiler/ir/Rewrite.h"

#include <fmt/format.h>

#include <map>
#include <string>

namespace weft::opt {

namespace {

using ir::OpKind;

/// A text that two ops share exactly when they compute the same values.
std::string signature(const ir::Op &op) {
  std::string text = fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|", int(op.kind),
                                 op.name, op.value, op.begin, op.end, op.axis,
                                 op.transpose, op.mean, op.steps);
  for (int64_t dimension : op.shape)
    text += fmt::format("{},", dimension);
  text += "|";
  for (const std::string &labels : op.labels)
    text += labels + ",";
  text += "|";
  for (const ir::Value *operand : op.operands)
    text += fmt::format("{},", fmt::ptr(operand));
  text += "|";
  for (const auto &result : op.results)
    text += ir::toString(result->type) + ",";
  return text;
}

unsigned mergeIn(ir::Function &function, ir::Block &block) {
  unsigned merged = 0;
  std::map<std::string, const ir::Op *> first;
  for (const auto &op : block.ops) {
    if (op->body) {
      merged += mergeIn(function, *op->body);
      continue;
    }
    if (op->kind == OpKind::Param || op->kind == OpKind::Input)
      continue;
    auto [found, inserted] = first.emplace(signature(*op), op.get());
    if (inserted)
      continue;
    for (unsigned i = 0; i < op->results.size(); ++i)
      ir::replaceAllUses(function, op->result(i), found->second->result(i));
    ++merged;
  }
  return merged;
}

} // namespace

unsigned mergeDuplicates(ir::Function &function) {
  unsigned merged = mergeIn(function, function.body);
  if (merged)
    ir::eliminateDeadCode(function);
  return merged;
}

} // namespace weft::opt
