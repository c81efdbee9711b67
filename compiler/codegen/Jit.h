// The back end's last stage: a LoweredProgram in, machine code for
// `weft_step` out, through LLVM's new pass manager and ORC LLJIT (or an
// object file), or PTX for NVIDIA GPUs. This header hides LLVM; Jit.cpp
// holds the JIT session.
#pragma once

#include "compiler/codegen/Executable.h"
#include "compiler/lower/Lowered.h"
#include "runtime/DevicePlan.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace weft::codegen {

using runtime::StepFunction;

/// JIT-compiled code; the code lives as long as this object.
class JitModule {
public:
  virtual ~JitModule() = default;
  virtual StepFunction entry() const = 0;
};

/// Emits `program` as LLVM IR (printed into `llvmText` before optimisation,
/// and into `optimisedLlvmText` after it if the options ask), verifies,
/// optimises and compiles it for the host CPU. Returns null and sets
/// `error` on failure.
std::unique_ptr<JitModule> compileProgram(const lower::LoweredProgram &program,
                                          const CompileOptions &options,
                                          std::string &llvmText,
                                          std::string &optimisedLlvmText,
                                          std::string &error);

/// Emits, optimises and compiles `program` for the host CPU into a
/// relocatable object file whose entry point is named `entry`, and which
/// defines each (name, text) of `strings` as a NUL-terminated
/// `const char name[]`. Returns false and sets `error` on failure.
bool compileObjectFile(
    const lower::LoweredProgram &program, const CompileOptions &options,
    const std::string &entry,
    const std::vector<std::pair<std::string, std::string>> &strings,
    std::string &objectBytes, std::string &error);

/// What `weft --emit=ptx` targets.
struct PtxOptions {
  std::string gpu = "sm_80"; ///< sm_80, sm_86, sm_89, sm_90, ...
  int optLevel = 2;
};

/// Emits every kernel of `program` (in float32) as a PTX entry for
/// `options.gpu` into `ptx`, and the host's launch plan (kernels, GEMMs and
/// copies in order inside the time loops) into `plan`. Returns false and
/// sets `error` on failure.
bool compilePtx(const lower::LoweredProgram &program, const PtxOptions &options,
                std::string &ptx, runtime::DevicePlan &plan,
                std::string &error);

/// A GPU kernel compiled for the host: runs point `point` of its launch.
using HostKernel = void (*)(void **buffers, int64_t batch, const int64_t *steps,
                            int64_t point);

/// JIT-compiled host versions of a program's GPU kernels.
class HostKernels {
public:
  virtual ~HostKernels() = default;
  virtual const std::vector<HostKernel> &kernels() const = 0;
};

/// The GPU kernels of `program` and their launch plan, with the kernels
/// compiled for the host CPU instead, so that the plan can be run and
/// checked without a GPU. Returns null and sets `error` on failure.
std::unique_ptr<HostKernels>
compileHostKernels(const lower::LoweredProgram &program,
                   runtime::DevicePlan &plan, std::string &error);

} // namespace weft::codegen
