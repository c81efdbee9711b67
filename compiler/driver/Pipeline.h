// The compiler's pipeline as the commands use it: load and check a model,
// bind its sizes, build the IR, add gradients, and JIT-compile it.
#pragma once

#include "compiler/codegen/Executable.h"
#include "compiler/ir/IR.h"
#include "compiler/sema/Sema.h"
#include "compiler/support/Diagnostics.h"
#include "runtime/Manifest.h"

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace weft::driver {

/// Where the standard library is: $WEFT_STDLIB, else beside the installed
/// binary (`../share/weft/stdlib`), else the source tree's `stdlib/`.
std::string findStdlib();

/// One model on its way through the pipeline.
struct Compilation {
  SourceManager sources;
  std::unique_ptr<DiagnosticEngine> diags;
  std::unique_ptr<sema::Program> program;
  const ast::Decl *model = nullptr;
  sema::SizeBindings sizes;
  sema::ModelInfo info;
  std::unique_ptr<ir::Function> function;
  std::unique_ptr<codegen::Executable> executable;
  /// The step on a device, from compileForDevice.
  std::unique_ptr<runtime::Program> deviceProgram;

  Compilation() : diags(std::make_unique<DiagnosticEngine>(sources)) {}

  /// Parses the file and its imports and checks every declaration; then,
  /// when `needModel`, finds the model to build.
  bool load(const std::string &path, bool needModel = true);
  /// Binds `--set NAME=N` options, which must name sizes of the model.
  bool bindSizeOptions(const std::vector<std::string> &options);
  /// Builds the model's IR with `sizes` bound, then its gradients.
  bool build(bool withGradients);
  /// JIT-compiles the built function.
  bool compile(codegen::FloatType floatType);
  /// Compiles the built function's kernels for `device`, in float32:
  /// `cuda`, the first GPU (which must exist), or `gpu-emulated`, the GPU's
  /// kernels and launch plan run on this CPU.
  bool compileForDevice(const std::string &device);
  /// The compiled step: the device's, else the CPU's.
  const runtime::Program &step() const {
    return deviceProgram ? *deviceProgram : *executable;
  }
  /// The built model's parameters, inputs and outputs, with the buffer
  /// table of its compiled code.
  runtime::Manifest manifest(std::vector<runtime::BufferSpec> buffers,
                             codegen::FloatType floatType) const;
};

/// Loads a model and builds it with `--set` sizes bound and, when known,
/// `vocabulary` (the text's distinct bytes) as the size of its token
/// stream's `token(V)`, which `--set` may only enlarge.
bool buildWithVocabulary(Compilation &compilation, const std::string &modelPath,
                         const std::vector<std::string> &sizeOptions,
                         std::optional<int64_t> vocabulary, bool withGradients);

/// Builds a model twice for training: `trainProgram` with its gradients,
/// `evalProgram` without; `vocabulary` as for `buildWithVocabulary`.
bool compileForTraining(const std::string &modelPath,
                        const std::vector<std::string> &sizeOptions,
                        std::optional<int64_t> vocabulary,
                        Compilation &trainProgram, Compilation &evalProgram);

/// How hard LLVM optimises, as `setOptimizationLevel` set it.
int optimizationLevel();

/// Sets LLVM's optimisation level (0 to 3) for the compilations that
/// follow: `--opt-level`. Lower levels compile faster and run slower.
void setOptimizationLevel(int level);

} // namespace weft::driver
