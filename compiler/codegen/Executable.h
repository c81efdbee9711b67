// The CPU code generator's public face: an IR Function in, a JIT-compiled
// `weft_step(buffers, batch)` out, plus an Instance that owns the buffers
// for one batch size. No LLVM types appear here.
#pragma once

#include "compiler/ir/IR.h"
#include "runtime/DevicePlan.h"
#include "runtime/Program.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace weft::codegen {

/// The float type of every float value in the program.
enum class FloatType { F32, F64 };

struct CompileOptions {
  FloatType floatType = FloatType::F32;
  int optLevel = 2; ///< 0 to 3, as for the LLVM pass pipeline.
  /// Print the module after optimisation too (`optimisedLlvmText`).
  bool keepOptimisedLlvm = false;
};

using runtime::BufferRole;
using runtime::BufferSpec;
using runtime::Instance;

/// A JIT-compiled program. Its `run` reads the params and inputs, writes
/// the outputs and uses the temps as scratch; it relies on no buffer's
/// previous contents, so running it twice gives the same results.
class Executable final : public runtime::Program {
public:
  /// Lowers and JIT-compiles `function`. Returns null and sets `error` on
  /// failure.
  static std::unique_ptr<Executable> compile(const ir::Function &function,
                                             const CompileOptions &options,
                                             std::string *error);
  ~Executable() override;

  const std::vector<BufferSpec> &buffers() const override;
  size_t floatBytes() const override;
  const CompileOptions &options() const;
  /// The lowered program, printed (`--emit=lowered`).
  std::string loweredText() const;
  /// The LLVM module before optimisation (`--emit=llvm`).
  std::string llvmText() const;
  /// The LLVM module after optimisation, as the JIT compiles it; empty
  /// unless the options asked to keep it.
  std::string optimisedLlvmText() const;
  void run(void **buffers, int64_t batch) const override;

  struct Impl;

private:
  explicit Executable(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

/// Machine code to link into another program (`weft build`).
struct ObjectCode {
  std::string bytes; ///< A relocatable object file for the host CPU.
  std::vector<BufferSpec> buffers;
};

/// Names and texts of NUL-terminated `const char NAME[]` to define beside
/// the code, made from the compiled program's buffer table.
using ObjectStrings =
    std::function<std::vector<std::pair<std::string, std::string>>(
        const std::vector<BufferSpec> &buffers)>;

/// Lowers and compiles `function` into an object file defining
/// `void <entry>(void **buffers, int64_t batch)`, the step that an
/// Executable of the same function runs, and the strings that `strings`
/// makes. Returns nullopt and sets `error` on failure.
std::optional<ObjectCode> compileObject(const ir::Function &function,
                                        const CompileOptions &options,
                                        const std::string &entry,
                                        const ObjectStrings &strings,
                                        std::string *error);

/// A step for NVIDIA GPUs: every kernel of the program, forward and
/// backward, as one PTX module, with the plan that launches them and the
/// buffer table they work on. Float32 only.
struct GpuCode {
  std::string ptx;
  runtime::DevicePlan plan;
  std::vector<BufferSpec> buffers;
};

/// Lowers `function` and compiles its kernels for the GPU architecture
/// `gpu` (sm_80, sm_86, sm_89 or sm_90). Returns nullopt and sets `error`
/// on failure.
std::optional<GpuCode> compileGpuCode(const ir::Function &function,
                                      const std::string &gpu, int optLevel,
                                      std::string *error);

/// `weft --emit=ptx`: the PTX module of compileGpuCode, headed by the
/// launch plan as comments.
std::optional<std::string> compileGpuKernels(const ir::Function &function,
                                             const std::string &gpu,
                                             int optLevel, std::string *error);

/// The GPU's launch plan for `function`, run on the host CPU with the GPU
/// kernels compiled for it (HostDevice.h): the same results as a GPU, for
/// tests that have none. Returns null and sets `error` on failure.
std::unique_ptr<runtime::Program>
compileHostEmulatedGpuProgram(const ir::Function &function, std::string *error);

} // namespace weft::codegen
