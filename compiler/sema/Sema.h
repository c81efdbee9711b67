// Semantic analysis: loads a program and its imports, resolves names, checks
// sizes and shapes, orders equations, and instantiates a model's cells into
// the tensor IR with every size bound to a number.
#pragma once

#include "compiler/ir/IR.h"
#include "compiler/support/Diagnostics.h"
#include "compiler/syntax/AST.h"
#include "runtime/ModelSpecs.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace weft::sema {

/// A main module, every module it imports, and their declarations by name.
class Program {
public:
  std::vector<std::unique_ptr<ast::Module>> modules;
  std::map<std::string, const ast::Decl *> decls;
  const ast::Module *main = nullptr;

  /// The model called `name`, or the main module's only model when `name` is
  /// empty; null if there is none.
  const ast::Decl *findModel(const std::string &name) const;
};

/// Parses `path` and, transitively, its imports: `import std.gru` reads
/// `<stdlibDir>/gru.weft`; any other `import a.b` reads `a/b.weft` beside the
/// importing file. Returns null after reporting errors.
std::unique_ptr<Program> loadProgram(const std::string &path,
                                     const std::string &stdlibDir,
                                     SourceManager &sources,
                                     DiagnosticEngine &diags);

/// Refuses a built program with a value of more than 2^31 elements per
/// example, reporting it where it was written.
bool checkValueSizes(const ir::Function &function, DiagnosticEngine &diags);

/// Checks every cell and model of the program with symbolic sizes.
bool checkProgram(const Program &program, DiagnosticEngine &diags);

/// A trainable parameter with its concrete shape and initialiser, and a
/// model input with its concrete per-example type: the runtime's own
/// descriptions, which manifests carry.
using ParamInfo = runtime::ParamSpec;
using InputInfo = runtime::InputSpec;

/// What a built model needs from outside and gives back.
struct ModelInfo {
  std::vector<ParamInfo> params;
  std::vector<InputInfo> inputs;
  std::vector<std::string> outputs; ///< Forward outputs, then `loss`.
  std::map<std::string, int64_t> sizes;
};

/// Size names bound to numbers.
using SizeBindings = std::map<std::string, int64_t>;

/// Array shapes as stored on disk: inputs with their batch axis (streams
/// time-major, `[T, B, ...]`; others `[B, ...]`), parameters without.
struct ArrayShapes {
  std::map<std::string, std::vector<int64_t>> params;
  std::map<std::string, std::vector<int64_t>> inputs;
  /// Where each array came from, by name, for messages; a name without
  /// one is shown as itself.
  std::map<std::string, std::string> paramPaths, inputPaths;
};

/// Binds the model's sizes that the given arrays determine (its own
/// parameters, inputs and time bounds) and reports arrays that disagree.
bool bindSizesFromArrays(const ast::Decl &model, const ArrayShapes &arrays,
                         SizeBindings &sizes, DiagnosticEngine &diags);

/// Instantiates `model` with every size bound; fills `info`. The function's
/// outputs are the model's outputs and `loss`. Returns null after errors.
std::unique_ptr<ir::Function>
buildModel(const Program &program, const ast::Decl &model,
           const SizeBindings &sizes, ModelInfo &info, DiagnosticEngine &diags);

} // namespace weft::sema
