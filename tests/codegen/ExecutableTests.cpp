// The Executable and Instance API: the buffer table, lookups by name, the
// printed lowered program and LLVM module, outputs that alias other values,
// and re-running a step.
#include "CodegenTestSupport.h"
#include "runtime/Threads.h"

#include <gmock/gmock.h>

namespace weft::codegen::testing {
namespace {

using ir::OpKind;
using ir::Type;
using ir::Value;
using ::testing::HasSubstr;

Type batched(std::vector<int64_t> shape, int64_t steps = 0) {
  return Type{std::move(shape), true, steps, ir::ElementType::Float};
}

/// An Elman-style recurrence with accumulations in the loop and after it:
/// scatter-adds, outer sums, sums over steps and batch.
void buildAccumulating(ir::Function &function) {
  function.name = "accumulating";
  ir::Builder b(function, function.body);
  Value *tokens = b.input("tokens", Type{{}, true, 4, ir::ElementType::Int});
  Value *table = b.param("table", {6, 3});
  Value *w = b.param("W", {3, 3});
  Value *h0 = b.broadcastBatch(b.constant(0.0, {3}), false);
  Value *zero = b.constant(0.0, {3, 3});
  ir::Op *scan = b.beginScan(4, false, {h0, zero}, {tokens}, {0}, {});
  b.setBlock(*scan->body);
  Value *h = scan->body->arguments[0].get();
  Value *embedded = b.gather(table, scan->body->arguments[2].get());
  Value *next =
      b.unary(OpKind::Tanh, b.binary(OpKind::Add, b.matVec(w, h), embedded));
  Value *accumulated = b.binary(OpKind::Add, scan->body->arguments[1].get(),
                                b.outerSum(next, h));
  b.finishScan(scan, {next, accumulated}, {next});
  b.setBlock(function.body);
  Value *hs = scan->result(2);
  function.outputs.push_back({"grad_W", scan->result(1)});
  function.outputs.push_back({"grad_table", b.scatterAddRows(hs, tokens, 6)});
  function.outputs.push_back(
      {"loss", b.sumBatch(b.sumAll(b.sumSteps(hs)), true)});
}

std::unique_ptr<Executable> compileOrFail(const ir::Function &function,
                                          FloatType type) {
  EXPECT_EQ(ir::verify(function), "");
  std::string error;
  auto executable = Executable::compile(function, {type, 2}, &error);
  EXPECT_TRUE(executable) << error;
  return executable;
}

TEST(Executable, BufferTableAndLookups) {
  ir::Function function;
  buildAccumulating(function);
  auto executable = compileOrFail(function, FloatType::F32);
  ASSERT_TRUE(executable);
  const std::vector<BufferSpec> &buffers = executable->buffers();
  ASSERT_GE(buffers.size(), 6u);
  EXPECT_EQ(buffers[0].name, "table");
  EXPECT_EQ(buffers[0].role, BufferRole::Param);
  EXPECT_EQ(buffers[2].name, "tokens");
  EXPECT_EQ(buffers[2].role, BufferRole::Input);
  EXPECT_TRUE(buffers[2].isInt);
  EXPECT_EQ(buffers[2].elementsPerExample, 4);

  Instance instance(*executable, 3);
  EXPECT_NE(instance.buffer("W"), nullptr);
  EXPECT_NE(instance.buffer("grad_table"), nullptr);
  EXPECT_EQ(instance.buffer("no_such_buffer"), nullptr);
  EXPECT_EQ(instance.elements("tokens"), 12);
  EXPECT_EQ(instance.elements("grad_W"), 9);
  EXPECT_EQ(instance.elements("loss"), 1);
  EXPECT_EQ(instance.elements("no_such_buffer"), -1);
}

/// Matrix products written as einsums become GEMMs; other einsums become a
/// loop nest that sums over the labels the result lacks.
TEST(Executable, EinsumMatrixProductsBecomeGemms) {
  ir::Function function;
  function.name = "einsums";
  ir::Builder b(function, function.body);
  Value *w = b.param("W", {4, 3});
  Value *x = b.input("x", batched({3}));
  Value *gs = b.input("gs", batched({4}, 5));
  Value *xs = b.input("xs", batched({3}, 5));
  function.outputs.push_back(
      {"matvec", b.einsum({w, x}, {"ki", "Bi", "Bk"}, {4})});
  function.outputs.push_back(
      {"weights", b.einsum({gs, xs}, {"TBk", "TBi", "ki"}, {4, 3})});
  function.outputs.push_back(
      {"row_sums", b.einsum({xs}, {"TBi", "TB"}, {}, 5)});
  auto executable = compileOrFail(function, FloatType::F64);
  ASSERT_TRUE(executable);
  std::string lowered = executable->loweredText();
  EXPECT_THAT(lowered, HasSubstr("gemm einsum m=b n=4 k=3: #4[0] ld=4 = 1 * "
                                 "#1[0] ld=3 * #0[0]^T ld=3"));
  EXPECT_THAT(lowered, HasSubstr("gemm einsum m=4 n=3 k=5b: #5[0] ld=3 = 1 * "
                                 "#2[0]^T ld=4 * #3[0] ld=3"));
  EXPECT_THAT(lowered, HasSubstr("elementwise einsum [5, b] sum over [3]"));
}

TEST(Executable, PrintsLoweredProgramAndLlvmModule) {
  ir::Function function;
  buildAccumulating(function);
  auto executable = compileOrFail(function, FloatType::F64);
  ASSERT_TRUE(executable);
  std::string lowered = executable->loweredText();
  EXPECT_THAT(lowered, HasSubstr("time_loop t0 in [0, 4)"));
  EXPECT_THAT(lowered, HasSubstr("gemm matvec"));
  EXPECT_THAT(lowered, HasSubstr("elementwise add+tanh"));
  EXPECT_THAT(lowered, HasSubstr("scatter_add_rows"));
  std::string llvm = executable->llvmText();
  EXPECT_THAT(llvm, HasSubstr("define void @weft_step(ptr"));
  EXPECT_THAT(llvm, HasSubstr("@weft_dgemm"));
}

/// Accumulators are re-zeroed by the generated code: a second run on the
/// same buffers matches the interpreter too.
TEST(Executable, RunningTwiceGivesTheSameResults) {
  ir::Function function;
  buildAccumulating(function);
  for (FloatType type : {FloatType::F32, FloatType::F64}) {
    auto executable = compileOrFail(function, type);
    ASSERT_TRUE(executable);
    RunData data = makeRunData(function, 3, 6);
    ir::BufferMap expected =
        ir::evaluate(function, 3, data.params, data.inputs);
    ir::BufferMap once = runCompiled(*executable, 3, data, 1);
    ir::BufferMap twice = runCompiled(*executable, 3, data, 2);
    EXPECT_EQ(once, twice);
    expectClose(expected, twice, type == FloatType::F64 ? 1e-12 : 1e-5);
  }
}

TEST(Executable, SameInstanceRunTwice) {
  ir::Function function;
  buildAccumulating(function);
  auto executable = compileOrFail(function, FloatType::F64);
  ASSERT_TRUE(executable);
  Instance instance(*executable, 2);
  auto *tokens = static_cast<int64_t *>(instance.buffer("tokens"));
  for (int64_t i = 0; i < instance.elements("tokens"); ++i)
    tokens[i] = (i * 5 + 1) % 6;
  auto *table = static_cast<double *>(instance.buffer("table"));
  for (int64_t i = 0; i < instance.elements("table"); ++i)
    table[i] = 0.1 * (i % 7) - 0.3;
  auto *w = static_cast<double *>(instance.buffer("W"));
  for (int64_t i = 0; i < instance.elements("W"); ++i)
    w[i] = 0.05 * i - 0.2;
  auto snapshot = [&](const std::string &name) {
    auto *data = static_cast<double *>(instance.buffer(name));
    return std::vector<double>(data, data + instance.elements(name));
  };
  instance.run();
  std::vector<double> gradW = snapshot("grad_W");
  std::vector<double> gradTable = snapshot("grad_table");
  double loss = snapshot("loss")[0];
  instance.run();
  EXPECT_EQ(snapshot("grad_W"), gradW);
  EXPECT_EQ(snapshot("grad_table"), gradTable);
  EXPECT_EQ(snapshot("loss")[0], loss);
}

TEST(Executable, EveryOptimisationLevelMatchesTheInterpreter) {
  ir::Function function;
  buildAccumulating(function);
  RunData data = makeRunData(function, 2, 6);
  ir::BufferMap expected = ir::evaluate(function, 2, data.params, data.inputs);
  for (int level = 0; level <= 3; ++level) {
    std::string error;
    auto executable =
        Executable::compile(function, {FloatType::F64, level}, &error);
    ASSERT_TRUE(executable) << error;
    expectClose(expected, runCompiled(*executable, 2, data), 1e-12);
  }
}

/// Kernels big enough to be split between threads (elementwise chains, row
/// kernels, sums, gathers, products inside and outside a time loop) give
/// the interpreter's values on two and three threads as on one.
TEST(Executable, SplitKernelsMatchTheInterpreter) {
  ir::Function function;
  ir::Builder b(function, function.body);
  const int64_t steps = 3, width = 96, vocabulary = 40;
  Value *xs = b.input("xs", batched({width}, steps));
  Value *ids = b.input("ids", Type{{8}, true, 0, ir::ElementType::Int});
  Value *w = b.param("W", {width, width});
  Value *table = b.param("table", {vocabulary, width});
  Value *h0 = b.broadcastBatch(b.constant(0.0, {width}), false);
  ir::Op *scan = b.beginScan(steps, false, {h0}, {xs}, {0}, {});
  b.setBlock(*scan->body);
  Value *h = scan->body->arguments[0].get();
  Value *next = b.unary(OpKind::Tanh, b.binary(OpKind::Add, b.matVec(w, h),
                                               scan->body->arguments[1].get()));
  b.finishScan(scan, {next}, {b.softmax(next)});
  b.setBlock(function.body);
  Value *rows = b.gather(table, ids);
  function.outputs.push_back({"probabilities", scan->result(1)});
  function.outputs.push_back({"rows", b.unary(OpKind::Exp, rows)});
  function.outputs.push_back(
      {"loss", b.sumBatch(b.sumAll(b.sumSteps(scan->result(1))), false)});
  const int64_t batch = 64;
  RunData data = makeRunData(function, batch, vocabulary);
  ir::BufferMap expected =
      ir::evaluate(function, batch, data.params, data.inputs);
  auto executable = compileOrFail(function, FloatType::F64);
  ASSERT_TRUE(executable);
  for (int threads : {1, 2, 3}) {
    runtime::setComputeThreads(threads);
    expectClose(expected, runCompiled(*executable, batch, data), 1e-12);
  }
  runtime::setComputeThreads(1);
}

/// A chain of single-use elementwise ops becomes one kernel; a value with
/// two users is computed once, in its own kernel.
TEST(Executable, FusesElementwiseChains) {
  ir::Function function;
  function.name = "fusion";
  ir::Builder b(function, function.body);
  Value *x = b.input("x", batched({4}));
  Value *w = b.param("w", {4});
  Value *shared = b.unary(OpKind::Exp, x);
  Value *chain =
      b.unary(OpKind::Sigmoid,
              b.binary(OpKind::Mul, b.binary(OpKind::Add, shared, w), shared));
  function.outputs = {{"y", chain}};
  auto executable = compileOrFail(function, FloatType::F32);
  ASSERT_TRUE(executable);
  std::string lowered = executable->loweredText();
  EXPECT_THAT(lowered, HasSubstr("elementwise exp [b, 4]"));
  EXPECT_THAT(lowered, HasSubstr("elementwise add+mul+sigmoid [b, 4]"));
  size_t kernels = 0;
  for (size_t at = lowered.find("elementwise"); at != std::string::npos;
       at = lowered.find("elementwise", at + 1))
    ++kernels;
  EXPECT_EQ(kernels, 2u);
  // The two kernels run over the same points, one after the other at each.
  EXPECT_THAT(lowered, HasSubstr("group [b, 4] {"));
}

/// Kernels over the same points share a loop nest only while each reads
/// what the group wrote at its own point: a value read broadcast, or a
/// reduction in between, starts a new group. Either way the results are
/// the interpreter's.
TEST(Executable, GroupsKernelsOverTheSamePoints) {
  ir::Function function;
  function.name = "groups";
  ir::Builder b(function, function.body);
  Value *x = b.input("x", batched({6}));
  Value *shared = b.unary(OpKind::Tanh, x);
  Value *doubled = b.binary(OpKind::Mul, shared, b.constant(2.0));
  Value *total = b.sumAll(doubled); // a reduction ends the group
  Value *scaled = b.binary(OpKind::Mul, shared, total);
  function.outputs = {{"doubled", doubled},
                      {"scaled", b.unary(OpKind::Exp, scaled)},
                      {"shared", shared}};
  auto executable = compileOrFail(function, FloatType::F64);
  ASSERT_TRUE(executable);
  std::string lowered = executable->loweredText();
  EXPECT_THAT(lowered, HasSubstr("group [b, 6] {"));
  EXPECT_THAT(lowered, HasSubstr("reduce sum_all"));
  EXPECT_THAT(lowered, HasSubstr("}\n  reduce sum_all"));
  EXPECT_THAT(lowered, HasSubstr("\n  elementwise mul+exp"));
  RunData data = makeRunData(function, 3, 1);
  expectClose(ir::evaluate(function, 3, data.params, data.inputs),
              runCompiled(*executable, 3, data), 1e-12);
}

/// Ids outside the table: the gather gives zeros, the scatter adds nothing
/// (the interpreter rejects such ids, so the expectation is written out).
TEST(Executable, IdsOutsideTheTable) {
  ir::Function function;
  function.name = "ids";
  ir::Builder b(function, function.body);
  Value *table = b.param("table", {2, 2});
  Value *id = b.input("id", Type{{}, true, 0, ir::ElementType::Int});
  Value *g = b.input("g", batched({2}));
  function.outputs = {{"gathered", b.gather(table, id)},
                      {"scattered", b.scatterAddRows(g, id, 2)}};
  auto executable = compileOrFail(function, FloatType::F64);
  ASSERT_TRUE(executable);
  Instance instance(*executable, 3);
  auto *tableData = static_cast<double *>(instance.buffer("table"));
  auto *ids = static_cast<int64_t *>(instance.buffer("id"));
  auto *gData = static_cast<double *>(instance.buffer("g"));
  for (int i = 0; i < 4; ++i)
    tableData[i] = i + 1;
  int64_t idValues[] = {1, -1, 2};
  for (int i = 0; i < 3; ++i) {
    ids[i] = idValues[i];
    gData[2 * i] = gData[2 * i + 1] = 10 * (i + 1);
  }
  instance.run();
  auto *gathered = static_cast<double *>(instance.buffer("gathered"));
  auto *scattered = static_cast<double *>(instance.buffer("scattered"));
  EXPECT_EQ(std::vector<double>(gathered, gathered + 6),
            (std::vector<double>{3, 4, 0, 0, 0, 0}));
  EXPECT_EQ(std::vector<double>(scattered, scattered + 4),
            (std::vector<double>{0, 0, 10, 10}));
}

using Outputs = CodegenTest;

/// Outputs that are inputs, params or another output's value each get
/// their own buffer.
TEST_P(Outputs, AliasedOutputsGetTheirOwnBuffers) {
  ir::Function function;
  function.name = "aliases";
  ir::Builder b(function, function.body);
  Value *x = b.input("x", batched({2}));
  Value *w = b.param("w", {2});
  Value *y = b.binary(OpKind::Mul, x, w);
  function.outputs = {{"x_out", x},
                      {"w_out", w},
                      {"y", y},
                      {"y_again", y},
                      {"stream", b.streamFill(y, 2)}};
  check(function);
}

WEFT_CODEGEN_TEST_SUITE(Outputs);

} // namespace
} // namespace weft::codegen::testing
