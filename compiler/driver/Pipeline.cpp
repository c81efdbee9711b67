// The stages in order, each a line, stopping at the first that fails.
#include "compiler/driver/Pipeline.h"
#include "compiler/autodiff/Autodiff.h"
#include "compiler/opt/AccumulateAfterSweep.h"
#include "compiler/opt/FuseSharedProducts.h"
#include "compiler/opt/HoistStepInvariant.h"
#include "compiler/opt/JoinPaddedSlices.h"
#include "compiler/opt/MergeDuplicates.h"
#include "compiler/opt/SplitScans.h"
#include "runtime/Cuda.h"

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
int chosenOptimizationLevel = codegen::CompileOptions().optLevel;
} // namespace

void setOptimizationLevel(int level) { chosenOptimizationLevel = level; }
int optimizationLevel() { return chosenOptimizationLevel; }

bool Compilation::compile(codegen::FloatType floatType) {
  codegen::CompileOptions options;
  options.floatType = floatType;
  options.optLevel = chosenOptimizationLevel;
  std::string error;
  executable = codegen::Executable::compile(*function, options, &error);
  if (!executable) {
    diags->errorWithoutLocation("code generation failed: " + error);
    return false;
  }
  return true;
}

bool Compilation::compileForDevice(const std::string &device) {
  std::string error;
  if (device == "gpu-emulated") {
    deviceProgram = codegen::compileHostEmulatedGpuProgram(*function, &error);
  } else if (std::optional<codegen::GpuCode> code = codegen::compileGpuCode(
                 *function, "sm_80", chosenOptimizationLevel, &error)) {
    // PTX for sm_80 runs on every later GPU: the driver compiles it for
    // the one present as it loads it.
    if (std::unique_ptr<runtime::Device> gpu =
            runtime::openCudaDevice(code->ptx, code->plan.kernelCount, &error))
      deviceProgram = std::make_unique<runtime::DeviceProgram>(
          std::move(code->buffers), std::move(code->plan), std::move(gpu));
  }
  if (!deviceProgram) {
    diags->errorWithoutLocation(error);
    return false;
  }
  return true;
}

runtime::Manifest
Compilation::manifest(std::vector<runtime::BufferSpec> buffers,
                      codegen::FloatType floatType) const {
  runtime::Manifest manifest;
  manifest.floatBytes = floatType == codegen::FloatType::F32 ? 4 : 8;
  manifest.buffers = std::move(buffers);
  manifest.params = info.params;
  manifest.inputs = info.inputs;
  int64_t vocab = 0;
  for (const sema::InputInfo &input : info.inputs)
    if (input.isToken && input.steps > 1 && vocab == 0)
      vocab = input.vocab;
  for (const ir::NamedValue &output : function->outputs)
    if (std::find(info.outputs.begin(), info.outputs.end(), output.name) !=
        info.outputs.end())
      manifest.outputs.push_back(
          {output.name, output.value->type.shape, output.value->type.steps});
  // Sampling reads the per-step scores over the token stream's vocabulary.
  for (const ir::NamedValue &output : function->outputs) {
    const ir::Type &type = output.value->type;
    if (type.steps && type.shape.size() == 1 && type.shape[0] == vocab) {
      manifest.logits = output.name;
      break;
    }
  }
  return manifest;
}

namespace {

/// Binds the size of the token vocabulary (`token(V)`) to the corpus's;
/// a size given with `--set` must leave room for every byte of the text.
bool bindVocabulary(const ast::Decl &model, int64_t vocabulary,
                    sema::SizeBindings &sizes, DiagnosticEngine &diags) {
  for (const ast::Stmt &stmt : model.body) {
    if (stmt.kind != ast::StmtKind::Input || !stmt.declared[0].type.isToken)
      continue;
    const ast::Expr &vocab = *stmt.declared[0].type.vocab;
    if (vocab.kind != ast::ExprKind::Name)
      continue;
    auto given = sizes.find(vocab.name);
    if (given == sizes.end()) {
      sizes[vocab.name] = vocabulary;
    } else if (given->second < vocabulary) {
      diags.errorWithoutLocation(fmt::format(
          "the text has {} distinct bytes, but `--set {}={}` leaves room "
          "for only {} token ids",
          vocabulary, vocab.name, given->second, given->second));
      return false;
    }
  }
  return true;
}

} // namespace

bool buildWithVocabulary(Compilation &compilation, const std::string &modelPath,
                         const std::vector<std::string> &sizeOptions,
                         std::optional<int64_t> vocabulary,
                         bool withGradients) {
  return compilation.load(modelPath) &&
         compilation.bindSizeOptions(sizeOptions) &&
         (!vocabulary ||
          bindVocabulary(*compilation.model, *vocabulary, compilation.sizes,
                         *compilation.diags)) &&
         compilation.build(withGradients);
}

bool compileForTraining(const std::string &modelPath,
                        const std::vector<std::string> &sizeOptions,
                        std::optional<int64_t> vocabulary,
                        Compilation &trainProgram, Compilation &evalProgram) {
  return buildWithVocabulary(trainProgram, modelPath, sizeOptions, vocabulary,
                             true) &&
         buildWithVocabulary(evalProgram, modelPath, sizeOptions, vocabulary,
                             false);
}

} // namespace weft::driver
