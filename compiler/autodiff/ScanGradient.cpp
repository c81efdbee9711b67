// The derivative rule of Scan. The forward scan gains a tape: each carry as
// it enters step t, stacked. The gradient is a scan in the other direction
// whose body recomputes forward step t from the tape (a clone of the
// forward body) and then runs the derivative rules backwards through it.
// Every forward value that a derivative rule reads is then taped too, read
// back instead of recomputed, and the clone left unread is removed: each
// activation is computed once, and the reverse sweep does no forward work.
#include "compiler/autodiff/Differentiator.h"
#include "compiler/ir/Rewrite.h"

#include <fmt/core.h>

#include <map>
#include <set>

namespace weft::autodiff {

using namespace ir;

namespace {

bool isFloat(const Value *value) {
  return value->type.element == ElementType::Float;
}

/// A float value the forward body reads from outside: an explicit capture
/// (its body argument and the scan operand), or an outer value the body
/// uses directly (both the same value).
struct Capture {
  const Value *inner;
  const Value *outer;
};

/// Differentiates one forward scan.
///
/// Reverse scan layout. Carries: a cotangent per float forward carry, then
/// an accumulator per float capture. Sequences: the tape of every carry,
/// the forward sequences at their offsets, then the cotangents of the
/// per-step outputs that have one. Captures: the forward captures. Per-step
/// outputs: the cotangent of each float sequence element.
class ScanGradient {
public:
  /// The forward scan is modified: it gains the tape results.
  ScanGradient(const Op &scan, Differentiator &outer)
      : scan(const_cast<Op &>(scan)), body(*scan.body), outer(outer) {}

  void run();

private:
  void addTape();
  void collectOperands();
  Op *beginReverseScan();
  void recomputeStep(Op &reverse, Differentiator &inner);
  void differentiateStep(Op &reverse, Differentiator &inner);
  void propagateOutside(Op &reverse);
  void tapeActivations(Op &reverse);

  /// Positions of the reverse scan's body arguments.
  unsigned accumulatorBegin() const { return floatCarries.size(); }
  unsigned tapeBegin() const { return accumulatorBegin() + captures.size(); }
  unsigned sequenceBegin() const { return tapeBegin() + scan.numCarries; }
  unsigned seedBegin() const { return sequenceBegin() + scan.numSequences; }
  unsigned captureBegin() const { return seedBegin() + seededOutputs.size(); }

  Op &scan;
  Block &body;
  Differentiator &outer;
  unsigned tapeResultBegin = 0;
  std::vector<unsigned> floatCarries;   ///< Carry positions.
  std::vector<unsigned> floatSequences; ///< Sequence positions.
  std::vector<unsigned> seededOutputs;  ///< Per-step output positions.
  std::vector<Capture> captures;
  /// The clones of the forward body in the reverse body, and the forward
  /// value each clone result recomputes.
  std::set<const Op *> clones;
  std::map<const Value *, Value *> forwardOfClone;
};

void ScanGradient::addTape() {
  // Stack each carry as it enters step t: the body yields its argument.
  tapeResultBegin = scan.results.size();
  for (unsigned i = 0; i < scan.numCarries; ++i) {
    Value *carry = body.arguments[i].get();
    body.yields.push_back(carry);
    auto tape = std::make_unique<Value>();
    tape->type = carry->type.stackedType(scan.steps);
    tape->definingOp = &scan;
    tape->index = scan.results.size();
    tape->id = outer.function.nextId();
    tape->hint = "tape";
    scan.results.push_back(std::move(tape));
  }
}

void ScanGradient::collectOperands() {
  for (unsigned i = 0; i < scan.numCarries; ++i)
    if (isFloat(scan.operands[i]))
      floatCarries.push_back(i);
  for (unsigned i = 0; i < scan.numSequences; ++i)
    if (isFloat(scan.operands[scan.numCarries + i]))
      floatSequences.push_back(i);
  for (unsigned i = scan.numCarries; i < scan.results.size(); ++i)
    if (outer.cotangent(scan.result(i)))
      seededOutputs.push_back(i - scan.numCarries);

  unsigned captureStart = scan.numCarries + scan.numSequences;
  for (unsigned i = captureStart; i < scan.operands.size(); ++i)
    if (isFloat(scan.operands[i]))
      captures.push_back({body.arguments[i].get(), scan.operands[i]});

  // Outer values the body reads directly are captures too.
  std::set<const Value *> local, seen;
  for (const auto &argument : body.arguments)
    local.insert(argument.get());
  auto addImplicit = [&](const Value *value) {
    if (!local.count(value) && isFloat(value) && seen.insert(value).second)
      captures.push_back({value, value});
  };
  for (const auto &op : body.ops) {
    if (op->kind == OpKind::Scan)
      autodiffFailure("nested scans are not supported yet");
    for (const Value *operand : op->operands)
      addImplicit(operand);
    for (const auto &result : op->results)
      local.insert(result.get());
  }
  for (const Value *yield : body.yields)
    addImplicit(yield);
}

Op *ScanGradient::beginReverseScan() {
  std::vector<Value *> carries, sequences, forwardCaptures;
  std::vector<int64_t> offsets;
  for (unsigned i : floatCarries) {
    Value *final = outer.cotangent(scan.result(i));
    carries.push_back(final ? final : outer.zeros(scan.result(i)->type));
  }
  for (const Capture &capture : captures)
    carries.push_back(outer.zeros(capture.outer->type));

  for (unsigned i = 0; i < scan.numCarries; ++i) {
    sequences.push_back(scan.result(tapeResultBegin + i));
    offsets.push_back(0);
  }
  for (unsigned i = 0; i < scan.numSequences; ++i) {
    sequences.push_back(scan.operands[scan.numCarries + i]);
    offsets.push_back(scan.sequenceOffsets[i]);
  }
  for (unsigned i : seededOutputs) {
    sequences.push_back(outer.cotangent(scan.result(scan.numCarries + i)));
    offsets.push_back(0);
  }
  unsigned captureStart = scan.numCarries + scan.numSequences;
  forwardCaptures.assign(scan.operands.begin() + captureStart,
                         scan.operands.end());
  return outer.builder.beginScan(scan.steps, !scan.reverse, carries, sequences,
                                 offsets, forwardCaptures);
}

void ScanGradient::recomputeStep(Op &reverse, Differentiator &inner) {
  // Forward step t sees the taped carry, the same sequence elements and
  // the same captures; outer values map to themselves.
  Block &reverseBody = *reverse.body;
  for (unsigned i = 0; i < scan.numCarries; ++i)
    inner.mapPrimal(body.arguments[i].get(),
                    reverseBody.arguments[tapeBegin() + i].get());
  for (unsigned i = 0; i < scan.numSequences; ++i)
    inner.mapPrimal(body.arguments[scan.numCarries + i].get(),
                    reverseBody.arguments[sequenceBegin() + i].get());
  unsigned captureStart = scan.numCarries + scan.numSequences;
  for (unsigned i = 0; i < scan.numCaptures(); ++i)
    inner.mapPrimal(body.arguments[captureStart + i].get(),
                    reverseBody.arguments[captureBegin() + i].get());

  for (const auto &op : body.ops) {
    std::vector<Value *> operands;
    for (const Value *operand : op->operands)
      operands.push_back(inner.primal(operand));
    Op *clone = cloneOp(inner.builder, *op, operands);
    clones.insert(clone);
    for (unsigned i = 0; i < op->results.size(); ++i) {
      inner.mapPrimal(op->result(i), clone->result(i));
      forwardOfClone[clone->result(i)] = op->result(i);
    }
  }
}

void ScanGradient::differentiateStep(Op &reverse, Differentiator &inner) {
  Block &reverseBody = *reverse.body;
  auto argument = [&](unsigned i) { return reverseBody.arguments[i].get(); };

  // Seed step t: the cotangents of the carries leaving it and of its
  // per-step outputs; then the rules run backwards through the step.
  for (unsigned k = 0; k < floatCarries.size(); ++k)
    inner.accumulate(body.yields[floatCarries[k]], argument(k));
  for (unsigned k = 0; k < seededOutputs.size(); ++k)
    inner.accumulate(body.yields[scan.numCarries + seededOutputs[k]],
                     argument(seedBegin() + k));
  inner.differentiateBlock(body);

  auto cotangentOr0 = [&](const Value *forward) {
    Value *cotangent = inner.cotangent(forward);
    return cotangent ? cotangent : inner.zeros(forward->type);
  };
  std::vector<Value *> nextCarries, stepOutputs;
  for (unsigned i : floatCarries)
    nextCarries.push_back(cotangentOr0(body.arguments[i].get()));
  for (unsigned k = 0; k < captures.size(); ++k) {
    Value *sum = argument(accumulatorBegin() + k);
    if (Value *stepCotangent = inner.cotangent(captures[k].inner))
      sum = inner.builder.binary(OpKind::Add, sum, stepCotangent);
    nextCarries.push_back(sum);
  }
  for (unsigned i : floatSequences)
    stepOutputs.push_back(
        cotangentOr0(body.arguments[scan.numCarries + i].get()));
  outer.builder.finishScan(&reverse, nextCarries, stepOutputs);
}

void ScanGradient::propagateOutside(Op &reverse) {
  // x̄0 = the carry cotangent after the last reverse step; k̄ = Σ_t k̄_t.
  for (unsigned k = 0; k < floatCarries.size(); ++k)
    outer.accumulate(scan.operands[floatCarries[k]], reverse.result(k));
  for (unsigned k = 0; k < captures.size(); ++k)
    outer.accumulate(captures[k].outer, reverse.result(accumulatorBegin() + k));

  // Step t's element is step t + offset of the sequence; other steps of
  // the sequence get zeros.
  unsigned stackedBegin = floatCarries.size() + captures.size();
  for (unsigned k = 0; k < floatSequences.size(); ++k) {
    unsigned position = floatSequences[k];
    const Value *sequence = scan.operands[scan.numCarries + position];
    int64_t offset = scan.sequenceOffsets[position];
    Value *cotangent = reverse.result(stackedBegin + k);
    if (offset != 0 || sequence->type.steps != scan.steps)
      cotangent =
          outer.builder.streamPad(cotangent, offset, sequence->type.steps);
    outer.accumulate(sequence, cotangent);
  }
}

void ScanGradient::tapeActivations(Op &reverse) {
  // A recomputed value that a derivative op reads is stacked by the
  // forward scan and enters the reverse scan as a sequence at offset 0.
  Block &reverseBody = *reverse.body;
  std::map<const Value *, Value *> taped;
  auto tapedValue = [&](Value *&value) {
    auto forward = forwardOfClone.find(value);
    // Constants and index values (ops without operands) are cheaper to
    // recompute than to read back, and a reshape costs nothing.
    if (forward == forwardOfClone.end())
      return;
    const Op *definer = forward->second->definingOp;
    if (definer->operands.empty() || definer->kind == OpKind::Reshape)
      return;
    Value *&argument = taped[value];
    if (!argument) {
      Value *stacked = addStepOutput(outer.function, scan, forward->second);
      argument = addSequence(outer.function, reverse, stacked, 0);
    }
    value = argument;
  };
  for (const auto &op : reverseBody.ops)
    if (!clones.count(op.get()))
      for (Value *&operand : op->operands)
        tapedValue(operand);
  for (Value *&yield : reverseBody.yields)
    tapedValue(yield);
}

void ScanGradient::run() {
  collectOperands();
  // A scan the loss does not depend on needs no reverse scan.
  bool anySeed = !seededOutputs.empty();
  for (unsigned i : floatCarries)
    anySeed = anySeed || outer.cotangent(scan.result(i));
  if (!anySeed)
    return;

  addTape();
  Op *reverse = beginReverseScan();
  Differentiator inner(outer.function, *reverse->body);
  recomputeStep(*reverse, inner);
  differentiateStep(*reverse, inner);
  tapeActivations(*reverse);
  propagateOutside(*reverse);
}

} // namespace

// Scan: for t in reverse order, with h_t the taped carry entering step t,
// (h̄_t, x̄_t, k̄_t) = vjp(body at (h_t, x_t, k))(h̄_{t+1}, ō_t); the initial
// carry gets h̄_0, each sequence its x̄_t at step t + offset, and each capture
// Σ_t k̄_t.
void differentiateScan(const Op &scan, Differentiator &differentiator) {
  ScanGradient(scan, differentiator).run();
}

} // namespace weft::autodiff
