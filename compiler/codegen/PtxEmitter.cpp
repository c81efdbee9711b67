// Emits the GPU kernels of a lowered program: see PtxEmitter.h.
#include "compiler/codegen/PtxEmitter.h"
#include "compiler/codegen/BufferEnvironment.h"

#include <llvm/IR/IntrinsicsNVPTX.h>
#include <llvm/IR/Metadata.h>

#include <fmt/format.h>

#include <numbers>
#include <variant>

namespace weft::codegen {

using namespace lower;

namespace {

std::string describeSize(Size size) {
  if (size.isFixed())
    return std::to_string(size.fixed);
  std::string scaled =
      size.perBatch == 1 ? "batch" : fmt::format("{}*batch", size.perBatch);
  return size.fixed == 0 ? scaled : fmt::format("{}+{}", size.fixed, scaled);
}

std::string describePoints(const std::vector<Size> &extents) {
  if (extents.empty())
    return "1";
  std::string text;
  for (const Size &extent : extents)
    text += (text.empty() ? "" : " x ") + describeSize(extent);
  return text;
}

class PtxEmitter final : public BufferEnvironment {
public:
  PtxEmitter(const LoweredProgram &program, llvm::Module &module)
      : BufferEnvironment(program, FloatType::F32, module) {}

  void emitProgram() { emitStatements(program.body, 0); }

  /// log x = log2(x) ln 2, with PTX's lg2.approx (relative error about
  /// 2^-22); PTX has no logarithm instruction of its own.
  llvm::Value *logarithm(llvm::IRBuilder<> &builder, llvm::Value *x) override {
    llvm::Value *log2 =
        builder.CreateIntrinsic(llvm::Intrinsic::nvvm_lg2_approx_f, {}, {x});
    return builder.CreateFMul(
        log2, llvm::ConstantFP::get(x->getType(), std::numbers::ln2));
  }
  /// x^y = 2^(y log2 x), with PTX's ex2.approx and lg2.approx: for x > 0
  /// (and x = 0 with y > 0), as the language's `pow` is used on weights
  /// and probabilities.
  llvm::Value *power(llvm::IRBuilder<> &builder, llvm::Value *x,
                     llvm::Value *y) override {
    llvm::Value *log2 =
        builder.CreateIntrinsic(llvm::Intrinsic::nvvm_lg2_approx_f, {}, {x});
    return builder.CreateIntrinsic(llvm::Intrinsic::nvvm_ex2_approx_f, {},
                                   {builder.CreateFMul(y, log2)});
  }

  std::string plan;
  unsigned kernelCount = 0;

private:
  void emitStatements(const std::vector<Statement> &statements, int depth);
  void note(int depth, const std::string &line) {
    plan += std::string(2 * depth, ' ') + line + "\n";
  }
  /// A kernel over `extents`, one point per thread.
  void emitPointKernel(
      int depth, const std::vector<Size> &extents,
      const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body);
  /// A kernel whose points may write the same elements: one thread runs
  /// them all in order.
  void emitSerialKernel(
      int depth, const std::vector<Size> &extents,
      const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body);
  llvm::Function *beginKernel();
  llvm::Value *threadIndex();
};

llvm::Function *PtxEmitter::beginKernel() {
  llvm::Type *i64 = builder.getInt64Ty();
  std::vector<llvm::Type *> parameters = {builder.getPtrTy(), i64};
  for (int loop = 0; loop < program.loopCount; ++loop)
    parameters.push_back(i64);
  auto *type = llvm::FunctionType::get(builder.getVoidTy(), parameters, false);
  function = llvm::Function::Create(type, llvm::Function::ExternalLinkage,
                                    "weft_kernel" + llvm::Twine(kernelCount++),
                                    module);
  function->addFnAttr(llvm::Attribute::NoUnwind);
  // The NVPTX back end makes a `.entry` of every function so annotated.
  llvm::NamedMDNode *annotations =
      module.getOrInsertNamedMetadata("nvvm.annotations");
  annotations->addOperand(llvm::MDNode::get(
      context, {llvm::ValueAsMetadata::get(function),
                llvm::MDString::get(context, "kernel"),
                llvm::ValueAsMetadata::get(builder.getInt32(1))}));
  builder.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", function));
  loadBufferPointers(function->getArg(0));
  batch = function->getArg(1);
  for (int loop = 0; loop < program.loopCount; ++loop)
    timeSteps[loop] = function->getArg(2 + loop);
  return function;
}

/// blockIdx.x * blockDim.x + threadIdx.x, as an i64.
llvm::Value *PtxEmitter::threadIndex() {
  auto special = [&](llvm::Intrinsic::ID id) {
    return builder.CreateZExt(builder.CreateIntrinsic(id, {}, {}),
                              builder.getInt64Ty());
  };
  llvm::Value *block = special(llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_x);
  llvm::Value *width = special(llvm::Intrinsic::nvvm_read_ptx_sreg_ntid_x);
  llvm::Value *thread = special(llvm::Intrinsic::nvvm_read_ptx_sreg_tid_x);
  return builder.CreateAdd(builder.CreateMul(block, width), thread);
}

void PtxEmitter::emitPointKernel(
    int depth, const std::vector<Size> &extents,
    const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body) {
  beginKernel();
  note(depth, fmt::format("launch {} points {}", function->getName().str(),
                          describePoints(extents)));
  llvm::Value *linear = threadIndex();
  llvm::Value *points = builder.getInt64(1);
  for (const Size &extent : extents)
    points = builder.CreateMul(points, size(extent));
  auto *work = llvm::BasicBlock::Create(context, "point", function);
  auto *done = llvm::BasicBlock::Create(context, "done", function);
  builder.CreateCondBr(builder.CreateICmpULT(linear, points), work, done);
  builder.SetInsertPoint(work);
  // The last dimension varies fastest, as in the CPU's loop nests.
  std::vector<llvm::Value *> point(extents.size());
  llvm::Value *rest = linear;
  for (size_t d = extents.size(); d-- > 0;) {
    llvm::Value *extent = size(extents[d]);
    point[d] = d == 0 ? rest : builder.CreateURem(rest, extent);
    if (d > 0)
      rest = builder.CreateUDiv(rest, extent);
  }
  body(point);
  builder.CreateBr(done);
  builder.SetInsertPoint(done);
  builder.CreateRetVoid();
}

void PtxEmitter::emitSerialKernel(
    int depth, const std::vector<Size> &extents,
    const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body) {
  beginKernel();
  note(depth, fmt::format("launch {} points 1 (serial over {})",
                          function->getName().str(), describePoints(extents)));
  auto *work = llvm::BasicBlock::Create(context, "serial", function);
  auto *done = llvm::BasicBlock::Create(context, "done", function);
  builder.CreateCondBr(builder.CreateICmpEQ(threadIndex(), builder.getInt64(0)),
                       work, done);
  builder.SetInsertPoint(work);
  emitNest(extents, body);
  builder.CreateBr(done);
  builder.SetInsertPoint(done);
  builder.CreateRetVoid();
}

void PtxEmitter::emitStatements(const std::vector<Statement> &statements,
                                int depth) {
  for (const Statement &statement : statements) {
    using Point = llvm::ArrayRef<llvm::Value *>;
    const auto &node = statement.node;
    if (auto *loop = std::get_if<TimeLoop>(&node)) {
      note(depth, fmt::format("for t{} in {} steps{}", loop->loop, loop->steps,
                              loop->reverse ? ", last first" : ""));
      emitStatements(loop->body, depth + 1);
    } else if (auto *kernel = std::get_if<ElementwiseKernel>(&node)) {
      emitPointKernel(depth, kernel->extents, [&](Point point) {
        bodies.emitElementwise(*kernel, point);
      });
    } else if (auto *group = std::get_if<KernelGroup>(&node)) {
      emitPointKernel(depth, group->kernels.front().extents, [&](Point point) {
        for (const ElementwiseKernel &member : group->kernels)
          bodies.emitElementwise(member, point);
      });
    } else if (auto *reduce = std::get_if<Reduce>(&node)) {
      emitPointKernel(depth, reduce->extents,
                      [&](Point point) { bodies.emitReduce(*reduce, point); });
    } else if (auto *row = std::get_if<RowKernel>(&node)) {
      emitPointKernel(depth, row->extents,
                      [&](Point point) { bodies.emitRow(*row, point); });
    } else if (auto *gather = std::get_if<Gather>(&node)) {
      emitPointKernel(depth, gather->extents, [&](Point point) {
        bodies.emitGatherRow(*gather, point);
      });
    } else if (auto *scatter = std::get_if<ScatterAddRows>(&node)) {
      emitSerialKernel(depth, scatter->extents, [&](Point point) {
        bodies.emitScatterRow(*scatter, point);
      });
    } else if (auto *gemm = std::get_if<Gemm>(&node)) {
      note(depth,
           fmt::format("gemm {} m {} n {} k {}{}{} into buffer {}", gemm->label,
                       describeSize(gemm->m), describeSize(gemm->n),
                       describeSize(gemm->k), gemm->transposeA ? " A^T" : "",
                       gemm->transposeB ? " B^T" : "", gemm->c.buffer));
    } else if (auto *copy = std::get_if<Copy>(&node)) {
      note(depth, fmt::format("copy {} elements buffer {} -> buffer {}",
                              describeSize(copy->count), copy->source.buffer,
                              copy->destination.buffer));
    }
  }
}

} // namespace

PtxProgram emitPtxProgram(const LoweredProgram &program,
                          llvm::LLVMContext &context) {
  PtxProgram result;
  result.module = std::make_unique<llvm::Module>(
      program.name.empty() ? "weft" : program.name, context);
  PtxEmitter emitter(program, *result.module);
  emitter.emitProgram();
  result.launchPlan = std::move(emitter.plan);
  result.kernelCount = emitter.kernelCount;
  return result;
}

} // namespace weft::codegen
