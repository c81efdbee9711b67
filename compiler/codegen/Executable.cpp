// The public API of the CPU code generator: lowers a Function, JIT-compiles
// the lowered program, and keeps the buffer table; an Instance allocates the
// buffers for one batch size and runs the step on them.
#include "compiler/codegen/Executable.h"
#include "compiler/codegen/HostDevice.h"
#include "compiler/codegen/Jit.h"
#include "compiler/lower/Lower.h"

#include <cassert>

namespace weft::codegen {

struct Executable::Impl {
  CompileOptions options;
  std::vector<BufferSpec> buffers;
  std::string loweredText;
  std::string llvmText;
  std::string optimisedLlvmText;
  std::unique_ptr<JitModule> code;
};

namespace {

BufferRole roleOf(lower::BufferRole role) {
  switch (role) {
  case lower::BufferRole::Param:
    return BufferRole::Param;
  case lower::BufferRole::Input:
    return BufferRole::Input;
  case lower::BufferRole::Output:
    return BufferRole::Output;
  case lower::BufferRole::Temp:
    return BufferRole::Temp;
  }
  return BufferRole::Temp;
}

std::vector<BufferSpec> bufferSpecs(const lower::LoweredProgram &program) {
  std::vector<BufferSpec> specs;
  for (const lower::Buffer &buffer : program.buffers)
    specs.push_back({buffer.name, roleOf(buffer.role),
                     buffer.element == lower::ElementKind::Int,
                     buffer.size.fixed, buffer.size.perBatch});
  return specs;
}

} // namespace

Executable::Executable(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
Executable::~Executable() = default;

std::unique_ptr<Executable> Executable::compile(const ir::Function &function,
                                                const CompileOptions &options,
                                                std::string *error) {
  std::string message;
  std::optional<lower::LoweredProgram> program =
      lower::lowerFunction(function, &message);
  auto impl = std::make_unique<Impl>();
  if (program) {
    impl->options = options;
    impl->buffers = bufferSpecs(*program);
    impl->loweredText = lower::printLowered(*program);
    impl->code = compileProgram(*program, options, impl->llvmText,
                                impl->optimisedLlvmText, message);
  }
  if (!impl->code) {
    if (error)
      *error = message;
    return nullptr;
  }
  return std::unique_ptr<Executable>(new Executable(std::move(impl)));
}

const std::vector<BufferSpec> &Executable::buffers() const {
  return impl->buffers;
}
size_t Executable::floatBytes() const {
  return impl->options.floatType == FloatType::F32 ? 4 : 8;
}
const CompileOptions &Executable::options() const { return impl->options; }
std::string Executable::loweredText() const { return impl->loweredText; }
std::string Executable::llvmText() const { return impl->llvmText; }
std::string Executable::optimisedLlvmText() const {
  return impl->optimisedLlvmText;
}

void Executable::run(void **buffers, int64_t batch) const {
  impl->code->entry()(buffers, batch);
}

std::optional<ObjectCode> compileObject(const ir::Function &function,
                                        const CompileOptions &options,
                                        const std::string &entry,
                                        const ObjectStrings &strings,
                                        std::string *error) {
  std::string message;
  std::optional<lower::LoweredProgram> program =
      lower::lowerFunction(function, &message);
  ObjectCode code;
  if (program) {
    code.buffers = bufferSpecs(*program);
    if (compileObjectFile(*program, options, entry, strings(code.buffers),
                          code.bytes, message))
      return code;
  }
  *error = message;
  return std::nullopt;
}

std::optional<GpuCode> compileGpuCode(const ir::Function &function,
                                      const std::string &gpu, int optLevel,
                                      std::string *error) {
  std::optional<lower::LoweredProgram> program =
      lower::lowerFunction(function, error);
  if (!program)
    return std::nullopt;
  PtxOptions options;
  options.gpu = gpu;
  options.optLevel = optLevel;
  GpuCode code;
  code.buffers = bufferSpecs(*program);
  if (!compilePtx(*program, options, code.ptx, code.plan, *error))
    return std::nullopt;
  return code;
}

std::optional<std::string> compileGpuKernels(const ir::Function &function,
                                             const std::string &gpu,
                                             int optLevel, std::string *error) {
  std::optional<GpuCode> code = compileGpuCode(function, gpu, optLevel, error);
  if (!code)
    return std::nullopt;
  std::string plan = runtime::describePlan(code->plan);
  std::string text = "// Weft GPU kernels of `" + function.name + "` for " +
                     gpu + ", float32.\n// Launch plan, in order:\n";
  size_t start = 0;
  for (size_t end; (end = plan.find('\n', start)) != std::string::npos;
       start = end + 1)
    text += "//   " + plan.substr(start, end - start) + "\n";
  return text + "\n" + code->ptx;
}

std::unique_ptr<runtime::Program>
compileHostEmulatedGpuProgram(const ir::Function &function,
                              std::string *error) {
  std::optional<lower::LoweredProgram> program =
      lower::lowerFunction(function, error);
  if (!program)
    return nullptr;
  runtime::DevicePlan plan;
  std::unique_ptr<HostKernels> kernels =
      compileHostKernels(*program, plan, *error);
  if (!kernels)
    return nullptr;
  return std::make_unique<runtime::DeviceProgram>(
      bufferSpecs(*program), std::move(plan),
      std::make_unique<HostDevice>(std::move(kernels)));
}

} // namespace weft::codegen
