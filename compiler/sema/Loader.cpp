// Loading: parses the main file and every file it imports, once each, and
// collects the declarations of all of them by name.
#include "compiler/sema/Sema.h"
#include "compiler/syntax/Parser.h"

#include <fmt/format.h>

#include <filesystem>
#include <set>

namespace weft::sema {

namespace fs = std::filesystem;

const ast::Decl *Program::findModel(const std::string &name) const {
  if (!name.empty()) {
    auto found = decls.find(name);
    if (found == decls.end() || found->second->kind != ast::DeclKind::Model)
      return nullptr;
    return found->second;
  }
  for (const ast::Decl &decl : main->decls)
    if (decl.kind == ast::DeclKind::Model)
      return &decl;
  return nullptr;
}

namespace {

class Loader {
public:
  Loader(const std::string &stdlibDir, SourceManager &sources,
         DiagnosticEngine &diags, Program &program)
      : stdlibDir(stdlibDir), sources(sources), diags(diags), program(program) {
  }

  /// Parses one file and, recursively, its imports.
  const ast::Module *load(const fs::path &path, SourceRange importRange) {
    std::error_code ignored;
    fs::path canonical = fs::weakly_canonical(path, ignored);
    if (!loaded.insert(canonical.string()).second)
      return nullptr;
    int fileId =
        fs::is_regular_file(path) ? sources.addFile(path.string()) : -1;
    if (fileId < 0) {
      if (importRange.isValid())
        diags.error(importRange, fmt::format("cannot read imported file `{}`",
                                             path.string()));
      else
        diags.errorWithoutLocation(
            fmt::format("cannot read `{}`: {}", path.string(),
                        !fs::exists(path)        ? "no such file"
                        : fs::is_directory(path) ? "it is a folder"
                                                 : "permission denied"));
      return nullptr;
    }
    if (sources.text(fileId).find('\0') != std::string::npos) {
      diags.errorWithoutLocation(fmt::format(
          "`{}` is not a model file: it holds binary data", path.string()));
      return nullptr;
    }
    auto module = syntax::parseModule(sources, fileId, diags);
    if (!module)
      return nullptr;
    const ast::Module *result = module.get();
    program.modules.push_back(std::move(module));
    for (const ast::Import &import : result->imports)
      load(resolve(import, path), import.range);
    declare(*result);
    return result;
  }

private:
  fs::path resolve(const ast::Import &import, const fs::path &from) {
    fs::path base = from.parent_path();
    size_t first = 0;
    if (import.path.size() > 1 && import.path[0] == "std") {
      base = stdlibDir;
      first = 1;
    }
    for (size_t i = first; i < import.path.size(); ++i)
      base /= import.path[i];
    base += ".weft";
    return base;
  }

  void declare(const ast::Module &module) {
    for (const ast::Decl &decl : module.decls) {
      auto [slot, inserted] = program.decls.emplace(decl.name, &decl);
      if (inserted)
        continue;
      diags.error(decl.nameRange,
                  fmt::format("`{}` is declared twice", decl.name));
      diags.note(slot->second->nameRange, "the first declaration is here");
    }
  }

  std::string stdlibDir;
  SourceManager &sources;
  DiagnosticEngine &diags;
  Program &program;
  std::set<std::string> loaded;
};

} // namespace

std::unique_ptr<Program> loadProgram(const std::string &path,
                                     const std::string &stdlibDir,
                                     SourceManager &sources,
                                     DiagnosticEngine &diags) {
  auto program = std::make_unique<Program>();
  Loader loader(stdlibDir, sources, diags, *program);
  program->main = loader.load(path, SourceRange{});
  if (!program->main || diags.hasErrors())
    return nullptr;
  return program;
}

} // namespace weft::sema
