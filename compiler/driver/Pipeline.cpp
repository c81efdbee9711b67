// The stages in order, each a line, stopping at the first that fails.
#include "compiler/driver/Pipeline.h"
#include "compiler/autodiff/Autodiff.h"
#include "compiler/opt/AccumulateAfterSweep.h"
#include "compiler/opt/FuseSharedProducts.h"
#include "compiler/opt/HoistStepInvariant.h"
#include "compiler/opt/JoinPaddedSlices.h"
#include "compiler/opt/MergeDuplicates.h"
#include "compiler/opt/SplitScans.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace weft::driver {

namespace fs = std::filesystem;

std::string findStdlib() {
  if (const char *fromEnvironment = std::getenv("WEFT_STDLIB"))
    return fromEnvironment;
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    fs::path installed =
        self.parent_path() / ".." / "share" / "weft" / "stdlib";
    if (fs::is_directory(installed))
      return installed.string();
  }
  return WEFT_SOURCE_STDLIB;
}

/// Parses `--set NAME=VALUE` options into size bindings; reports bad ones.
static bool parseSizeOptions(const std::vector<std::string> &options,
                             sema::SizeBindings &sizes,
                             DiagnosticEngine &diags) {
  for (const std::string &option : options) {
    size_t equals = option.find('=');
    int64_t value = 0;
    const char *begin = option.data() + equals + 1;
    const char *end = option.data() + option.size();
    auto parsed =
        equals == std::string::npos
            ? std::from_chars_result{begin, std::errc::invalid_argument}
            : std::from_chars(begin, end, value);
    if (equals == 0 || parsed.ec != std::errc() || parsed.ptr != end ||
        value <= 0) {
      diags.errorWithoutLocation(fmt::format(
          "`--set {}` should be NAME=N with N a positive whole number",
          option));
      return false;
    }
    sizes[option.substr(0, equals)] = value;
  }
  return true;
}

bool Compilation::load(const std::string &path, bool needModel) {
  program = sema::loadProgram(path, findStdlib(), sources, *diags);
  if (!program || !sema::checkProgram(*program, *diags))
    return false;
  if (!needModel)
    return true;
  model = program->findModel("");
  if (!model) {
    diags->errorWithoutLocation(
        fmt::format("`{}` declares no `model` to run", path));
    return false;
  }
  return true;
}

bool Compilation::bindSizeOptions(const std::vector<std::string> &options) {
  if (!parseSizeOptions(options, sizes, *diags))
    return false;
  for (const auto &[name, value] : sizes) {
    bool known = std::any_of(
        model->parameters.begin(), model->parameters.end(),
        [&](const ast::Parameter &size) { return size.name == name; });
    if (!known) {
      diags->errorWithoutLocation(
          fmt::format("`--set {}={}`: model `{}` has no size `{}`", name, value,
                      model->name, name));
      return false;
    }
  }
  return true;
}

bool Compilation::build(bool withGradients) {
  function = sema::buildModel(*program, *model, sizes, info, *diags);
  if (!function)
    return false;
  if (std::string problem = ir::verify(*function); !problem.empty()) {
    diags->errorWithoutLocation("internal error: invalid IR: " + problem);
    return false;
  }
  // Optimisations that shape the reverse pass run before autodiff.
  opt::splitScans(*function);
  opt::hoistStepInvariant(*function);
  opt::fuseSharedProducts(*function);
  if (std::string problem = ir::verify(*function); !problem.empty()) {
    diags->errorWithoutLocation(
        "internal error: invalid IR after hoisting and fusing: " + problem);
    return false;
  }
  if (!withGradients)
    return true;
  autodiff::appendGradients(*function);
  if (std::string problem = ir::verify(*function); !problem.empty()) {
    diags->errorWithoutLocation("internal error: invalid gradient IR: " +
                                problem);
    return false;
  }
  // Optimisations of the whole program, forward and reverse.
  opt::mergeDuplicates(*function);
  opt::joinPaddedSlices(*function);
  opt::accumulateAfterSweep(*function);
  if (std::string problem = ir::verify(*function); !problem.empty()) {
    diags->errorWithoutLocation(
        "internal error: invalid IR after moving weight gradients out of "
        "time loops: " +
        problem);
    return false;
  }
  return true;
}

namespace {
/// How hard LLVM optimises, for every compilation of this process.
int optimizationLevel = codegen::CompileOptions().optLevel;
} // namespace

void setOptimizationLevel(int level) { optimizationLevel = level; }

bool Compilation::compile(codegen::FloatType floatType) {
  codegen::CompileOptions options;
  options.floatType = floatType;
  options.optLevel = optimizationLevel;
  std::string error;
  executable = codegen::Executable::compile(*function, options, &error);
  if (!executable) {
    diags->errorWithoutLocation("code generation failed: " + error);
    return false;
  }
  return true;
}

} // namespace weft::driver
