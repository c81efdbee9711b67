// Scans compiled to time loops, compared with the interpreter: carries,
// sequences at offsets 0 and +1, captures, stacked outputs, reverse and
// nested scans, permuted carries, and an Elman RNN over 5 steps.
#include "CodegenTestSupport.h"

namespace weft::codegen::testing {
namespace {

using ir::OpKind;
using ir::Type;
using ir::Value;

Type batched(std::vector<int64_t> shape, int64_t steps = 0) {
  return Type{std::move(shape), true, steps, ir::ElementType::Float};
}

struct Program {
  ir::Function function;
  ir::Builder builder{function, function.body};

  Program() { function.name = "scan_test"; }
  void output(const std::string &name, Value *value) {
    function.outputs.push_back({name, value});
  }
};

Value *argument(ir::Op *scan, unsigned i) {
  return scan->body->arguments[i].get();
}

/// h' = tanh(W x[t] + U h + y[t + 1]); yields h' as carry and stacked output,
/// and a second stacked output W x[t].
void buildRecurrence(Program &p, bool reverse) {
  ir::Builder &b = p.builder;
  Value *xs = b.input("xs", batched({2}, 5));
  Value *ys = b.input("ys", batched({3}, 6));
  Value *h0 = b.input("h0", batched({3}));
  Value *w = b.param("W", {3, 2});
  Value *u = b.param("U", {3, 3});
  ir::Op *scan = b.beginScan(5, reverse, {h0}, {xs, ys}, {0, 1}, {w, u});
  b.setBlock(*scan->body);
  Value *projected = b.matVec(argument(scan, 3), argument(scan, 1));
  Value *recurrent = b.matVec(argument(scan, 4), argument(scan, 0));
  Value *h =
      b.unary(OpKind::Tanh,
              b.binary(OpKind::Add, b.binary(OpKind::Add, projected, recurrent),
                       argument(scan, 2)));
  b.finishScan(scan, {h}, {h, projected});
  b.setBlock(p.function.body);
  p.output("h_last", scan->result(0));
  p.output("hs", scan->result(1));
  p.output("projections", scan->result(2));
}

using Scans = CodegenTest;

/// Einsums inside a body, where values are per step: a matrix-vector
/// product, a batched one, and an outer product summed over the batch.
TEST_P(Scans, EinsumInBody) {
  Program p;
  ir::Builder &b = p.builder;
  Value *xs = b.input("xs", batched({2}, 4));
  Value *h0 = b.input("h0", batched({3}));
  Value *w = b.param("W", {3, 2});
  ir::Op *scan = b.beginScan(4, false, {h0}, {xs}, {0}, {w});
  b.setBlock(*scan->body);
  Value *projected =
      b.einsum({argument(scan, 2), argument(scan, 1)}, {"ki", "Bi", "Bk"}, {3});
  Value *pairs = b.einsum({argument(scan, 0), argument(scan, 0)},
                          {"Bi", "Bj", "Bij"}, {3, 3});
  Value *mixed = b.einsum({pairs, argument(scan, 0)}, {"Bij", "Bj", "Bi"}, {3});
  Value *h = b.unary(OpKind::Tanh, b.binary(OpKind::Add, projected, mixed));
  Value *weights = b.einsum({h, argument(scan, 1)}, {"Bk", "Bi", "ki"}, {3, 2});
  b.finishScan(scan, {h}, {h, b.softmax(h), weights});
  b.setBlock(p.function.body);
  p.output("h_last", scan->result(0));
  p.output("hs", scan->result(1));
  p.output("probabilities", scan->result(2));
  p.output("weights", scan->result(3));
  check(p.function);
}

TEST_P(Scans, ForwardWithSequencesAndCaptures) {
  Program p;
  buildRecurrence(p, false);
  check(p.function);
}

TEST_P(Scans, Reverse) {
  Program p;
  buildRecurrence(p, true);
  check(p.function);
}

/// a' = b, b' = a: the carry update must not read an overwritten carry. The
/// carry argument `a` is also a stacked output, and c never changes.
TEST_P(Scans, PermutedAndUnchangedCarries) {
  Program p;
  ir::Builder &b = p.builder;
  Value *a0 = b.input("a", batched({2}));
  Value *b0 = b.input("b", batched({2}));
  Value *c0 = b.param("c", {2});
  Value *xs = b.input("xs", batched({2}, 3));
  ir::Op *scan = b.beginScan(3, false, {a0, b0, c0}, {xs}, {0}, {});
  b.setBlock(*scan->body);
  Value *sum = b.binary(OpKind::Add, argument(scan, 0), argument(scan, 3));
  b.finishScan(scan, {argument(scan, 1), argument(scan, 0), argument(scan, 2)},
               {argument(scan, 0), sum, argument(scan, 2)});
  b.setBlock(p.function.body);
  for (unsigned i = 0; i < scan->results.size(); ++i)
    p.output("r" + std::to_string(i), scan->result(i));
  check(p.function);
}

/// An unbatched carry accumulates outer products over the steps; the body
/// also uses an outer value without capturing it.
TEST_P(Scans, UnbatchedAccumulatorCarry) {
  Program p;
  ir::Builder &b = p.builder;
  Value *xs = b.input("xs", batched({2}, 4));
  Value *gs = b.input("gs", batched({3}, 4));
  Value *scale = b.param("scale", {3, 2});
  Value *zero = b.constant(0.0, {3, 2});
  ir::Op *scan = b.beginScan(4, true, {zero}, {gs, xs}, {0, 0}, {});
  b.setBlock(*scan->body);
  Value *product = b.outerSum(argument(scan, 1), argument(scan, 2));
  Value *next = b.binary(OpKind::Add, argument(scan, 0),
                         b.binary(OpKind::Mul, product, scale));
  b.finishScan(scan, {next}, {b.sumAll(product)});
  b.setBlock(p.function.body);
  p.output("accumulated", scan->result(0));
  p.output("sums", scan->result(1));
  check(p.function);
}

/// An inner scan over a stream built in the outer body; the inner final
/// carry is the outer step's carry and stacked output.
TEST_P(Scans, Nested) {
  Program p;
  ir::Builder &b = p.builder;
  Value *xs = b.input("xs", batched({2}, 3));
  Value *h0 = b.input("h0", batched({2}));
  Value *w = b.param("W", {2, 2});
  ir::Op *outer = b.beginScan(3, false, {h0}, {xs}, {0}, {w});
  b.setBlock(*outer->body);
  Value *repeated = b.streamFill(argument(outer, 1), 2);
  ir::Op *inner =
      b.beginScan(2, false, {argument(outer, 0)}, {repeated}, {0}, {});
  b.setBlock(*inner->body);
  Value *h = b.unary(OpKind::Tanh,
                     b.binary(OpKind::Add, b.matVec(w, argument(inner, 0)),
                              argument(inner, 1)));
  b.finishScan(inner, {h}, {h});
  b.setBlock(*outer->body);
  b.finishScan(outer, {inner->result(0)},
               {inner->result(0), b.sumSteps(inner->result(1))});
  b.setBlock(p.function.body);
  p.output("h_last", outer->result(0));
  p.output("hs", outer->result(1));
  p.output("sums", outer->result(2));
  check(p.function);
}

/// Embeddings looked up inside the loop from an int sequence.
TEST_P(Scans, GatherInsideTheLoop) {
  Program p;
  ir::Builder &b = p.builder;
  Value *tokens = b.input("tokens", Type{{}, true, 4, ir::ElementType::Int});
  Value *table = b.param("table", {5, 3});
  Value *h0 = b.broadcastBatch(b.constant(0.0, {3}), false);
  ir::Op *scan = b.beginScan(4, false, {h0}, {tokens}, {0}, {table});
  b.setBlock(*scan->body);
  Value *embedded = b.gather(argument(scan, 2), argument(scan, 1));
  Value *h = b.unary(OpKind::Sigmoid,
                     b.binary(OpKind::Add, embedded, argument(scan, 0)));
  b.finishScan(scan, {h}, {argument(scan, 1)});
  b.setBlock(p.function.body);
  p.output("h_last", scan->result(0));
  p.output("tokens_again", scan->result(1));
  check(p.function, 5);
}

WEFT_CODEGEN_TEST_SUITE(Scans);

/// An Elman RNN over 5 steps with a cross-entropy loss at every step:
/// h[t] = tanh(W_ih x[t] + W_hh h[t-1] + b_h), logits = W_ho h[t] + b_o.
void buildElman(Program &p) {
  ir::Builder &b = p.builder;
  Value *xs = b.input("x", batched({3}, 5));
  Value *targets = b.input("target", Type{{}, true, 5, ir::ElementType::Int});
  Value *wIh = b.param("W_ih", {4, 3});
  Value *wHh = b.param("W_hh", {4, 4});
  Value *bH = b.param("b_h", {4});
  Value *wHo = b.param("W_ho", {5, 4});
  Value *bO = b.param("b_o", {5});
  Value *h0 = b.broadcastBatch(b.constant(0.0, {4}), false);
  ir::Op *scan = b.beginScan(5, false, {h0}, {xs, targets}, {0, 0},
                             {wIh, wHh, bH, wHo, bO});
  b.setBlock(*scan->body);
  auto arg = [&](unsigned i) { return argument(scan, i); };
  Value *preactivation = b.binary(
      OpKind::Add,
      b.binary(OpKind::Add, b.matVec(arg(3), arg(1)), b.matVec(arg(4), arg(0))),
      arg(5));
  Value *h = b.unary(OpKind::Tanh, preactivation);
  Value *logits = b.binary(OpKind::Add, b.matVec(arg(6), h), arg(7));
  b.finishScan(scan, {h}, {logits, b.crossEntropy(logits, arg(2))});
  b.setBlock(p.function.body);
  p.output("logits", scan->result(1));
  p.output("h_last", scan->result(0));
  p.output("loss", b.sumBatch(b.sumSteps(scan->result(2)), true));
}

using Elman = CodegenTest;

TEST_P(Elman, FiveStepsMatchTheInterpreter) {
  Program p;
  buildElman(p);
  check(p.function, 5);
}

WEFT_CODEGEN_TEST_SUITE(Elman);

} // namespace
} // namespace weft::codegen::testing
