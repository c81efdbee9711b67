// Golden tests: every golden/*.weft must print the AST in its .ast file, and
// every errors/*.weft must give exactly the diagnostics in its .err file.
// Also parses every .weft file of the repository.
#include "SyntaxTestSupport.h"

#include <algorithm>
#include <vector>

namespace weft::syntax::testing {
namespace {

namespace fs = std::filesystem;

const fs::path testDir = WEFT_SYNTAX_TEST_DIR;
const fs::path repoRoot = WEFT_REPO_ROOT;

std::vector<fs::path> weftFilesIn(const fs::path &dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir))
    return files;
  for (const fs::directory_entry &entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".weft")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string testNameOf(const ::testing::TestParamInfo<fs::path> &info) {
  std::string name = info.param.stem().string();
  for (char &c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      c = '_';
  return name;
}

class AstGolden : public ::testing::TestWithParam<fs::path> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(AstGolden);

TEST_P(AstGolden, PrintsAsExpected) {
  const fs::path &source = GetParam();
  Parsed parsed = parseText(readFile(source), source.filename().string());
  ASSERT_TRUE(parsed.module) << parsed.diagnostics;
  EXPECT_EQ(parsed.diagnostics, "");
  fs::path golden = source;
  expectGolden(golden.replace_extension(".ast"), printAst(*parsed.module));
}

INSTANTIATE_TEST_SUITE_P(Syntax, AstGolden,
                         ::testing::ValuesIn(weftFilesIn(testDir / "golden")),
                         testNameOf);

class ErrorGolden : public ::testing::TestWithParam<fs::path> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ErrorGolden);

TEST_P(ErrorGolden, ReportsAsExpected) {
  const fs::path &source = GetParam();
  Parsed parsed = parseText(readFile(source), source.filename().string());
  EXPECT_FALSE(parsed.module);
  EXPECT_GE(parsed.errorCount, 1u);
  fs::path golden = source;
  expectGolden(golden.replace_extension(".err"), parsed.diagnostics);
}

INSTANTIATE_TEST_SUITE_P(Syntax, ErrorGolden,
                         ::testing::ValuesIn(weftFilesIn(testDir / "errors")),
                         testNameOf);

/// Every .weft file under stdlib/, examples/ and tests/.
std::vector<fs::path> repositoryPrograms() {
  std::vector<fs::path> files;
  for (const char *top : {"stdlib", "examples", "tests"}) {
    fs::path dir = repoRoot / top;
    if (!fs::is_directory(dir))
      continue;
    for (const fs::directory_entry &entry :
         fs::recursive_directory_iterator(dir))
      if (entry.path().extension() == ".weft")
        files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

/// The diagnostics a test expects from `file`, from a `.expected` or
/// `.err` file beside it; empty when there is none.
std::string expectedDiagnostics(const fs::path &file) {
  for (const char *extension : {".expected", ".err"}) {
    fs::path expected = file;
    expected.replace_extension(extension);
    if (fs::exists(expected))
      return readFile(expected);
  }
  return "";
}

/// Each program parses, or fails with exactly the diagnostics its test
/// expects (a syntax-error case of this or another stage's tests).
TEST(RepositoryPrograms, AllParse) {
  std::vector<fs::path> files = repositoryPrograms();
  if (files.empty())
    GTEST_SKIP() << "no .weft files under stdlib/, examples/ or tests/";
  for (const fs::path &file : files) {
    Parsed parsed = parseText(readFile(file), file.filename().string());
    if (parsed.module)
      continue;
    EXPECT_EQ(parsed.diagnostics, expectedDiagnostics(file))
        << fs::relative(file, repoRoot).string()
        << " does not parse, and no .expected or .err file beside it says "
           "it should fail this way";
  }
}

} // namespace
} // namespace weft::syntax::testing
