// Joining padded slices into a Concat. A sum is a tree of Adds, each read
// only by the next, whose leaves are PadSlices read only by the tree, along
// the same axis to the same length, at disjoint ranges.
#include "compiler/opt/JoinPaddedSlices.h"

#include "compiler/ir/Rewrite.h"

#include <algorithm>
#include <set>

namespace weft::opt {

namespace {

using ir::OpKind;
using UseCounts = std::unordered_map<const ir::Value *, unsigned>;

class SliceJoiner {
public:
  SliceJoiner(ir::Function &function) : function(function) {
    uses = ir::countUses(function);
  }

  unsigned joinIn(ir::Block &block);

private:
  bool collectLeaves(ir::Value *value, const ir::Type &type,
                     std::vector<const ir::Op *> &leaves);
  ir::Value *buildConcat(ir::Builder &builder,
                         std::vector<const ir::Op *> leaves,
                         const ir::Type &type);

  ir::Function &function;
  UseCounts uses;
  std::set<const ir::Value *> absorbed;
};

/// The PadSlice leaves of the Add tree under `value`, or false when a leaf
/// is something else.
bool SliceJoiner::collectLeaves(ir::Value *value, const ir::Type &type,
                                std::vector<const ir::Op *> &leaves) {
  const ir::Op *op = value->definingOp;
  if (!op || uses[value] != 1)
    return false;
  if (op->kind == OpKind::Add && value->type == type) {
    absorbed.insert(value);
    return collectLeaves(op->operands[0], type, leaves) &&
           collectLeaves(op->operands[1], type, leaves);
  }
  if (op->kind != OpKind::PadSlice)
    return false;
  leaves.push_back(op);
  return true;
}

ir::Value *SliceJoiner::buildConcat(ir::Builder &builder,
                                    std::vector<const ir::Op *> leaves,
                                    const ir::Type &type) {
  unsigned axis = leaves[0]->axis;
  int64_t length = leaves[0]->end;
  for (const ir::Op *leaf : leaves)
    if (leaf->axis != axis || leaf->end != length)
      return nullptr;
  std::sort(leaves.begin(), leaves.end(), [](const ir::Op *a, const ir::Op *b) {
    return a->begin < b->begin;
  });
  std::vector<ir::Value *> parts;
  int64_t covered = 0;
  auto addZeros = [&](int64_t count) {
    std::vector<int64_t> shape = type.shape;
    shape[axis] = count;
    ir::Value *zeros = builder.constant(0, shape);
    if (type.isStream())
      zeros = builder.streamFill(zeros, type.steps);
    parts.push_back(zeros);
  };
  for (const ir::Op *leaf : leaves) {
    if (leaf->begin < covered)
      return nullptr; // Overlapping pieces add up; leave them be.
    if (leaf->begin > covered)
      addZeros(leaf->begin - covered);
    parts.push_back(leaf->operands[0]);
    covered = leaf->begin + leaf->operands[0]->type.shape[axis];
  }
  if (covered < length)
    addZeros(length - covered);
  return builder.concat(parts, axis);
}

unsigned SliceJoiner::joinIn(ir::Block &block) {
  unsigned joined = 0;
  // Last op first, so that a tree's root comes before its inner Adds.
  for (size_t i = block.ops.size(); i-- > 0;) {
    ir::Op &op = *block.ops[i];
    if (op.body)
      joined += joinIn(*op.body);
    ir::Value *root = op.results.empty() ? nullptr : op.result();
    if (op.kind != OpKind::Add || absorbed.count(root) ||
        root->type.element != ir::ElementType::Float)
      continue;
    std::vector<const ir::Op *> leaves;
    std::set<const ir::Value *> before = absorbed;
    bool inner = true;
    for (ir::Value *operand : op.operands)
      inner = inner && collectLeaves(operand, root->type, leaves);
    if (!inner || leaves.size() < 2) {
      absorbed = std::move(before);
      continue;
    }
    ir::Block built;
    ir::Builder builder(function, built);
    builder.range = op.range;
    ir::Value *concat = buildConcat(builder, leaves, root->type);
    if (!concat || concat->type != root->type) {
      absorbed = std::move(before);
      continue;
    }
    concat->hint = root->hint;
    ir::replaceAllUses(function, root, concat);
    block.ops.insert(block.ops.begin() + i + 1,
                     std::make_move_iterator(built.ops.begin()),
                     std::make_move_iterator(built.ops.end()));
    ++joined;
  }
  return joined;
}

} // namespace

unsigned joinPaddedSlices(ir::Function &function) {
  unsigned joined = SliceJoiner(function).joinIn(function.body);
  if (joined)
    ir::eliminateDeadCode(function);
  return joined;
}

} // namespace weft::opt
