// Splitting a forward scan by the dependencies between its carries. Each
// body value depends on a set of carries (through the carry arguments it
// reads). A set S of carries is closed when the next value of every carry
// in S depends only on S; the smallest closed set of any one carry, when it
// is not every carry, is split off. The first scan keeps S and only the ops
// its next values need; it stacks every value of its own that the rest
// reads (its bridges). The second scan keeps the other carries and every
// other op, reading the bridges as sequences: an op there that reads only
// bridges, sequences and captures is step-invariant, for hoisting to take
// out. Ops that depend on no carry are recomputed in both.
#include "compiler/opt/SplitScans.h"

#include "compiler/ir/Rewrite.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

namespace weft::opt {

namespace {

using ir::OpKind;
using CarrySet = std::vector<bool>;

bool isEmpty(const CarrySet &set) {
  for (bool member : set)
    if (member)
      return false;
  return true;
}

using ValueMap = std::map<const ir::Value *, ir::Value *>;

/// Appends a copy of `op` reading the values `mapped` gives for its
/// operands (values not in it stand for themselves), and maps its results.
void cloneInto(ir::Builder &builder, const ir::Op &op, ValueMap &mapped) {
  std::vector<ir::Value *> operands;
  for (ir::Value *operand : op.operands) {
    auto found = mapped.find(operand);
    operands.push_back(found == mapped.end() ? operand : found->second);
  }
  ir::Op *clone = ir::cloneOp(builder, op, operands);
  for (unsigned i = 0; i < op.results.size(); ++i)
    mapped[op.result(i)] = clone->result(i);
}

class ScanSplitter {
public:
  ScanSplitter(ir::Function &function, ir::Op &scan)
      : function(function), scan(scan), body(*scan.body) {}

  /// Builds the two scans in `replacement` and redirects the uses of the
  /// old scan's results; false when the scan has no independent part.
  bool run(ir::Block &replacement);

private:
  void computeDependencies();
  bool chooseIndependentPart();
  const CarrySet &dependencies(const ir::Value *value) const;
  void findNeeded();
  /// A value the first scan computes (or an S carry) that varies with S.
  bool isFirstValue(const ir::Value *value) const {
    bool computed = value->definingOp && needed.count(value->definingOp);
    bool carry = value->ownerBlock == &body && value->index < carries &&
                 independent[value->index];
    return (computed || carry) && !isEmpty(dependencies(value));
  }
  ir::Op *buildFirst(ir::Builder &builder);
  ir::Op *buildSecond(ir::Builder &builder);

  ir::Function &function;
  ir::Op &scan;
  ir::Block &body;
  unsigned carries = 0;
  std::map<const ir::Value *, CarrySet> dependsOn;
  CarrySet none, independent;
  /// The body ops the next values of S need.
  std::set<const ir::Op *> needed;
  /// S-dependent values the second scan reads, each with the first scan's
  /// stacked result.
  std::vector<std::pair<const ir::Value *, ir::Value *>> bridges;
  std::vector<unsigned> firstOutputs, secondOutputs;
};

const CarrySet &ScanSplitter::dependencies(const ir::Value *value) const {
  auto found = dependsOn.find(value);
  return found == dependsOn.end() ? none : found->second;
}

void ScanSplitter::computeDependencies() {
  carries = scan.numCarries;
  none.assign(carries, false);
  for (unsigned i = 0; i < carries; ++i) {
    CarrySet own = none;
    own[i] = true;
    dependsOn[body.arguments[i].get()] = own;
  }
  for (const auto &op : body.ops) {
    CarrySet set = none;
    for (const ir::Value *operand : op->operands) {
      const CarrySet &operandSet = dependencies(operand);
      for (unsigned i = 0; i < carries; ++i)
        set[i] = set[i] || operandSet[i];
    }
    for (const auto &result : op->results)
      dependsOn[result.get()] = set;
  }
}

bool ScanSplitter::chooseIndependentPart() {
  // The closure of each carry under "its next value reads"; the smallest
  // closure that is not everything is the part to split off.
  size_t best = carries;
  for (unsigned start = 0; start < carries; ++start) {
    CarrySet closure = none;
    closure[start] = true;
    for (bool grew = true; grew;) {
      grew = false;
      for (unsigned i = 0; i < carries; ++i) {
        if (!closure[i])
          continue;
        const CarrySet &reads = dependencies(body.yields[i]);
        for (unsigned j = 0; j < carries; ++j)
          if (reads[j] && !closure[j])
            closure[j] = grew = true;
      }
    }
    size_t size = std::count(closure.begin(), closure.end(), true);
    if (size < best) {
      best = size;
      independent = closure;
    }
  }
  return best < carries;
}

void ScanSplitter::findNeeded() {
  std::vector<const ir::Value *> work;
  for (unsigned i = 0; i < carries; ++i)
    if (independent[i])
      work.push_back(body.yields[i]);
  while (!work.empty()) {
    const ir::Op *op = work.back()->definingOp;
    work.pop_back();
    bool inBody = op && std::any_of(body.ops.begin(), body.ops.end(),
                                    [&](const std::unique_ptr<ir::Op> &other) {
                                      return other.get() == op;
                                    });
    if (!inBody || !needed.insert(op).second)
      continue;
    work.insert(work.end(), op->operands.begin(), op->operands.end());
  }
}

ir::Op *ScanSplitter::buildFirst(ir::Builder &builder) {
  std::vector<ir::Value *> initial, sequences, captures;
  for (unsigned i = 0; i < carries; ++i)
    if (independent[i])
      initial.push_back(scan.operands[i]);
  for (unsigned i = 0; i < scan.numSequences; ++i)
    sequences.push_back(scan.operands[carries + i]);
  for (unsigned i = carries + scan.numSequences; i < scan.operands.size(); ++i)
    captures.push_back(scan.operands[i]);
  ir::Op *first = builder.beginScan(scan.steps, false, initial, sequences,
                                    scan.sequenceOffsets, captures);
  ir::Block &firstBody = *first->body;

  ValueMap mapped;
  unsigned position = 0;
  for (unsigned i = 0; i < carries; ++i)
    if (independent[i])
      mapped[body.arguments[i].get()] = firstBody.arguments[position++].get();
  for (unsigned i = carries; i < body.arguments.size(); ++i)
    mapped[body.arguments[i].get()] =
        firstBody.arguments[i - carries + position].get();
  auto map = [&](ir::Value *value) {
    auto found = mapped.find(value);
    return found == mapped.end() ? value : found->second;
  };

  ir::Builder inner(function, firstBody);
  for (const auto &op : body.ops) {
    if (!needed.count(op.get()))
      continue;
    cloneInto(inner, *op, mapped);
  }

  // Bridges: the first scan's varying values that ops or yields of the
  // second read.
  std::vector<const ir::Value *> bridged;
  auto noteBridge = [&](ir::Value *value) {
    if (!isFirstValue(value))
      return;
    if (std::find(bridged.begin(), bridged.end(), value) == bridged.end())
      bridged.push_back(value);
  };
  for (const auto &op : body.ops)
    if (!needed.count(op.get()))
      for (ir::Value *operand : op->operands)
        noteBridge(operand);
  for (unsigned i = 0; i < carries; ++i)
    if (!independent[i])
      noteBridge(body.yields[i]);

  std::vector<ir::Value *> next, outputs;
  for (unsigned i = 0; i < carries; ++i)
    if (independent[i])
      next.push_back(map(body.yields[i]));
  for (unsigned i = carries; i < body.yields.size(); ++i)
    if (isFirstValue(body.yields[i])) {
      firstOutputs.push_back(i);
      outputs.push_back(map(body.yields[i]));
    } else {
      secondOutputs.push_back(i);
    }
  for (const ir::Value *value : bridged)
    outputs.push_back(map(const_cast<ir::Value *>(value)));
  builder.finishScan(first, next, outputs);

  unsigned bridgeResult = first->numCarries + firstOutputs.size();
  for (const ir::Value *value : bridged)
    bridges.push_back({value, first->result(bridgeResult++)});
  return first;
}

ir::Op *ScanSplitter::buildSecond(ir::Builder &builder) {
  std::vector<ir::Value *> initial, sequences, captures;
  std::vector<int64_t> offsets = scan.sequenceOffsets;
  for (unsigned i = 0; i < carries; ++i)
    if (!independent[i])
      initial.push_back(scan.operands[i]);
  for (unsigned i = 0; i < scan.numSequences; ++i)
    sequences.push_back(scan.operands[carries + i]);
  for (const auto &[value, stacked] : bridges) {
    sequences.push_back(stacked);
    offsets.push_back(0);
  }
  for (unsigned i = carries + scan.numSequences; i < scan.operands.size(); ++i)
    captures.push_back(scan.operands[i]);
  ir::Op *second = builder.beginScan(scan.steps, false, initial, sequences,
                                     offsets, captures);
  ir::Block &secondBody = *second->body;

  ValueMap mapped;
  unsigned position = 0;
  for (unsigned i = 0; i < carries; ++i)
    if (!independent[i])
      mapped[body.arguments[i].get()] = secondBody.arguments[position++].get();
  unsigned ownCarries = position;
  for (unsigned i = 0; i < scan.numSequences; ++i)
    mapped[body.arguments[carries + i].get()] =
        secondBody.arguments[ownCarries + i].get();
  unsigned bridgeArgument = ownCarries + scan.numSequences;
  for (const auto &[value, stacked] : bridges)
    mapped[value] = secondBody.arguments[bridgeArgument++].get();
  unsigned captureArgument = bridgeArgument;
  for (unsigned i = carries + scan.numSequences; i < body.arguments.size(); ++i)
    mapped[body.arguments[i].get()] =
        secondBody.arguments[captureArgument++].get();
  auto map = [&](ir::Value *value) {
    auto found = mapped.find(value);
    return found == mapped.end() ? value : found->second;
  };

  ir::Builder inner(function, secondBody);
  for (const auto &op : body.ops) {
    bool keep = !needed.count(op.get()) || isEmpty(dependencies(op->result()));
    if (!keep)
      continue;
    cloneInto(inner, *op, mapped);
  }
  std::vector<ir::Value *> next, outputs;
  for (unsigned i = 0; i < carries; ++i)
    if (!independent[i])
      next.push_back(map(body.yields[i]));
  for (unsigned i : secondOutputs)
    outputs.push_back(map(body.yields[i]));
  builder.finishScan(second, next, outputs);
  return second;
}

bool ScanSplitter::run(ir::Block &replacement) {
  for (const auto &op : body.ops)
    if (op->body || op->results.empty())
      return false;
  computeDependencies();
  if (carries < 2 || !chooseIndependentPart())
    return false;
  findNeeded();

  ir::Builder builder(function, replacement);
  builder.range = scan.range;
  ir::Op *first = buildFirst(builder);
  ir::Op *second = buildSecond(builder);

  // The old results, in order: carries, then per-step outputs.
  unsigned firstCarry = 0, secondCarry = 0;
  for (unsigned i = 0; i < carries; ++i)
    ir::replaceAllUses(function, scan.result(i),
                       independent[i] ? first->result(firstCarry++)
                                      : second->result(secondCarry++));
  for (unsigned k = 0; k < firstOutputs.size(); ++k)
    ir::replaceAllUses(function, scan.result(firstOutputs[k]),
                       first->result(first->numCarries + k));
  for (unsigned k = 0; k < secondOutputs.size(); ++k)
    ir::replaceAllUses(function, scan.result(secondOutputs[k]),
                       second->result(second->numCarries + k));
  return true;
}

} // namespace

unsigned splitScans(ir::Function &function) {
  unsigned split = 0;
  auto &ops = function.body.ops;
  for (size_t i = 0; i < ops.size(); ++i) {
    ir::Op &op = *ops[i];
    if (op.kind != OpKind::Scan || op.reverse)
      continue;
    ir::Block replacement;
    if (!ScanSplitter(function, op).run(replacement))
      continue;
    // The two scans take the old one's place; nothing reads it any more.
    size_t added = replacement.ops.size();
    ops.insert(ops.begin() + i,
               std::make_move_iterator(replacement.ops.begin()),
               std::make_move_iterator(replacement.ops.end()));
    ops.erase(ops.begin() + i + added);
    ++split;
    // The loop goes on with the second scan, which may split again.
    i += added - 2;
  }
  if (split)
    ir::eliminateDeadCode(function);
  return split;
}

} // namespace weft::opt
