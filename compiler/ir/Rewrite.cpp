// Editing a Function in place: uses, scan inputs and outputs, dead code.
#include "compiler/ir/Rewrite.h"

#include <algorithm>
#include <functional>
#include <unordered_map>

namespace weft::ir {

namespace {

using UseVisitor = std::function<void(Value *&)>;

/// Calls `visit` on every operand slot of `block`'s ops, at any depth, and
/// on every yield slot of the bodies inside it (not `block`'s own yields).
void forEachUseIn(Block &block, const UseVisitor &visit);

/// The operand slots of `op` and of everything nested in it.
void forEachUseOf(Op &op, const UseVisitor &visit) {
  for (Value *&operand : op.operands)
    visit(operand);
  if (op.body) {
    forEachUseIn(*op.body, visit);
    for (Value *&yield : op.body->yields)
      visit(yield);
  }
}

void forEachUseIn(Block &block, const UseVisitor &visit) {
  for (const auto &op : block.ops)
    forEachUseOf(*op, visit);
}

void renumberArguments(Block &body) {
  for (unsigned i = 0; i < body.arguments.size(); ++i)
    body.arguments[i]->index = i;
}

void renumberResults(Op &op) {
  for (unsigned i = 0; i < op.results.size(); ++i)
    op.results[i]->index = i;
}

using UseCounts = std::unordered_map<const Value *, unsigned>;

bool isRead(const UseCounts &counts, const Value *value) {
  auto found = counts.find(value);
  return found != counts.end() && found->second > 0;
}

/// Drops the per-step outputs of every scan in `block` (at any depth) that
/// nothing reads. Returns whether anything went.
bool removeUnreadStepOutputs(Block &block, const UseCounts &counts) {
  bool changed = false;
  for (const auto &op : block.ops) {
    if (op->kind != OpKind::Scan)
      continue;
    Block &body = *op->body;
    for (unsigned i = op->results.size(); i-- > op->numCarries;) {
      if (isRead(counts, op->result(i)))
        continue;
      op->results.erase(op->results.begin() + i);
      body.yields.erase(body.yields.begin() + i);
      changed = true;
    }
    renumberResults(*op);
    changed = removeUnreadStepOutputs(body, counts) || changed;
  }
  return changed;
}

/// Removes the ops of `block` (at any depth) whose results nothing reads,
/// last first, so that a dead chain goes in one sweep. Returns the count.
unsigned removeDeadOps(Block &block, UseCounts &counts) {
  unsigned removed = 0;
  for (size_t i = block.ops.size(); i-- > 0;) {
    Op &op = *block.ops[i];
    if (op.body)
      removed += removeDeadOps(*op.body, counts);
    if (op.kind == OpKind::Param || op.kind == OpKind::Input)
      continue;
    bool read = std::any_of(op.results.begin(), op.results.end(),
                            [&](const std::unique_ptr<Value> &result) {
                              return isRead(counts, result.get());
                            });
    if (read)
      continue;
    forEachUseOf(op, [&](Value *&value) { --counts[value]; });
    block.ops.erase(block.ops.begin() + i);
    ++removed;
  }
  return removed;
}

unsigned removeUnusedArgumentsIn(Block &block) {
  unsigned removed = 0;
  for (const auto &op : block.ops) {
    if (op->kind != OpKind::Scan)
      continue;
    removed += removeUnusedArgumentsIn(*op->body);
    removed += removeUnusedScanArguments(*op);
  }
  return removed;
}

} // namespace

std::unordered_map<const Value *, unsigned> countUses(Function &function) {
  UseCounts counts;
  forEachUseIn(function.body, [&](Value *&value) { ++counts[value]; });
  for (const NamedValue &output : function.outputs)
    ++counts[output.value];
  return counts;
}

Op *cloneOp(Builder &builder, const Op &op, std::vector<Value *> operands) {
  std::vector<Type> resultTypes;
  for (const auto &result : op.results)
    resultTypes.push_back(result->type);
  Op *clone = builder.create(op.kind, std::move(operands), resultTypes);
  clone->range = op.range;
  clone->name = op.name;
  clone->value = op.value;
  clone->shape = op.shape;
  clone->begin = op.begin;
  clone->end = op.end;
  clone->axis = op.axis;
  clone->labels = op.labels;
  clone->transpose = op.transpose;
  clone->mean = op.mean;
  clone->steps = op.steps;
  for (unsigned i = 0; i < op.results.size(); ++i)
    clone->results[i]->hint = op.results[i]->hint;
  return clone;
}

unsigned rewriteScans(Function &function,
                      const std::function<unsigned(Op &scan, Block &before,
                                                   Block &after)> &rewrite) {
  unsigned total = 0;
  auto &ops = function.body.ops;
  for (size_t i = 0; i < ops.size(); ++i) {
    Op &op = *ops[i];
    if (op.kind != OpKind::Scan)
      continue;
    Block before, after;
    total += rewrite(op, before, after);
    size_t added = before.ops.size() + after.ops.size();
    ops.insert(ops.begin() + i + 1, std::make_move_iterator(after.ops.begin()),
               std::make_move_iterator(after.ops.end()));
    ops.insert(ops.begin() + i, std::make_move_iterator(before.ops.begin()),
               std::make_move_iterator(before.ops.end()));
    i += added;
  }
  return total;
}

void replaceAllUses(Function &function, const Value *from, Value *to) {
  forEachUseIn(function.body, [&](Value *&value) {
    if (value == from)
      value = to;
  });
  for (NamedValue &output : function.outputs)
    if (output.value == from)
      output.value = to;
}

Value *addSequence(Function &function, Op &scan, Value *stream,
                   int64_t offset) {
  Block &body = *scan.body;
  auto argument = std::make_unique<Value>();
  argument->type = stream->type.stepType();
  argument->ownerBlock = &body;
  argument->id = function.nextId();
  argument->hint = stream->hint;
  Value *created = argument.get();
  unsigned position = scan.numCarries + scan.numSequences;
  body.arguments.insert(body.arguments.begin() + position, std::move(argument));
  scan.operands.insert(scan.operands.begin() + position, stream);
  scan.sequenceOffsets.push_back(offset);
  ++scan.numSequences;
  renumberArguments(body);
  return created;
}

Value *addStepOutput(Function &function, Op &scan, Value *value) {
  Block &body = *scan.body;
  for (unsigned i = scan.numCarries; i < body.yields.size(); ++i)
    if (body.yields[i] == value)
      return scan.result(i);
  body.yields.push_back(value);
  auto stacked = std::make_unique<Value>();
  stacked->type = value->type.stackedType(scan.steps);
  stacked->definingOp = &scan;
  stacked->index = scan.results.size();
  stacked->id = function.nextId();
  stacked->hint = value->hint;
  scan.results.push_back(std::move(stacked));
  return scan.results.back().get();
}

void removeCarry(Op &scan, unsigned position) {
  Block &body = *scan.body;
  scan.operands.erase(scan.operands.begin() + position);
  body.arguments.erase(body.arguments.begin() + position);
  body.yields.erase(body.yields.begin() + position);
  scan.results.erase(scan.results.begin() + position);
  --scan.numCarries;
  renumberArguments(body);
  renumberResults(scan);
}

unsigned removeUnusedScanArguments(Op &scan) {
  Block &body = *scan.body;
  std::unordered_map<const Value *, bool> read;
  forEachUseIn(body, [&](Value *&value) { read[value] = true; });
  for (const Value *yield : body.yields)
    read[yield] = true;

  std::vector<std::unique_ptr<Value>> arguments;
  std::vector<Value *> operands;
  std::vector<int64_t> offsets;
  unsigned sequences = 0;
  for (unsigned i = 0; i < body.arguments.size(); ++i) {
    bool isCarry = i < scan.numCarries;
    bool isSequence = !isCarry && i < scan.numCarries + scan.numSequences;
    if (!isCarry && !read[body.arguments[i].get()])
      continue;
    if (isSequence) {
      offsets.push_back(scan.sequenceOffsets[i - scan.numCarries]);
      ++sequences;
    }
    operands.push_back(scan.operands[i]);
    arguments.push_back(std::move(body.arguments[i]));
  }
  unsigned removed = body.arguments.size() - arguments.size();
  body.arguments = std::move(arguments);
  renumberArguments(body);
  scan.operands = std::move(operands);
  scan.sequenceOffsets = std::move(offsets);
  scan.numSequences = sequences;
  return removed;
}

unsigned eliminateDeadCode(Function &function) {
  unsigned removed = 0;
  for (;;) {
    UseCounts counts = countUses(function);
    bool changed = removeUnreadStepOutputs(function.body, counts);
    if (changed)
      counts = countUses(function);
    unsigned dead = removeDeadOps(function.body, counts);
    removed += dead;
    unsigned unread = removeUnusedArgumentsIn(function.body);
    if (!changed && dead == 0 && unread == 0)
      return removed;
  }
}

} // namespace weft::ir
