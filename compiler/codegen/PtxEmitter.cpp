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

runtime::PlanSize planSize(Size size) { return {size.fixed, size.perBatch}; }

std::vector<runtime::PlanSize> planSizes(const std::vector<Size> &sizes) {
  std::vector<runtime::PlanSize> result;
  for (Size size : sizes)
    result.push_back(planSize(size));
  return result;
}

/// The first element of a GEMM's matrix or a copy's run: the time terms
/// and base of its index (such accesses have no dimension strides).
runtime::PlanElement planElement(const Access &access) {
  runtime::PlanElement element;
  element.buffer = access.buffer;
  element.base = planSize(access.index.base);
  for (const TimeTerm &term : access.index.timeTerms)
    element.terms.push_back({term.loop, planSize(term.stride)});
  return element;
}

class PtxEmitter final : public BufferEnvironment {
public:
  PtxEmitter(const LoweredProgram &program, llvm::Module &module,
             KernelTarget target)
      : BufferEnvironment(program, FloatType::F32, module), target(target) {}

  void emitProgram() {
    plan.loopCount = program.loopCount;
    emitStatements(program.body, plan.steps);
  }

  /// log x = log2(x) ln 2, with PTX's lg2.approx (relative error about
  /// 2^-22); PTX has no logarithm instruction of its own.
  llvm::Value *logarithm(llvm::IRBuilder<> &builder, llvm::Value *x) override {
    if (target == KernelTarget::Host)
      return BufferEnvironment::logarithm(builder, x);
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
    if (target == KernelTarget::Host)
      return BufferEnvironment::power(builder, x, y);
    llvm::Value *log2 =
        builder.CreateIntrinsic(llvm::Intrinsic::nvvm_lg2_approx_f, {}, {x});
    return builder.CreateIntrinsic(llvm::Intrinsic::nvvm_ex2_approx_f, {},
                                   {builder.CreateFMul(y, log2)});
  }

  runtime::DevicePlan plan;

private:
  using Steps = std::vector<runtime::PlanStep>;
  void emitStatements(const std::vector<Statement> &statements, Steps &steps);
  /// A kernel over `extents`, one point per thread.
  void emitPointKernel(
      Steps &steps, const std::vector<Size> &extents,
      const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body);
  /// A kernel whose points may write the same elements: one thread runs
  /// them all in order.
  void emitSerialKernel(
      Steps &steps, const std::vector<Size> &extents,
      const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body);
  /// Starts kernel number plan.kernelCount and adds its launch to `steps`.
  llvm::Function *beginKernel(Steps &steps, const std::vector<Size> &extents,
                              bool serial);
  llvm::Value *threadIndex();

  KernelTarget target;
  llvm::Value *hostPoint = nullptr; ///< The host target's point argument.
};

llvm::Function *PtxEmitter::beginKernel(Steps &steps,
                                        const std::vector<Size> &extents,
                                        bool serial) {
  runtime::PlanStep launch;
  launch.kind = runtime::PlanStep::Kind::Launch;
  launch.kernel = plan.kernelCount++;
  launch.extents = planSizes(extents);
  launch.serial = serial;
  steps.push_back(std::move(launch));

  llvm::Type *i64 = builder.getInt64Ty();
  std::vector<llvm::Type *> parameters = {builder.getPtrTy(), i64};
  if (target == KernelTarget::Host)
    parameters.insert(parameters.end(), {builder.getPtrTy(), i64});
  else
    parameters.insert(parameters.end(), program.loopCount, i64);
  auto *type = llvm::FunctionType::get(builder.getVoidTy(), parameters, false);
  function = llvm::Function::Create(
      type, llvm::Function::ExternalLinkage,
      "weft_kernel" + llvm::Twine(steps.back().kernel), module);
  function->addFnAttr(llvm::Attribute::NoUnwind);
  if (target == KernelTarget::Gpu) {
    // The NVPTX back end makes a `.entry` of every function so annotated.
    llvm::NamedMDNode *annotations =
        module.getOrInsertNamedMetadata("nvvm.annotations");
    annotations->addOperand(llvm::MDNode::get(
        context, {llvm::ValueAsMetadata::get(function),
                  llvm::MDString::get(context, "kernel"),
                  llvm::ValueAsMetadata::get(builder.getInt32(1))}));
  }
  builder.SetInsertPoint(llvm::BasicBlock::Create(context, "entry", function));
  loadBufferPointers(function->getArg(0));
  batch = function->getArg(1);
  if (target == KernelTarget::Host) {
    for (int loop = 0; loop < program.loopCount; ++loop)
      timeSteps[loop] = builder.CreateLoad(
          i64, builder.CreateConstGEP1_64(i64, function->getArg(2), loop));
    hostPoint = function->getArg(3);
  } else {
    for (int loop = 0; loop < program.loopCount; ++loop)
      timeSteps[loop] = function->getArg(2 + loop);
  }
  return function;
}

/// blockIdx.x * blockDim.x + threadIdx.x, as an i64.
llvm::Value *PtxEmitter::threadIndex() {
  if (target == KernelTarget::Host)
    return hostPoint;
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
    Steps &steps, const std::vector<Size> &extents,
    const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body) {
  beginKernel(steps, extents, false);
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
    Steps &steps, const std::vector<Size> &extents,
    const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body) {
  beginKernel(steps, extents, true);
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
                                Steps &steps) {
  for (const Statement &statement : statements) {
    using Point = llvm::ArrayRef<llvm::Value *>;
    const auto &node = statement.node;
    if (auto *loop = std::get_if<TimeLoop>(&node)) {
      runtime::PlanStep step;
      step.kind = runtime::PlanStep::Kind::Loop;
      step.loop = loop->loop;
      step.steps = loop->steps;
      step.reverse = loop->reverse;
      emitStatements(loop->body, step.body);
      steps.push_back(std::move(step));
    } else if (auto *kernel = std::get_if<ElementwiseKernel>(&node)) {
      emitPointKernel(steps, kernel->extents, [&](Point point) {
        bodies.emitElementwise(*kernel, point);
      });
    } else if (auto *group = std::get_if<KernelGroup>(&node)) {
      emitPointKernel(steps, group->kernels.front().extents, [&](Point point) {
        for (const ElementwiseKernel &member : group->kernels)
          bodies.emitElementwise(member, point);
      });
    } else if (auto *reduce = std::get_if<Reduce>(&node)) {
      emitPointKernel(steps, reduce->extents,
                      [&](Point point) { bodies.emitReduce(*reduce, point); });
    } else if (auto *row = std::get_if<RowKernel>(&node)) {
      emitPointKernel(steps, row->extents,
                      [&](Point point) { bodies.emitRow(*row, point); });
    } else if (auto *gather = std::get_if<Gather>(&node)) {
      emitPointKernel(steps, gather->extents, [&](Point point) {
        bodies.emitGatherRow(*gather, point);
      });
    } else if (auto *scatter = std::get_if<ScatterAddRows>(&node)) {
      emitSerialKernel(steps, scatter->extents, [&](Point point) {
        bodies.emitScatterRow(*scatter, point);
      });
    } else if (auto *gemm = std::get_if<Gemm>(&node)) {
      runtime::PlanStep step;
      step.kind = runtime::PlanStep::Kind::Gemm;
      step.label = gemm->label;
      step.transposeA = gemm->transposeA;
      step.transposeB = gemm->transposeB;
      step.m = planSize(gemm->m);
      step.n = planSize(gemm->n);
      step.k = planSize(gemm->k);
      step.a = planElement(gemm->a);
      step.b = planElement(gemm->b);
      step.c = planElement(gemm->c);
      step.lda = gemm->lda;
      step.ldb = gemm->ldb;
      step.ldc = gemm->ldc;
      step.alpha = gemm->alpha;
      step.beta = gemm->beta;
      steps.push_back(std::move(step));
    } else if (auto *copy = std::get_if<Copy>(&node)) {
      runtime::PlanStep step;
      step.kind = runtime::PlanStep::Kind::Copy;
      step.destination = planElement(copy->destination);
      step.source = planElement(copy->source);
      step.count = planSize(copy->count);
      steps.push_back(std::move(step));
    }
  }
}

} // namespace

PtxProgram emitPtxProgram(const LoweredProgram &program,
                          llvm::LLVMContext &context, KernelTarget target) {
  PtxProgram result;
  result.module = std::make_unique<llvm::Module>(
      program.name.empty() ? "weft" : program.name, context);
  PtxEmitter emitter(program, *result.module, target);
  emitter.emitProgram();
  result.plan = std::move(emitter.plan);
  return result;
}

} // namespace weft::codegen
