// The CPU back end's last stage: a LoweredProgram in, machine code for
// `weft_step` out, through LLVM's new pass manager and ORC LLJIT. This
// header hides LLVM; Jit.cpp holds the JIT session.
#pragma once

#include "compiler/codegen/Executable.h"
#include "compiler/lower/Lowered.h"

#include <cstdint>
#include <memory>
#include <string>

namespace weft::codegen {

/// The generated entry point.
using StepFunction = void (*)(void **buffers, int64_t batch);

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

} // namespace weft::codegen
