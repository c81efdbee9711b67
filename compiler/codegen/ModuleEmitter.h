// The CPU code generator's middle: a LoweredProgram in, an LLVM module with
// one function `void weft_step(void **buffers, int64_t batch)` out. Time
// loops and kernel loop nests become LLVM loops around the kernel bodies of
// KernelBody.h; GEMMs become calls to weft_sgemm or weft_dgemm
// (runtime/Threads.h).
#pragma once

#include "compiler/codegen/Executable.h"
#include "compiler/lower/Lowered.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <memory>

namespace weft::codegen {

/// The name of the generated entry point.
inline constexpr const char *stepFunctionName = "weft_step";

/// Emits `program` as a new module in `context`.
std::unique_ptr<llvm::Module> emitModule(const lower::LoweredProgram &program,
                                         FloatType floatType,
                                         llvm::LLVMContext &context);

} // namespace weft::codegen
