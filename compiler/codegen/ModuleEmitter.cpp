// Emits weft_step: loads each buffer's pointer, then walks the lowered
// statement tree, wrapping each kernel body in a loop nest over its extents,
// each time loop in an LLVM loop, and each GEMM in a CBLAS call.
#include "compiler/codegen/ModuleEmitter.h"
#include "compiler/codegen/BufferEnvironment.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/MDBuilder.h>

#include <variant>

namespace weft::codegen {

using namespace lower;

namespace {

class ModuleEmitter final : public BufferEnvironment {
public:
  ModuleEmitter(const LoweredProgram &program, FloatType floatType,
                llvm::Module &module)
      : BufferEnvironment(program, floatType, module) {}

  void emitStepFunction();

  void describeAccess(llvm::Instruction *memoryOperation,
                      const Access &access) override;

private:
  void createAliasScopes();
  void emitParallelNest(
      const std::vector<Size> &extents, int64_t innerWork,
      const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body);

  void emitStatements(const std::vector<Statement> &statements);
  void emit(const TimeLoop &loop);
  void emit(const ElementwiseKernel &kernel);
  void emit(const KernelGroup &group);
  void emit(const Gemm &gemm);
  void emit(const Copy &copy);
  void emit(const Reduce &reduce);
  void emit(const RowKernel &kernel);
  void emit(const Gather &gather);
  void emit(const ScatterAddRows &scatter);

  llvm::Value *bufferTable = nullptr; ///< weft_step's `buffers`.
  llvm::Value *timesArray = nullptr;  ///< Time indices for kernels.
  unsigned kernelCount = 0;
  /// One alias scope per buffer, and per buffer the list of all the others'
  /// (built when first needed).
  std::vector<llvm::MDNode *> bufferScopes;
  std::vector<llvm::MDNode *> otherBufferScopes;
};

/// Buffers never overlap (Executable::run's contract), so every buffer gets
/// its own alias scope. Without them the vectoriser guards each loop with
/// run-time overlap checks between its output and its inputs.
void ModuleEmitter::createAliasScopes() {
  llvm::MDBuilder metadata(context);
  llvm::MDNode *domain = metadata.createAliasScopeDomain("weft.buffers");
  for (size_t i = 0; i < program.buffers.size(); ++i)
    bufferScopes.push_back(
        metadata.createAliasScope("buffer" + std::to_string(i), domain));
  otherBufferScopes.assign(program.buffers.size(), nullptr);
}

/// An access to buffer i lies in scope i and aliases no other buffer's.
void ModuleEmitter::describeAccess(llvm::Instruction *memoryOperation,
                                   const Access &access) {
  size_t buffer = access.buffer;
  if (!otherBufferScopes[buffer]) {
    std::vector<llvm::Metadata *> others;
    for (size_t i = 0; i < bufferScopes.size(); ++i)
      if (i != buffer)
        others.push_back(bufferScopes[i]);
    otherBufferScopes[buffer] = llvm::MDNode::get(context, others);
  }
  memoryOperation->setMetadata(
      llvm::LLVMContext::MD_alias_scope,
      llvm::MDNode::get(context, {bufferScopes[buffer]}));
  memoryOperation->setMetadata(llvm::LLVMContext::MD_noalias,
                               otherBufferScopes[buffer]);
}

/// A kernel whose points are independent, as an outlined function
/// `void kernelN(ptr buffers, i64 batch, ptr times, i64 begin, i64 end)`
/// that runs iterations [begin, end) of the outermost loop, called through
/// weft_parallel_for (runtime/Threads.h), which may split those iterations
/// between the compute threads. `times` holds the enclosing time indices.
void ModuleEmitter::emitParallelNest(
    const std::vector<Size> &extents, int64_t innerWork,
    const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body) {
  if (extents.empty()) {
    emitNest(extents, body);
    return;
  }
  llvm::Type *i64 = builder.getInt64Ty();
  llvm::Type *pointer = builder.getPtrTy();
  llvm::Value *count = size(extents[0]);
  llvm::Value *elements = builder.getInt64(innerWork);
  for (const Size &extent : extents)
    elements = builder.CreateMul(elements, size(extent));
  if (!timesArray && program.loopCount > 0)
    timesArray = scratch(llvm::ArrayType::get(i64, program.loopCount), "times");
  for (int loop = 0; loop < program.loopCount; ++loop)
    if (timeSteps[loop])
      builder.CreateStore(timeSteps[loop], builder.CreateConstInBoundsGEP1_64(
                                               i64, timesArray, loop));

  auto *kernelType = llvm::FunctionType::get(
      builder.getVoidTy(), {pointer, i64, pointer, i64, i64}, false);
  auto *kernel =
      llvm::Function::Create(kernelType, llvm::Function::InternalLinkage,
                             "kernel" + llvm::Twine(kernelCount++), module);
  kernel->addFnAttr(llvm::Attribute::NoUnwind);

  // Emit the kernel with this emitter's state pointing into it.
  llvm::Function *caller = function;
  llvm::BasicBlock *callerBlock = builder.GetInsertBlock();
  llvm::Value *callerBatch = batch;
  std::vector<llvm::Value *> callerPointers = std::move(bufferPointers);
  std::vector<llvm::Value *> callerTimes = timeSteps;
  function = kernel;
  builder.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", kernel));
  loadBufferPointers(kernel->getArg(0));
  batch = kernel->getArg(1);
  for (int loop = 0; loop < program.loopCount; ++loop)
    if (callerTimes[loop])
      timeSteps[loop] = builder.CreateLoad(
          i64, builder.CreateConstInBoundsGEP1_64(i64, kernel->getArg(2), loop),
          "t" + llvm::Twine(loop));
  llvm::Value *begin = kernel->getArg(3);
  emitLoop(
      builder.CreateSub(kernel->getArg(4), begin), false,
      [&](llvm::Value *i) {
        emitNest(extents, body, {builder.CreateAdd(begin, i, "", true, true)});
      },
      "k0");
  builder.CreateRetVoid();

  function = caller;
  builder.SetInsertPoint(callerBlock);
  batch = callerBatch;
  bufferPointers = std::move(callerPointers);
  timeSteps = std::move(callerTimes);

  llvm::FunctionCallee parallelFor = module.getOrInsertFunction(
      "weft_parallel_for",
      llvm::FunctionType::get(builder.getVoidTy(),
                              {pointer, pointer, i64, pointer, i64, i64},
                              false));
  builder.CreateCall(parallelFor,
                     {kernel, bufferTable, batch,
                      timesArray ? timesArray
                                 : llvm::ConstantPointerNull::get(
                                       llvm::PointerType::get(context, 0)),
                      count, elements});
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

void ModuleEmitter::emitStatements(const std::vector<Statement> &statements) {
  for (const Statement &statement : statements)
    std::visit([&](const auto &node) { emit(node); }, statement.node);
}

void ModuleEmitter::emit(const TimeLoop &loop) {
  emitLoop(
      builder.getInt64(loop.steps), loop.reverse,
      [&](llvm::Value *t) {
        timeSteps[loop.loop] = t;
        emitStatements(loop.body);
      },
      "t" + llvm::Twine(loop.loop));
  timeSteps[loop.loop] = nullptr;
}

// Every point of these kernels writes its own elements, so they run in
// parallel; a scatter's points may add to the same row, so it does not.

void ModuleEmitter::emit(const ElementwiseKernel &kernel) {
  int64_t reduced = 1;
  for (Size extent : kernel.reductionExtents)
    reduced *= extent.isFixed() ? extent.fixed : 64;
  emitParallelNest(kernel.extents, reduced,
                   [&](llvm::ArrayRef<llvm::Value *> point) {
                     bodies.emitElementwise(kernel, point);
                   });
}

void ModuleEmitter::emit(const KernelGroup &group) {
  emitParallelNest(group.kernels.front().extents, group.kernels.size(),
                   [&](llvm::ArrayRef<llvm::Value *> point) {
                     for (const ElementwiseKernel &kernel : group.kernels)
                       bodies.emitElementwise(kernel, point);
                   });
}

void ModuleEmitter::emit(const Reduce &reduce) {
  int64_t count = reduce.count.isFixed() ? reduce.count.fixed : 64;
  emitParallelNest(reduce.extents, count,
                   [&](llvm::ArrayRef<llvm::Value *> point) {
                     bodies.emitReduce(reduce, point);
                   });
}

void ModuleEmitter::emit(const RowKernel &kernel) {
  emitParallelNest(kernel.extents, kernel.width,
                   [&](llvm::ArrayRef<llvm::Value *> point) {
                     bodies.emitRow(kernel, point);
                   });
}

void ModuleEmitter::emit(const Gather &gather) {
  emitParallelNest(gather.extents, 64,
                   [&](llvm::ArrayRef<llvm::Value *> point) {
                     bodies.emitGatherRow(gather, point);
                   });
}

void ModuleEmitter::emit(const ScatterAddRows &scatter) {
  emitNest(scatter.extents, [&](llvm::ArrayRef<llvm::Value *> point) {
    bodies.emitScatterRow(scatter, point);
  });
}

void ModuleEmitter::emit(const Copy &copy) {
  llvm::Type *type = elementType(copy.destination);
  uint64_t bytes = module.getDataLayout().getTypeAllocSize(type);
  llvm::Value *length = builder.CreateMul(
      size(copy.count), builder.getInt64(bytes), "", true, true);
  builder.CreateMemCpy(address(copy.destination, {}), llvm::Align(bytes),
                       address(copy.source, {}), llvm::Align(bytes), length);
}

/// weft_?gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C,
/// ldc), row-major, sizes as C ints (runtime/Threads.h): the runtime splits
/// the product between the compute threads.
void ModuleEmitter::emit(const Gemm &gemm) {
  llvm::Type *intType = builder.getInt32Ty();
  llvm::Type *pointer = builder.getPtrTy();
  llvm::FunctionType *type = llvm::FunctionType::get(
      builder.getVoidTy(),
      {intType, intType, intType, intType, intType, floatType, pointer, intType,
       pointer, intType, floatType, pointer, intType},
      false);
  const char *name = floatKind == FloatType::F32 ? "weft_sgemm" : "weft_dgemm";
  llvm::FunctionCallee callee = module.getOrInsertFunction(name, type);
  auto toInt = [&](llvm::Value *value) {
    return builder.CreateTrunc(value, intType);
  };
  builder.CreateCall(
      callee,
      {builder.getInt32(gemm.transposeA), builder.getInt32(gemm.transposeB),
       toInt(size(gemm.m)), toInt(size(gemm.n)), toInt(size(gemm.k)),
       llvm::ConstantFP::get(floatType, gemm.alpha), address(gemm.a, {}),
       builder.getInt32(gemm.lda), address(gemm.b, {}),
       builder.getInt32(gemm.ldb), llvm::ConstantFP::get(floatType, gemm.beta),
       address(gemm.c, {}), builder.getInt32(gemm.ldc)});
}

/// `void weft_step(ptr buffers, i64 batch)`: loads the buffer pointers,
/// then runs the statements.
void ModuleEmitter::emitStepFunction() {
  llvm::FunctionType *type = llvm::FunctionType::get(
      builder.getVoidTy(), {builder.getPtrTy(), builder.getInt64Ty()}, false);
  function = llvm::Function::Create(type, llvm::Function::ExternalLinkage,
                                    stepFunctionName, module);
  function->addFnAttr(llvm::Attribute::NoUnwind);
  llvm::Value *buffers = function->getArg(0);
  buffers->setName("buffers");
  batch = function->getArg(1);
  batch->setName("batch");

  builder.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", function));
  bufferTable = buffers;
  loadBufferPointers(buffers);
  createAliasScopes();
  emitStatements(program.body);
  builder.CreateRetVoid();
}

} // namespace

std::unique_ptr<llvm::Module> emitModule(const LoweredProgram &program,
                                         FloatType floatType,
                                         llvm::LLVMContext &context) {
  auto module = std::make_unique<llvm::Module>(
      program.name.empty() ? "weft" : program.name, context);
  ModuleEmitter emitter(program, floatType, *module);
  emitter.emitStepFunction();
  return module;
}

} // namespace weft::codegen
