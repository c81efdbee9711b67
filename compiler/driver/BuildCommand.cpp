// `weft build`: compiles a model ahead of time. `--train` links a
// standalone trainer (the training step, the forward pass, the runtime and
// its `main`) that needs neither LLVM nor ANTLR to run; `--emit=obj` writes
// the forward pass as an object file for another program, and
// `--emit=header` the C header that declares it.
#include "compiler/driver/Commands.h"
#include "compiler/driver/Pipeline.h"
#include "runtime/Corpus.h"

#include "LinkConfig.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

namespace weft::driver {

namespace {

namespace fs = std::filesystem;

int fail(const std::string &message) {
  std::fprintf(stderr, "weft: error: %s\n", message.c_str());
  return 1;
}

bool writeFile(const fs::path &path, const std::string &bytes,
               std::string *error) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    *error = fmt::format("cannot write `{}`", path.string());
    return false;
  }
  return true;
}

/// Compiles `compilation`'s function into an object defining
/// `<prefix>_step`, `<prefix>_manifest` and the `extra` strings.
bool emitProgramObject(
    Compilation &compilation, const std::string &prefix, const fs::path &path,
    std::string *error,
    const std::vector<std::pair<std::string, std::string>> &extra = {}) {
  codegen::CompileOptions options;
  options.optLevel = optimizationLevel();
  auto strings = [&](const std::vector<runtime::BufferSpec> &buffers) {
    std::string manifest = runtime::manifestToJson(
        compilation.manifest(buffers, options.floatType));
    std::vector<std::pair<std::string, std::string>> strings = extra;
    strings.push_back({prefix + "_manifest", manifest});
    return strings;
  };
  std::optional<codegen::ObjectCode> object = codegen::compileObject(
      *compilation.function, options, prefix + "_step", strings, error);
  if (!object) {
    *error = "code generation failed: " + *error;
    return false;
  }
  return writeFile(path, object->bytes, error);
}

/// Runs a program with `arguments` (the first names it, found on PATH) and
/// waits for it; false after setting `error` if it cannot start or fails.
bool runProgram(const std::vector<std::string> &arguments, std::string *error) {
  std::vector<char *> argv;
  for (const std::string &argument : arguments)
    argv.push_back(const_cast<char *>(argument.c_str()));
  argv.push_back(nullptr);
  pid_t child = 0;
  if (posix_spawnp(&child, argv[0], nullptr, nullptr, argv.data(), environ) !=
      0) {
    *error = fmt::format("cannot start the linker `{}`: install a C++ "
                         "compiler (Debian: g++)",
                         arguments[0]);
    return false;
  }
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = fmt::format("linking failed: {}", fmt::join(arguments, " "));
    return false;
  }
  return true;
}

/// A scratch folder, removed when this goes out of scope.
class ScratchFolder {
public:
  ScratchFolder() {
    std::string pattern =
        (fs::temp_directory_path() / "weft-build-XXXXXX").string();
    if (mkdtemp(pattern.data()))
      path = pattern;
  }
  ~ScratchFolder() {
    std::error_code ignored;
    if (!path.empty())
      fs::remove_all(path, ignored);
  }
  fs::path path;
};

/// The number of distinct bytes of `--data`'s text, when it is given; false
/// after setting `error` if it cannot be read.
bool dataVocabulary(const BuildOptions &options,
                    std::optional<int64_t> &vocabulary,
                    std::vector<uint8_t> &bytes, std::string *error) {
  if (options.data.empty())
    return true;
  std::optional<runtime::Corpus> corpus =
      runtime::loadCorpus(options.data, error);
  if (!corpus)
    return false;
  vocabulary = corpus->vocabulary.size();
  bytes = corpus->vocabulary;
  return true;
}

/// Adds `<prefix>_ptx` and `<prefix>_plan` to `strings`: the program's GPU
/// kernels (for sm_80, which later GPUs also run) and their launch plan.
bool addGpuStrings(Compilation &compilation, const std::string &prefix,
                   std::vector<std::pair<std::string, std::string>> &strings,
                   std::string *error) {
  std::optional<codegen::GpuCode> code = codegen::compileGpuCode(
      *compilation.function, "sm_80", optimizationLevel(), error);
  if (!code) {
    *error = "GPU code generation failed: " + *error;
    return false;
  }
  strings.push_back({prefix + "_ptx", code->ptx});
  strings.push_back({prefix + "_plan", runtime::planToJson(code->plan)});
  return true;
}

int buildTrainer(const BuildOptions &options) {
  std::string error;
  std::optional<int64_t> vocabulary;
  std::vector<uint8_t> bytes;
  if (!dataVocabulary(options, vocabulary, bytes, &error))
    return fail(error);
  Compilation trainProgram, evalProgram;
  if (!compileForTraining(options.model, options.sizes, vocabulary,
                          trainProgram, evalProgram))
    return 1;
  // A model with inputs besides a token stream and its carried state
  // trains on examples.
  runtime::TrainingData data = vocabulary ? runtime::TrainingData::Text
                                          : runtime::TrainingData::Examples;
  if (!runtime::trainingModel(
          trainProgram.manifest({}, codegen::FloatType::F32), data, &error))
    return fail(error);

  ScratchFolder scratch;
  if (scratch.path.empty())
    return fail("cannot make a scratch folder for the objects");
  fs::path trainObject = scratch.path / "train.o";
  fs::path evalObject = scratch.path / "eval.o";
  std::string about = options.model;
  for (const auto &[name, value] : trainProgram.sizes)
    about += fmt::format(" {}={}", name, value);
  std::vector<std::pair<std::string, std::string>> trainStrings = {
      {"weft_trainer_about", about}};
  // The bytes that give the token ids, in hex (a text may hold any byte).
  if (!bytes.empty()) {
    std::string hex;
    for (uint8_t byte : bytes)
      hex += fmt::format("{:02x}", byte);
    trainStrings.push_back({"weft_trainer_vocabulary", hex});
  }
  std::vector<std::pair<std::string, std::string>> evalStrings;
  if (options.target == "cuda" &&
      (!addGpuStrings(trainProgram, "weft_train", trainStrings, &error) ||
       !addGpuStrings(evalProgram, "weft_eval", evalStrings, &error)))
    return fail(error);
  if (!emitProgramObject(trainProgram, "weft_train", trainObject, &error,
                         trainStrings) ||
      !emitProgramObject(evalProgram, "weft_eval", evalObject, &error,
                         evalStrings))
    return fail(error);

  std::vector<std::string> command = {linkerProgram,       "-o",
                                      options.output,      trainObject.string(),
                                      evalObject.string(), trainerMainArchive,
                                      runtimeArchive};
  for (const char *library : linkLibraries)
    command.push_back(library);
  if (!runProgram(command, &error))
    return fail(error);
  std::printf("wrote the trainer `%s` (%s%s)\n", options.output.c_str(),
              about.c_str(),
              options.target == "cuda" ? "; CPU and GPU code" : "");
  return 0;
}

/// The C name of the model: its own name in lower case, unless `--prefix`.
std::string symbolPrefix(const BuildOptions &options,
                         const Compilation &compilation) {
  if (!options.prefix.empty())
    return options.prefix;
  std::string prefix;
  for (char c : compilation.model->name)
    prefix += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return prefix;
}

std::string describeShape(const std::vector<int64_t> &shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

/// The C header of an object from `--emit=obj`: the runtime's C interface
/// (runtime/include/weft/embed.h), the object's two symbols, and shortcuts
/// named after the model.
std::string headerText(const Compilation &compilation,
                       const std::string &prefix) {
  std::string guard = "WEFT_MODEL_";
  for (char c : prefix)
    guard += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string text =
      fmt::format("/* Generated by `weft build --emit=header` from model {}.\n",
                  compilation.model->name);
  text += " * Sizes:";
  for (const auto &[name, value] : compilation.info.sizes)
    text += fmt::format(" {}={}", name, value);
  text += "\n *\n * Buffers by name. Streams are laid out time-major: "
          "[steps][batch][shape];\n * the others [batch][shape], parameters "
          "[shape].\n";
  for (const sema::ParamInfo &param : compilation.info.params)
    text += fmt::format(" *   param  {} {} float32\n", param.name,
                        describeShape(param.shape));
  for (const sema::InputInfo &input : compilation.info.inputs) {
    text += fmt::format(
        " *   input  {} {}{} {}\n", input.name,
        input.steps ? fmt::format("{} steps of ", input.steps) : "",
        describeShape(input.shape),
        input.isToken ? fmt::format("int64, each below {}", input.vocab)
                      : "float32");
  }
  for (const ir::NamedValue &output : compilation.function->outputs) {
    const ir::Type &type = output.value->type;
    text +=
        fmt::format(" *   output {} {}{} float32\n", output.name,
                    type.steps ? fmt::format("{} steps of ", type.steps) : "",
                    describeShape(type.shape));
  }
  text += " */\n";
  text += fmt::format("#ifndef {0}\n#define {0}\n\n", guard);
  text += "#include <weft/embed.h>\n\n";
  text += "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  text += fmt::format("void {}_step(void **buffers, int64_t batch);\n", prefix);
  text += fmt::format("extern const char {}_manifest[];\n\n", prefix);
  text += fmt::format(
      "/* The model's buffers for `batch` examples; free with "
      "weft_model_free. */\n"
      "static inline weft_model *{0}_create(int64_t batch) {{\n"
      "  return weft_model_create({0}_step, {0}_manifest, batch);\n}}\n\n",
      prefix);
  text += "#ifdef __cplusplus\n}\n#endif\n\n";
  text += fmt::format("#endif /* {} */\n", guard);
  return text;
}

int buildForEmbedding(const BuildOptions &options) {
  std::string error;
  std::optional<int64_t> vocabulary;
  std::vector<uint8_t> bytes;
  if (!dataVocabulary(options, vocabulary, bytes, &error))
    return fail(error);
  Compilation compilation;
  if (!buildWithVocabulary(compilation, options.model, options.sizes,
                           vocabulary, false))
    return 1;
  std::string prefix = symbolPrefix(options, compilation);
  if (options.emit == "obj") {
    if (!emitProgramObject(compilation, prefix, options.output, &error))
      return fail(error);
  } else if (!writeFile(options.output, headerText(compilation, prefix),
                        &error)) {
    return fail(error);
  }
  return 0;
}

} // namespace

int buildCommand(const BuildOptions &options) {
  if (options.train == !options.emit.empty())
    return fail("`weft build` makes either a trainer (`--train`) or an object "
                "to embed (`--emit=obj` or `--emit=header`)");
  return options.train ? buildTrainer(options) : buildForEmbedding(options);
}

} // namespace weft::driver
