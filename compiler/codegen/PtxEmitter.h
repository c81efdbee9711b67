// The GPU code generator's middle: a LoweredProgram in, an LLVM module for
// the NVPTX back end out, with one kernel entry per lowered kernel, and the
// launch plan that runs them. Each kernel runs one point per thread: the
// same kernel bodies (KernelBody.h) the CPU path wraps in loops. GEMMs and
// copies stay on the host side of the plan (cuBLAS, cuMemcpy).
#pragma once

#include "compiler/lower/Lowered.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <memory>
#include <string>

namespace weft::codegen {

/// The kernels of a program for the GPU and the plan that launches them.
struct PtxProgram {
  std::unique_ptr<llvm::Module> module;
  /// The program's statements in order, one line each, indented inside
  /// time loops: `launch weft_kernel3 points 64*batch`, `gemm ...`,
  /// `copy ...`.
  std::string launchPlan;
  unsigned kernelCount = 0;
};

/// Emits `program`'s kernels in float32, each
/// `void weft_kernelN(ptr buffers, i64 batch, i64 t0, ..., i64 tL-1)`
/// taking the buffer table, the batch size and the step of every time
/// loop, and running the point whose linear index is its global thread
/// index (threads past the last point do nothing).
PtxProgram emitPtxProgram(const lower::LoweredProgram &program,
                          llvm::LLVMContext &context);

} // namespace weft::codegen
