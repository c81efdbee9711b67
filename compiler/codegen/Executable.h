// The CPU code generator's public face: an IR Function in, a JIT-compiled
// `weft_step(buffers, batch)` out, plus an Instance that owns the buffers
// for one batch size. No LLVM types appear here.
#pragma once

#include "compiler/ir/IR.h"

#include <cstdint>
#include <memory>
#include <string>
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

enum class BufferRole { Param, Input, Output, Temp };

/// One buffer the generated code reads or writes.
struct BufferSpec {
  std::string name; ///< Param, input or output name; a label for temps.
  BufferRole role;
  bool isInt; ///< int64 elements; else the program's float type.
  int64_t fixedElements;
  int64_t elementsPerExample;

  int64_t elements(int64_t batch) const {
    return fixedElements + elementsPerExample * batch;
  }
};

/// A JIT-compiled program. Its `run` reads the params and inputs, writes
/// the outputs and uses the temps as scratch; it relies on no buffer's
/// previous contents, so running it twice gives the same results.
class Executable {
public:
  /// Lowers and JIT-compiles `function`. Returns null and sets `error` on
  /// failure.
  static std::unique_ptr<Executable> compile(const ir::Function &function,
                                             const CompileOptions &options,
                                             std::string *error);
  ~Executable();

  const std::vector<BufferSpec> &buffers() const;
  const CompileOptions &options() const;
  /// The lowered program, printed (`--emit=lowered`).
  std::string loweredText() const;
  /// The LLVM module before optimisation (`--emit=llvm`).
  std::string llvmText() const;
  /// The LLVM module after optimisation, as the JIT compiles it; empty
  /// unless the options asked to keep it.
  std::string optimisedLlvmText() const;
  /// Runs the step: `buffers` holds one pointer per buffer, in the order of
  /// `buffers()`, each with at least `elements(batch)` elements. No two
  /// buffers may overlap: the generated code assumes they do not.
  void run(void **buffers, int64_t batch) const;

  struct Impl;

private:
  explicit Executable(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

/// Owns zeroed buffers for one batch size and finds them by name.
class Instance {
public:
  Instance(const Executable &executable, int64_t batch);

  /// A param by its name, an input by its name or an output by its name
  /// (`loss`, `grad_W`); null if there is none.
  void *buffer(const std::string &name);
  /// Elements of the named buffer; -1 if there is none.
  int64_t elements(const std::string &name) const;
  int64_t batch() const { return batchSize; }
  /// Runs the executable on these buffers.
  void run();

private:
  int find(const std::string &name) const;

  const Executable &executable;
  int64_t batchSize;
  std::vector<std::vector<uint64_t>> storage; ///< 8-byte aligned elements.
  std::vector<void *> pointers;
};

} // namespace weft::codegen
