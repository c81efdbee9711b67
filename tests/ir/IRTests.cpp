// Tests of the tensor IR's type rules, printer and verifier, on functions
// built with the Builder.
#include "compiler/ir/IR.h"

#include <gtest/gtest.h>

using namespace weft::ir;

namespace {

/// A batched float value of `shape`, optionally a stream of `steps`.
Type batchedType(std::vector<int64_t> shape, int64_t steps = 0) {
  return Type{std::move(shape), true, steps, ElementType::Float};
}

/// An Elman step over a stream: h' = tanh(W h + U x), stacking h'.
Op *buildElmanScan(Function &function, Builder &builder) {
  Value *w = builder.param("W", {3, 3});
  Value *u = builder.param("U", {3, 2});
  Value *xs = builder.input("xs", batchedType({2}, 5));
  Value *h0 = builder.broadcastBatch(builder.constant(0, {3}), false);
  Op *scan = builder.beginScan(4, false, {h0}, {xs}, {1}, {w, u});
  Block &body = *scan->body;
  builder.setBlock(body);
  Value *h = body.arguments[0].get();
  Value *x = body.arguments[1].get();
  Value *recurrent = builder.matVec(body.arguments[2].get(), h);
  Value *sum = builder.binary(OpKind::Add, recurrent,
                              builder.matVec(body.arguments[3].get(), x));
  Value *next = builder.unary(OpKind::Tanh, sum);
  next->hint = "h";
  builder.setBlock(function.body);
  builder.finishScan(scan, {next}, {next});
  return scan;
}

TEST(TypeTest, HelpersAndPrinting) {
  Type stream = batchedType({3, 4}, 5);
  EXPECT_EQ(stream.elementCount(), 12);
  EXPECT_TRUE(stream.isStream());
  EXPECT_EQ(toString(stream), "f[T=5][3,4]b");
  EXPECT_EQ(toString(stream.stepType()), "f[3,4]b");
  EXPECT_EQ(stream.stepType().stackedType(5), stream);
  EXPECT_EQ(toString(Type{{}, false, 0, ElementType::Int}), "i[]");
  EXPECT_TRUE(Type{}.isScalar());
}

TEST(BuilderTest, ElementwiseBroadcastsScalarsBatchAndSteps) {
  Function function;
  Builder builder(function, function.body);
  Value *x = builder.input("x", batchedType({3}, 4));
  Value *scale = builder.constant(2);
  Value *bias = builder.param("b", {3});
  Value *scaled = builder.binary(OpKind::Mul, scale, x);
  Value *shifted = builder.binary(OpKind::Add, scaled, bias);
  EXPECT_EQ(shifted->type, batchedType({3}, 4));
  Value *unbatched = builder.binary(OpKind::Sub, bias, scale);
  EXPECT_EQ(unbatched->type, (Type{{3}, false, 0, ElementType::Float}));
  EXPECT_EQ(verify(function), "");
}

TEST(BuilderTest, ResultTypesOfShapeOps) {
  Function function;
  Builder builder(function, function.body);
  Value *a = builder.param("A", {4, 3});
  Value *x = builder.input("x", batchedType({3}));
  Value *ids = builder.input("ids", Type{{}, true, 6, ElementType::Int});
  EXPECT_EQ(builder.matVec(a, x)->type, batchedType({4}));
  Value *y = builder.matVec(a, builder.matVec(a, x), true);
  EXPECT_EQ(y->type, batchedType({3}));
  EXPECT_EQ(builder.outerSum(y, x)->type.shape, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(builder.slice(x, 1, 3)->type, batchedType({2}));
  EXPECT_EQ(builder.padSlice(x, 2, 7)->type, batchedType({7}));
  Value *embedded = builder.gather(a, ids);
  EXPECT_EQ(embedded->type, batchedType({3}, 6));
  EXPECT_EQ(builder.scatterAddRows(embedded, ids, 4)->type,
            (Type{{4, 3}, false, 0, ElementType::Float}));
  EXPECT_EQ(builder.sumSteps(embedded)->type, batchedType({3}));
  EXPECT_EQ(builder.streamAt(embedded, 5)->type, batchedType({3}));
  EXPECT_EQ(builder.streamSlice(embedded, 1, 3)->type, batchedType({3}, 2));
  EXPECT_EQ(builder.streamPad(embedded, 2, 9)->type, batchedType({3}, 9));
  EXPECT_EQ(builder.streamPlace(x, 1, 3)->type, batchedType({3}, 3));
  EXPECT_EQ(builder.sumAll(x)->type, batchedType({}));
  EXPECT_EQ(builder.fill(builder.sumAll(x), {2, 2})->type, batchedType({2, 2}));
  Value *target = builder.streamAt(ids, 0);
  EXPECT_EQ(builder.crossEntropy(builder.matVec(a, x), target)->type,
            batchedType({}));
  EXPECT_EQ(verify(function), "");
}

TEST(BuilderDeathTest, MismatchedShapesAbort) {
  Function function;
  Builder builder(function, function.body);
  Value *a = builder.param("A", {4, 3});
  Value *x = builder.input("x", batchedType({4}));
  EXPECT_DEATH(builder.matVec(a, x), "matvec inner sizes differ");
  EXPECT_DEATH(builder.binary(OpKind::Add, a, x), "shapes differ");
  EXPECT_DEATH(builder.slice(x, 2, 5), "out of range");
}

TEST(BuilderTest, ResultTypesOfNewElementwiseOps) {
  Function function;
  Builder builder(function, function.body);
  Value *x = builder.input("x", batchedType({3}, 4));
  Value *w = builder.param("w", {3});
  Value *ids = builder.input("ids", Type{{3}, true, 0, ElementType::Int});
  EXPECT_EQ(builder.unary(OpKind::Sqrt, w)->type,
            (Type{{3}, false, 0, ElementType::Float}));
  EXPECT_EQ(builder.binary(OpKind::Pow, x, w)->type, batchedType({3}, 4));
  Value *kept = builder.binary(OpKind::NotEqual, ids, builder.constant(0));
  EXPECT_EQ(kept->type, batchedType({3}));
  EXPECT_EQ(builder.where(kept, w, builder.constant(0))->type,
            batchedType({3}));
  EXPECT_EQ(verify(function), "");
}

TEST(BuilderTest, EinsumResultTypes) {
  Function function;
  Builder builder(function, function.body);
  Value *w = builder.param("W", {4, 3});
  Value *x = builder.input("x", batchedType({3}));
  Value *xs = builder.input("xs", batchedType({3}, 5));
  EXPECT_EQ(builder.einsum({w, x}, {"ki", "Bi", "Bk"}, {4})->type,
            batchedType({4}));
  EXPECT_EQ(builder.einsum({xs, xs}, {"TBk", "TBi", "ki"}, {3, 3})->type,
            (Type{{3, 3}, false, 0, ElementType::Float}));
  Value *matrix = builder.einsum({xs}, {"TBh", "BTh"}, {5, 3});
  EXPECT_EQ(matrix->type, batchedType({5, 3}));
  EXPECT_EQ(builder.einsum({matrix}, {"BTh", "TBh"}, {3}, 5)->type,
            batchedType({3}, 5));
  EXPECT_EQ(builder.einsum({x}, {"Bk", "Bks"}, {3, 2})->type,
            batchedType({3, 2}));
  EXPECT_EQ(verify(function), "");
}

TEST(BuilderTest, ResultTypesOfShapeAndRowOps) {
  Function function;
  Builder builder(function, function.body);
  Value *x = builder.input("x", batchedType({2, 5, 3}));
  Value *table = builder.param("E", {6, 4});
  Value *ids = builder.input("ids", Type{{2, 5}, true, 3, ElementType::Int});
  EXPECT_EQ(builder.slice(x, 1, 4, 1)->type, batchedType({2, 3, 3}));
  EXPECT_EQ(builder.padSlice(x, 1, 7, 2)->type, batchedType({2, 5, 7}));
  EXPECT_EQ(builder.reshape(x, {10, 3})->type, batchedType({10, 3}));
  Value *embedded = builder.gather(table, ids);
  EXPECT_EQ(embedded->type, batchedType({2, 5, 4}, 3));
  EXPECT_EQ(builder.scatterAddRows(embedded, ids, 6)->type,
            (Type{{6, 4}, false, 0, ElementType::Float}));
  Value *mask = builder.param("mask", {2, 5, 3});
  EXPECT_EQ(builder.softmax(x, mask)->type, batchedType({2, 5, 3}));
  EXPECT_EQ(builder.logSoftmax(x)->type, batchedType({2, 5, 3}));
  EXPECT_EQ(builder.maxLast(x)->type, batchedType({2, 5}));
  Value *targets = builder.streamAt(ids, 0);
  EXPECT_EQ(builder.crossEntropy(x, targets)->type, batchedType({2, 5}));
  EXPECT_EQ(verify(function), "");
}

TEST(BuilderDeathTest, BrokenNewOpsAbort) {
  Function function;
  Builder builder(function, function.body);
  Value *w = builder.param("W", {4, 3});
  Value *x = builder.input("x", batchedType({3}));
  Value *ids = builder.input("ids", Type{{}, true, 0, ElementType::Int});
  EXPECT_DEATH(builder.einsum({w, x}, {"ki", "Bk", "Bk"}, {4}),
               "label `k` has size 3 in the operand 1 but 4 elsewhere");
  EXPECT_DEATH(builder.einsum({w, x}, {"ki", "i", "k"}, {4}),
               "labels `i` name 1 axes, but its type f.3.b has 2");
  EXPECT_DEATH(builder.einsum({w, x}, {"kB", "Bi", "Bk"}, {4}),
               "`B` must label the batch axis and only it");
  EXPECT_DEATH(builder.einsum({w}, {"kk", "k"}, {4}), "repeat `k`");
  EXPECT_DEATH(builder.einsum({w}, {"ki"}, {4}), "needs 2 label strings");
  EXPECT_DEATH(builder.slice(w, 0, 2, 2), "slice axis 2 outside");
  EXPECT_DEATH(builder.reshape(w, {5, 2}),
               "reshape of .4,3. .12 elements. to .5,2.");
  EXPECT_DEATH(builder.binary(OpKind::Add, ids, x), "not float");
  EXPECT_DEATH(builder.softmax(w, x), "softmax mask must be float");
  EXPECT_DEATH(builder.maxLast(builder.constant(1)), "rank >= 1");
  EXPECT_DEATH(builder.unary(OpKind::Where, x), "not a unary op");
}

TEST(BuilderDeathTest, ShortScanSequenceAborts) {
  Function function;
  Builder builder(function, function.body);
  Value *xs = builder.input("xs", batchedType({2}, 4));
  EXPECT_DEATH(builder.beginScan(4, false, {}, {xs}, {1}, {}), "too short");
}

TEST(ScanTest, BodyArgumentsAndResultsAreTyped) {
  Function function;
  Builder builder(function, function.body);
  Op *scan = buildElmanScan(function, builder);
  ASSERT_EQ(scan->body->arguments.size(), 4u);
  EXPECT_EQ(scan->body->arguments[1]->type, batchedType({2}));
  EXPECT_EQ(scan->result(0)->type, batchedType({3}));
  EXPECT_EQ(scan->result(1)->type, batchedType({3}, 4));
  EXPECT_EQ(scan->numCaptures(), 2u);
  EXPECT_EQ(verify(function), "");
}

TEST(PrintTest, StableTextForm) {
  Function function;
  function.name = "elman";
  Builder builder(function, function.body);
  Op *scan = buildElmanScan(function, builder);
  function.outputs.push_back({"hs", scan->result(1)});
  EXPECT_EQ(print(function), R"(func @elman {
  %0:f[3,3] = param "W" shape=[3,3]
  %1:f[3,2] = param "U" shape=[3,2]
  %2:f[T=5][2]b = input "xs"
  %3:f[3] = constant 0 shape=[3]
  %4:f[3]b = broadcast_batch %3
  %13:f[3]b, %14:f[T=4][3]b = scan steps=4 carries(%4) seqs(%2+1) captures(%0, %1) {
    ^(%5:f[3]b, %6:f[2]b, %7:f[3,3], %8:f[3,2]):
    %9:f[3]b = matvec %7, %5
    %10:f[3]b = matvec %8, %6
    %11:f[3]b = add %9, %10
    %12:f[3]b = tanh %11  // h
    yield %12, %12
  }  // h
  output "hs" = %14
}
)");
}

TEST(PrintTest, NewOpAttributes) {
  Function function;
  function.name = "attributes";
  Builder builder(function, function.body);
  Value *w = builder.param("W", {4, 3});
  Value *x = builder.input("x", batchedType({3}));
  function.outputs.push_back(
      {"y", builder.einsum({w, x}, {"ki", "Bi", "Bk"}, {4})});
  function.outputs.push_back({"s", builder.slice(w, 1, 2, 1)});
  function.outputs.push_back({"r", builder.reshape(w, {12})});
  EXPECT_EQ(print(function), R"(func @attributes {
  %0:f[4,3] = param "W" shape=[4,3]
  %1:f[3]b = input "x"
  %2:f[4]b = einsum %0, %1 "ki,Bi->Bk" shape=[4]
  %3:f[4,1] = slice %0 begin=1 end=2 axis=1
  %4:f[12] = reshape %0 shape=[12]
  output "y" = %2
  output "s" = %3
  output "r" = %4
}
)");
}

TEST(VerifyTest, ReportsBrokenEinsum) {
  Function function;
  Builder builder(function, function.body);
  Value *x = builder.input("x", batchedType({3}));
  Value *y = builder.einsum({x}, {"Bi", "i"}, {3});
  y->definingOp->labels[1] = "j";
  y->definingOp->shape = {2};
  y->type.shape = {2};
  EXPECT_EQ(verify(function), "");
  y->definingOp->labels[1] = "i";
  EXPECT_EQ(verify(function),
            "einsum label `i` has size 2 in the result but 3 elsewhere");
}

TEST(VerifyTest, ReportsUseOutsideItsBlock) {
  Function function;
  Builder builder(function, function.body);
  Op *scan = buildElmanScan(function, builder);
  Value *inner = scan->body->ops.back()->result();
  builder.unary(OpKind::Neg, inner);
  EXPECT_NE(verify(function).find("outside its definition"), std::string::npos);
}

TEST(VerifyTest, ReportsWrongResultType) {
  Function function;
  Builder builder(function, function.body);
  Value *x = builder.input("x", batchedType({3}));
  Value *y = builder.unary(OpKind::Exp, x);
  y->type.shape = {4};
  EXPECT_NE(verify(function).find("expected f[3]b"), std::string::npos);
}

TEST(VerifyTest, ReportsWrongOperandCount) {
  Function function;
  Builder builder(function, function.body);
  Value *x = builder.input("x", batchedType({3}));
  builder.create(OpKind::Add, {x}, {x->type});
  EXPECT_EQ(verify(function), "add takes 2 operands, not 1");
}

TEST(BuilderTest, IotaIsAnUnbatchedFloatOfItsLayout) {
  Function function;
  Builder builder(function, function.body);
  Type unbatched{{5}, false, 0, ElementType::Float};
  EXPECT_EQ(builder.iota({5}, 0)->type, unbatched);
  EXPECT_EQ(builder.iota({3, 4}, 1)->type,
            (Type{{3, 4}, false, 0, ElementType::Float}));
  // With steps, axis 0 is the steps axis and the shape's axes follow.
  EXPECT_EQ(builder.iota({}, 0, 7)->type,
            (Type{{}, false, 7, ElementType::Float}));
  EXPECT_EQ(builder.iota({2}, 1, 3)->type,
            (Type{{2}, false, 3, ElementType::Float}));
  EXPECT_EQ(verify(function), "");
}

TEST(BuilderDeathTest, IotaOutsideItsLayoutAborts) {
  Function function;
  Builder builder(function, function.body);
  EXPECT_DEATH(builder.iota({3}, 1), "iota axis 1 outside a layout of 1 axes");
  EXPECT_DEATH(builder.iota({}, 0), "iota axis 0 outside a layout of 0 axes");
  EXPECT_DEATH(builder.iota({3}, 2, 4),
               "iota axis 2 outside a layout of 2 axes");
  EXPECT_DEATH(builder.iota({3}, 0, -1), "iota steps must not be negative");
  EXPECT_DEATH(builder.iota({0}, 0), "iota dimensions must be positive");
}

TEST(PrintTest, IotaAttributes) {
  Function function;
  function.name = "iota";
  Builder builder(function, function.body);
  function.outputs.push_back({"rows", builder.iota({3, 4}, 1)});
  function.outputs.push_back({"t", builder.iota({}, 0, 7)});
  EXPECT_EQ(print(function), R"(func @iota {
  %0:f[3,4] = iota axis=1 shape=[3,4]
  %1:f[T=7][] = iota axis=0 shape=[] steps=7
  output "rows" = %0
  output "t" = %1
}
)");
}

TEST(VerifyTest, ReportsIotaAxisOutsideItsLayout) {
  Function function;
  Builder builder(function, function.body);
  Value *iota = builder.iota({2}, 1, 3);
  EXPECT_EQ(verify(function), "");
  iota->definingOp->steps = 0;
  EXPECT_EQ(verify(function), "iota axis 1 outside a layout of 1 axes");
  iota->definingOp->axis = 0;
  EXPECT_EQ(verify(function), "%0 = iota has type f[T=3][2], expected f[2]");
}

} // namespace
