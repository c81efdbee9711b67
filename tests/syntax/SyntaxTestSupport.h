// Helpers shared by the syntax tests: parse a string, and compare output
// against a golden file (or rewrite it when WEFT_UPDATE_GOLDEN=1).
#pragma once

#include "compiler/support/Diagnostics.h"
#include "compiler/syntax/AstPrinter.h"
#include "compiler/syntax/Parser.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace weft::syntax::testing {

/// What parsing one buffer gave: the module (null on errors) and every
/// diagnostic, formatted as the driver would print them.
struct Parsed {
  std::unique_ptr<ast::Module> module;
  std::string diagnostics;
  unsigned errorCount = 0;
};

inline Parsed parseText(const std::string &text,
                        const std::string &name = "test.weft") {
  SourceManager sources;
  int fileId = sources.addBuffer(name, text);
  DiagnosticEngine diags(sources);
  diags.setPrintImmediately(false);
  Parsed parsed;
  parsed.module = parseModule(sources, static_cast<uint32_t>(fileId), diags);
  parsed.diagnostics = diags.formatAll();
  parsed.errorCount = diags.errorCount();
  return parsed;
}

inline std::string readFile(const std::filesystem::path &path) {
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream contents;
  contents << stream.rdbuf();
  return contents.str();
}

inline bool updatingGolden() {
  const char *value = std::getenv("WEFT_UPDATE_GOLDEN");
  return value && std::string(value) == "1";
}

/// Checks `actual` against the golden file, or rewrites the file.
inline void expectGolden(const std::filesystem::path &golden,
                         const std::string &actual) {
  if (updatingGolden()) {
    std::ofstream(golden, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(golden))
      << golden << " is missing; run with WEFT_UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(readFile(golden), actual) << "golden file: " << golden;
}

} // namespace weft::syntax::testing
