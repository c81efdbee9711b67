// A compiled step as the runtime sees it: a table of buffers and a function
// that runs on them. The JIT (codegen::Executable) and the code linked into
// a standalone trainer both provide one; an Instance owns the buffers for
// one batch size. Nothing here knows how the code was made.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace weft::runtime {

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

/// The generated entry point: one pointer per buffer, and the batch size.
using StepFunction = void (*)(void **buffers, int64_t batch);

/// A compiled step. Its `run` reads the params and inputs, writes the
/// outputs and uses the temps as scratch; it relies on no buffer's previous
/// contents, so running it twice gives the same results.
class Program {
public:
  virtual ~Program() = default;
  virtual const std::vector<BufferSpec> &buffers() const = 0;
  /// 4 for float32 code, 8 for float64.
  virtual size_t floatBytes() const = 0;
  /// Runs the step: `buffers` holds one pointer per buffer, in the order of
  /// `buffers()`, each with at least `elements(batch)` elements. No two
  /// buffers may overlap: the generated code assumes they do not.
  virtual void run(void **buffers, int64_t batch) const = 0;
};

/// A step linked into this executable, with its buffer table.
class LinkedProgram final : public Program {
public:
  LinkedProgram(StepFunction step, std::vector<BufferSpec> buffers,
                size_t floatBytes)
      : step(step), table(std::move(buffers)), bytesPerFloat(floatBytes) {}
  const std::vector<BufferSpec> &buffers() const override { return table; }
  size_t floatBytes() const override { return bytesPerFloat; }
  void run(void **buffers, int64_t batch) const override {
    step(buffers, batch);
  }

private:
  StepFunction step;
  std::vector<BufferSpec> table;
  size_t bytesPerFloat;
};

/// Owns zeroed buffers for one batch size and finds them by name.
class Instance {
public:
  Instance(const Program &program, int64_t batch);

  /// A param by its name, an input by its name or an output by its name
  /// (`loss`, `grad_W`); null if there is none.
  void *buffer(const std::string &name);
  /// Elements of the named buffer; -1 if there is none.
  int64_t elements(const std::string &name) const;
  int64_t batch() const { return batchSize; }
  /// Runs the program on these buffers.
  void run();

private:
  int find(const std::string &name) const;

  const Program &program;
  int64_t batchSize;
  std::vector<std::vector<uint64_t>> storage; ///< 8-byte aligned elements.
  std::vector<void *> pointers;
};

} // namespace weft::runtime
