// Compiles a lowered program for the host CPU: emits the LLVM module,
// verifies it, runs the new pass manager's O1-O3 pipeline with the host's
// target machine, and hands the result to an ORC LLJIT whose symbol table
// holds the CBLAS and libm functions the code calls, or writes an object
// file. For NVIDIA GPUs, the same pipeline over the kernels of
// PtxEmitter.h with the NVPTX back end gives PTX assembly.
#include "compiler/codegen/Jit.h"
#include "compiler/codegen/ModuleEmitter.h"
#include "compiler/codegen/PtxEmitter.h"
#include "runtime/Threads.h"

#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>

namespace weft::codegen {

namespace {

class LLJitHostKernels final : public HostKernels {
public:
  LLJitHostKernels(std::unique_ptr<llvm::orc::LLJIT> jit,
                   std::vector<HostKernel> functions)
      : jit(std::move(jit)), functions(std::move(functions)) {}
  const std::vector<HostKernel> &kernels() const override { return functions; }

private:
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::vector<HostKernel> functions;
};

class LLJitModule final : public JitModule {
public:
  LLJitModule(std::unique_ptr<llvm::orc::LLJIT> jit, StepFunction step)
      : jit(std::move(jit)), step(step) {}
  StepFunction entry() const override { return step; }

private:
  std::unique_ptr<llvm::orc::LLJIT> jit;
  StepFunction step;
};

void initialiseNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

llvm::OptimizationLevel optimizationLevel(int level) {
  switch (level) {
  case 1:
    return llvm::OptimizationLevel::O1;
  case 2:
    return llvm::OptimizationLevel::O2;
  default:
    return llvm::OptimizationLevel::O3;
  }
}

/// On AVX-512 hosts, lets the vectoriser use 512-bit vectors, which LLVM
/// avoids by default for fear of the clock slowing down: kernel loops are
/// dense arithmetic (inline exp and tanh), where the doubled width wins.
void preferWideVectors(llvm::Module &module, llvm::TargetMachine &target) {
  if (!target.getTargetFeatureString().contains("+avx512f"))
    return;
  for (llvm::Function &function : module)
    if (!function.isDeclaration())
      function.addFnAttr("prefer-vector-width", "512");
}

/// Runs the new pass manager's default pipeline for `level` (0 to 3).
void optimise(llvm::Module &module, llvm::TargetMachine &target, int level) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager callGraph;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder passes(&target);
  passes.registerModuleAnalyses(modules);
  passes.registerCGSCCAnalyses(callGraph);
  passes.registerFunctionAnalyses(functions);
  passes.registerLoopAnalyses(loops);
  passes.crossRegisterProxies(loops, functions, callGraph, modules);
  llvm::ModulePassManager pipeline =
      level <= 0
          ? passes.buildO0DefaultPipeline(llvm::OptimizationLevel::O0)
          : passes.buildPerModuleDefaultPipeline(optimizationLevel(level));
  pipeline.run(module, modules);
}

/// The external functions generated code calls, by address (the matrix
/// products are the runtime's, runtime/Threads.h); anything else (memcpy, expf)
/// comes from the process's own symbol table.
llvm::orc::SymbolMap runtimeSymbols(llvm::orc::LLJIT &jit) {
  auto flags = llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable;
  llvm::orc::SymbolMap symbols;
  auto add = [&](const char *name, auto *function) {
    symbols[jit.mangleAndIntern(name)] = {
        llvm::orc::ExecutorAddr::fromPtr(function), flags};
  };
  add("weft_parallel_for", &weft_parallel_for);
  add("weft_sgemm", &weft_sgemm);
  add("weft_dgemm", &weft_dgemm);
  add("tanhf", static_cast<float (*)(float)>(&::tanhf));
  add("tanh", static_cast<double (*)(double)>(&::tanh));
  add("expf", static_cast<float (*)(float)>(&::expf));
  add("exp", static_cast<double (*)(double)>(&::exp));
  add("logf", static_cast<float (*)(float)>(&::logf));
  add("log", static_cast<double (*)(double)>(&::log));
  add("powf", static_cast<float (*)(float, float)>(&::powf));
  add("pow", static_cast<double (*)(double, double)>(&::pow));
  return symbols;
}

/// Creates the JIT with the runtime symbols and the process's own.
llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>>
createJit(llvm::orc::JITTargetMachineBuilder machine) {
  auto jit = llvm::orc::LLJITBuilder()
                 .setJITTargetMachineBuilder(std::move(machine))
                 .create();
  if (!jit)
    return jit.takeError();
  llvm::orc::JITDylib &library = (*jit)->getMainJITDylib();
  if (llvm::Error error =
          library.define(llvm::orc::absoluteSymbols(runtimeSymbols(**jit))))
    return error;
  auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!process)
    return process.takeError();
  library.addGenerator(std::move(*process));
  return jit;
}

/// A JIT holding `module`, compiled for `machine`; null and `error` if
/// either step fails.
std::unique_ptr<llvm::orc::LLJIT>
jitWithModule(llvm::orc::JITTargetMachineBuilder machine,
              std::unique_ptr<llvm::Module> module,
              std::unique_ptr<llvm::LLVMContext> context, std::string &error) {
  auto jit = createJit(std::move(machine));
  if (!jit) {
    error = llvm::toString(jit.takeError());
    return nullptr;
  }
  llvm::orc::ThreadSafeModule threadSafe(std::move(module), std::move(context));
  if (llvm::Error failure = (*jit)->addIRModule(std::move(threadSafe))) {
    error = llvm::toString(std::move(failure));
    return nullptr;
  }
  return std::move(*jit);
}

/// Emits the module for `target`, prints it into `llvmText` before any
/// optimisation (what --emit=llvm shows), and verifies it.
std::unique_ptr<llvm::Module>
emitVerifiedModule(const lower::LoweredProgram &program,
                   const CompileOptions &options, llvm::TargetMachine &target,
                   llvm::LLVMContext &context, std::string &llvmText,
                   std::string &error) {
  std::unique_ptr<llvm::Module> module =
      emitModule(program, options.floatType, context);
  module->setDataLayout(target.createDataLayout());
  module->setTargetTriple(target.getTargetTriple().str());
  llvm::raw_string_ostream text(llvmText);
  module->print(text, nullptr);
  std::string problems;
  llvm::raw_string_ostream problemStream(problems);
  if (llvm::verifyModule(*module, &problemStream)) {
    error = "generated LLVM IR does not verify: " + problems;
    return nullptr;
  }
  return module;
}

/// The host CPU with every feature it has, for the JIT or, with
/// position-independent code, for an object file that a linker puts into an
/// executable.
llvm::Expected<llvm::orc::JITTargetMachineBuilder>
hostMachine(int optLevel, bool forObjectFile) {
  initialiseNativeTarget();
  auto machine = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!machine)
    return machine.takeError();
  machine->setCodeGenOptLevel(optLevel <= 0
                                  ? llvm::CodeGenOptLevel::None
                                  : llvm::CodeGenOptLevel::Aggressive);
  if (forObjectFile)
    machine->setRelocationModel(llvm::Reloc::PIC_);
  return machine;
}

/// The target machine `machine` describes; null after setting `error`,
/// also when `machine` itself is an error.
std::unique_ptr<llvm::TargetMachine>
targetMachine(llvm::Expected<llvm::orc::JITTargetMachineBuilder> &machine,
              std::string &error) {
  if (!machine) {
    error = llvm::toString(machine.takeError());
    return nullptr;
  }
  auto target = machine->createTargetMachine();
  if (!target) {
    error = llvm::toString(target.takeError());
    return nullptr;
  }
  return std::move(*target);
}

/// Runs the target's code generator over `module` into an object file or,
/// for PTX, assembly text.
bool emitMachineCode(llvm::Module &module, llvm::TargetMachine &target,
                     llvm::CodeGenFileType fileType, std::string &bytes,
                     std::string &error) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream stream(buffer);
  llvm::legacy::PassManager codeGenerator;
  if (target.addPassesToEmitFile(codeGenerator, stream, nullptr, fileType)) {
    error = fmt::format("LLVM cannot emit {} for {}",
                        fileType == llvm::CodeGenFileType::ObjectFile
                            ? "object files"
                            : "assembly",
                        target.getTargetTriple().str());
    return false;
  }
  codeGenerator.run(module);
  bytes.assign(buffer.begin(), buffer.end());
  return true;
}

/// The PTX ISA version a GPU generation needs: 7.0 for sm_80, 7.1 for
/// sm_86, 7.8 for sm_89 and sm_90 (CUDA 11.0, 11.1, 11.8).
int ptxVersionFor(int smVersion) {
  return smVersion >= 89 ? 78 : smVersion >= 86 ? 71 : 70;
}

} // namespace

bool compileObjectFile(
    const lower::LoweredProgram &program, const CompileOptions &options,
    const std::string &entry,
    const std::vector<std::pair<std::string, std::string>> &strings,
    std::string &objectBytes, std::string &error) {
  auto machine = hostMachine(options.optLevel, true);
  std::unique_ptr<llvm::TargetMachine> target = targetMachine(machine, error);
  if (!target)
    return false;
  llvm::LLVMContext context;
  std::string llvmText;
  std::unique_ptr<llvm::Module> module =
      emitVerifiedModule(program, options, *target, context, llvmText, error);
  if (!module)
    return false;
  module->getFunction(stepFunctionName)->setName(entry);
  for (const auto &[name, text] : strings) {
    llvm::Constant *value =
        llvm::ConstantDataArray::getString(context, text, true);
    new llvm::GlobalVariable(*module, value->getType(), true,
                             llvm::GlobalValue::ExternalLinkage, value, name);
  }
  preferWideVectors(*module, *target);
  optimise(*module, *target, options.optLevel);
  return emitMachineCode(*module, *target, llvm::CodeGenFileType::ObjectFile,
                         objectBytes, error);
}

std::unique_ptr<JitModule> compileProgram(const lower::LoweredProgram &program,
                                          const CompileOptions &options,
                                          std::string &llvmText,
                                          std::string &optimisedLlvmText,
                                          std::string &error) {
  auto machine = hostMachine(options.optLevel, false);
  std::unique_ptr<llvm::TargetMachine> target = targetMachine(machine, error);
  if (!target)
    return nullptr;

  auto context = std::make_unique<llvm::LLVMContext>();
  std::unique_ptr<llvm::Module> module =
      emitVerifiedModule(program, options, *target, *context, llvmText, error);
  if (!module)
    return nullptr;
  preferWideVectors(*module, *target);
  optimise(*module, *target, options.optLevel);
  if (options.keepOptimisedLlvm) {
    llvm::raw_string_ostream text(optimisedLlvmText);
    module->print(text, nullptr);
  }

  std::unique_ptr<llvm::orc::LLJIT> jit = jitWithModule(
      std::move(*machine), std::move(module), std::move(context), error);
  if (!jit)
    return nullptr;
  auto address = jit->lookup(stepFunctionName);
  if (!address) {
    error = llvm::toString(address.takeError());
    return nullptr;
  }
  return std::make_unique<LLJitModule>(std::move(jit),
                                       address->toPtr<StepFunction>());
}

bool compilePtx(const lower::LoweredProgram &program, const PtxOptions &options,
                std::string &ptx, runtime::DevicePlan &plan,
                std::string &error) {
  // The generations whose PTX version ptxVersionFor knows; a later one
  // (sm_100) needs a newer PTX than LLVM 19 writes.
  const int supported[] = {75, 80, 86, 89, 90};
  int smVersion = 0;
  if (std::sscanf(options.gpu.c_str(), "sm_%d", &smVersion) != 1 ||
      options.gpu != fmt::format("sm_{}", smVersion) ||
      std::find(std::begin(supported), std::end(supported), smVersion) ==
          std::end(supported)) {
    error = fmt::format("`{}` is not a GPU architecture Weft emits for: "
                        "name one of sm_75, sm_80, sm_86, sm_89 and "
                        "sm_90 (later GPUs run sm_90's PTX)",
                        options.gpu);
    return false;
  }
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
  });
  const std::string triple = "nvptx64-nvidia-cuda";
  std::string lookupError;
  const llvm::Target *nvptx =
      llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!nvptx) {
    error = "this LLVM has no NVPTX back end: " + lookupError;
    return false;
  }
  std::unique_ptr<llvm::TargetMachine> target(nvptx->createTargetMachine(
      triple, options.gpu, fmt::format("+ptx{}", ptxVersionFor(smVersion)),
      llvm::TargetOptions(), std::nullopt, std::nullopt,
      options.optLevel <= 0 ? llvm::CodeGenOptLevel::None
                            : llvm::CodeGenOptLevel::Aggressive));

  llvm::LLVMContext context;
  PtxProgram kernels = emitPtxProgram(program, context);
  llvm::Module &module = *kernels.module;
  module.setDataLayout(target->createDataLayout());
  module.setTargetTriple(triple);
  std::string problems;
  llvm::raw_string_ostream problemStream(problems);
  if (llvm::verifyModule(module, &problemStream)) {
    error = "generated GPU kernels do not verify: " + problems;
    return false;
  }
  optimise(module, *target, options.optLevel);
  plan = std::move(kernels.plan);
  return emitMachineCode(module, *target, llvm::CodeGenFileType::AssemblyFile,
                         ptx, error);
}

std::unique_ptr<HostKernels>
compileHostKernels(const lower::LoweredProgram &program,
                   runtime::DevicePlan &plan, std::string &error) {
  const int optLevel = 1;
  auto machine = hostMachine(optLevel, false);
  std::unique_ptr<llvm::TargetMachine> target = targetMachine(machine, error);
  if (!target)
    return nullptr;
  auto context = std::make_unique<llvm::LLVMContext>();
  PtxProgram kernels = emitPtxProgram(program, *context, KernelTarget::Host);
  std::unique_ptr<llvm::Module> module = std::move(kernels.module);
  module->setDataLayout(target->createDataLayout());
  module->setTargetTriple(target->getTargetTriple().str());
  std::string problems;
  llvm::raw_string_ostream problemStream(problems);
  if (llvm::verifyModule(*module, &problemStream)) {
    error = "generated host kernels do not verify: " + problems;
    return nullptr;
  }
  optimise(*module, *target, optLevel);

  std::unique_ptr<llvm::orc::LLJIT> jit = jitWithModule(
      std::move(*machine), std::move(module), std::move(context), error);
  if (!jit)
    return nullptr;
  std::vector<HostKernel> functions;
  for (unsigned i = 0; i < kernels.plan.kernelCount; ++i) {
    auto address = jit->lookup(fmt::format("weft_kernel{}", i));
    if (!address) {
      error = llvm::toString(address.takeError());
      return nullptr;
    }
    functions.push_back(address->toPtr<HostKernel>());
  }
  plan = std::move(kernels.plan);
  return std::make_unique<LLJitHostKernels>(std::move(jit),
                                            std::move(functions));
}

} // namespace weft::codegen
