// The fuzz target: arbitrary bytes in, treated as one .weft file, through
// what `weft check` and `weft --emit=grad-ir` run (parse, imports, checks,
// then the IR and its gradients for every model). Errors in the input must
// come back as diagnostics; a crash, a hang, a leak, a sanitizer report, an
// escaping exception or invalid IR is a compiler bug.
#include "compiler/autodiff/Autodiff.h"
#include "compiler/ir/IR.h"
#include "compiler/opt/HoistStepInvariant.h"
#include "compiler/sema/Sema.h"
#include "compiler/support/Diagnostics.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

/// Sizes without a default get this value, as `--set NAME=3` would give
/// them: small enough that building stays fast.
constexpr int64_t placeholderSize = 3;

/// The standard library: $WEFT_STDLIB as for `weft`, else the source tree's.
std::string stdlibDir() {
  if (const char *fromEnvironment = std::getenv("WEFT_STDLIB"))
    return fromEnvironment;
  return WEFT_FUZZ_STDLIB;
}

/// One input on disk, for as long as it is loaded: the loader reads files
/// only. It lies alone in a folder of this process's own, so a relative
/// import looks beside it and finds nothing; the folder is removed as soon
/// as the input is done, since libFuzzer may end the process without
/// running destructors of statics.
class ScratchFile {
public:
  ScratchFile(const uint8_t *data, size_t size)
      : folder(fs::temp_directory_path() /
               ("weft-fuzz-" + std::to_string(::getpid()))),
        path((folder / "input.weft").string()) {
    fs::create_directories(folder);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data),
              static_cast<std::streamsize>(size));
    if (!out) {
      std::fprintf(stderr, "weft_fuzz: cannot write `%s`\n", path.c_str());
      std::abort();
    }
  }
  ~ScratchFile() {
    std::error_code ignored;
    fs::remove_all(folder, ignored);
  }
  ScratchFile(const ScratchFile &) = delete;
  ScratchFile &operator=(const ScratchFile &) = delete;

  const fs::path folder;
  const std::string path;
};

/// Stops the run, which the fuzzer then saves, when the IR a stage built
/// breaks its invariants; `weft` would report an internal error here.
void requireValidIr(const weft::ir::Function &function, const char *stage) {
  std::string problem = weft::ir::verify(function);
  if (problem.empty())
    return;
  std::fprintf(stderr, "weft_fuzz: invalid IR after %s: %s\n", stage,
               problem.c_str());
  std::abort();
}

/// Builds one model as the driver's pipeline does, with every size that has
/// no default bound to the placeholder.
void buildModel(const weft::sema::Program &program,
                const weft::ast::Decl &model, weft::DiagnosticEngine &diags) {
  weft::sema::SizeBindings sizes;
  for (const weft::ast::Parameter &size : model.parameters)
    if (!size.defaultValue)
      sizes[size.name] = placeholderSize;

  weft::sema::ModelInfo info;
  auto function = weft::sema::buildModel(program, model, sizes, info, diags);
  if (!function)
    return;
  requireValidIr(*function, "building the model");
  weft::opt::hoistStepInvariant(*function);
  requireValidIr(*function, "hoisting");
  weft::autodiff::appendGradients(*function);
  requireValidIr(*function, "differentiating");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ScratchFile input(data, size);

  weft::SourceManager sources;
  weft::DiagnosticEngine diags(sources);
  diags.setPrintImmediately(std::getenv("WEFT_FUZZ_VERBOSE") != nullptr);

  auto program =
      weft::sema::loadProgram(input.path, stdlibDir(), sources, diags);
  if (program && weft::sema::checkProgram(*program, diags))
    for (const weft::ast::Decl &decl : program->main->decls)
      if (decl.kind == weft::ast::DeclKind::Model)
        buildModel(*program, decl, diags);

  // Formatting puts carets under every reported range; it must cope with
  // whatever range a stage reported.
  diags.formatAll();
  return 0;
}
