// `weft check` and `weft --emit=STAGE`: the front end, sema, and a dump of
// any one stage of the pipeline.
#include "compiler/driver/Commands.h"
#include "compiler/driver/Pipeline.h"
#include "compiler/syntax/AstPrinter.h"
#include "compiler/syntax/Parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace weft::driver {

int checkCommand(const std::vector<std::string> &files) {
  int status = 0;
  for (const std::string &file : files) {
    Compilation compilation;
    if (!compilation.load(file, false))
      status = 1;
  }
  return status;
}

namespace {

int emitAst(const std::string &file) {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  std::error_code ignored;
  int fileId = std::filesystem::is_regular_file(file, ignored)
                   ? sources.addFile(file)
                   : -1;
  if (fileId < 0) {
    diags.errorWithoutLocation(fmt::format("cannot read `{}`", file));
    return 1;
  }
  auto module = syntax::parseModule(sources, fileId, diags);
  if (!module)
    return 1;
  std::fputs(syntax::printAst(*module).c_str(), stdout);
  return 0;
}

} // namespace

int emitCommand(const EmitOptions &options) {
  if (options.stage == "ast")
    return emitAst(options.file);
  static const std::vector<std::string> stages = {"ir", "grad-ir", "lowered",
                                                  "llvm", "ptx"};
  if (std::find(stages.begin(), stages.end(), options.stage) == stages.end()) {
    std::fprintf(stderr,
                 "weft: error: unknown stage `%s`; use ast, ir, grad-ir, "
                 "lowered, llvm or ptx\n",
                 options.stage.c_str());
    return 1;
  }
  if (options.stage == "ptx" && options.useDouble) {
    std::fputs("weft: error: the GPU kernels are float32 only (PTX has no "
               "double-precision logarithm without libdevice); drop --f64\n",
               stderr);
    return 1;
  }
  Compilation compilation;
  if (!compilation.load(options.file) ||
      !compilation.bindSizeOptions(options.sizes) ||
      !compilation.build(options.stage != "ir"))
    return 1;
  if (options.stage == "ir" || options.stage == "grad-ir") {
    std::fputs(ir::print(*compilation.function).c_str(), stdout);
    return 0;
  }
  if (options.stage == "ptx") {
    std::string error;
    std::optional<std::string> ptx = codegen::compileGpuKernels(
        *compilation.function, options.gpu, optimizationLevel(), &error);
    if (!ptx) {
      std::fprintf(stderr, "weft: error: %s\n", error.c_str());
      return 1;
    }
    std::fputs(ptx->c_str(), stdout);
    return 0;
  }
  if (!compilation.compile(options.useDouble ? codegen::FloatType::F64
                                             : codegen::FloatType::F32))
    return 1;
  std::fputs(options.stage == "llvm"
                 ? compilation.executable->llvmText().c_str()
                 : compilation.executable->loweredText().c_str(),
             stdout);
  return 0;
}

} // namespace weft::driver
