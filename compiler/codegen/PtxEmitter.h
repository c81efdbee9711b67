// The GPU code generator's middle: a LoweredProgram in, an LLVM module for
// the NVPTX back end out, with one kernel entry per lowered kernel, and the
// launch plan that runs them. Each kernel runs one point per thread: the
// same kernel bodies (KernelBody.h) the CPU path wraps in loops. GEMMs and
// copies stay on the host side of the plan (cuBLAS, cuMemcpy).
#pragma once

#include "compiler/lower/Lowered.h"
#include "runtime/DevicePlan.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <memory>
#include <string>

namespace weft::codegen {

/// Where the kernels run: on the GPU, or on the host CPU for tests of the
/// launch plan (each call runs one point, named by an argument).
enum class KernelTarget { Gpu, Host };

/// The kernels of a program for the GPU and the plan that launches them.
struct PtxProgram {
  std::unique_ptr<llvm::Module> module;
  runtime::DevicePlan plan;
};

/// Emits `program`'s kernels in float32. For the GPU each is
/// `void weft_kernelN(ptr buffers, i64 batch, i64 t0, ..., i64 tL-1)`,
/// taking the buffer table, the batch size and the step of every time
/// loop, and running the point whose linear index is its global thread
/// index (threads past the last point do nothing). For the host each is
/// `void weft_kernelN(ptr buffers, i64 batch, ptr steps, i64 point)`.
PtxProgram emitPtxProgram(const lower::LoweredProgram &program,
                          llvm::LLVMContext &context,
                          KernelTarget target = KernelTarget::Gpu);

} // namespace weft::codegen
