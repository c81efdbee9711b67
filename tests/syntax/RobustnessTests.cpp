// The parser must never crash or hang: empty and binary input, unbalanced
// brackets, very deep nesting, very long expressions, and random mutations
// of valid programs. Each case must give either a module or an error.
#include "SyntaxTestSupport.h"

#include <random>
#include <vector>

namespace weft::syntax::testing {
namespace {

/// A module exactly when there were no errors, and few errors at most.
void expectConsistent(const std::string &text) {
  Parsed parsed = parseText(text);
  EXPECT_EQ(parsed.module == nullptr, parsed.errorCount != 0)
      << parsed.diagnostics;
  EXPECT_LE(parsed.errorCount, 3u) << parsed.diagnostics;
}

std::string repeat(const std::string &piece, size_t count) {
  std::string text;
  for (size_t i = 0; i < count; ++i)
    text += piece;
  return text;
}

std::string inModel(const std::string &equation) {
  return "model M {\n  y = " + equation + "\n}\n";
}

TEST(Robustness, EveryByte) {
  std::string all;
  for (int byte = 0; byte < 256; ++byte)
    all += static_cast<char>(byte);
  expectConsistent(all);
  for (int byte = 0; byte < 256; ++byte)
    expectConsistent(inModel(std::string("x ") + static_cast<char>(byte)));
}

TEST(Robustness, InvalidUtf8AndWideCharacters) {
  Parsed parsed = parseText(inModel("a \xC3\x97 b"));
  EXPECT_NE(parsed.diagnostics.find("unexpected character `\xC3\x97`"),
            std::string::npos)
      << parsed.diagnostics;
  parsed = parseText(inModel("a \xFF b"));
  EXPECT_NE(parsed.diagnostics.find("unexpected character `\\xFF`"),
            std::string::npos)
      << parsed.diagnostics;
  // Outside comments a byte is a column; inside them anything goes.
  EXPECT_TRUE(parseText("# \xFF\xFE caf\xC3\xA9\nmodel M {}\n").module);
}

TEST(Robustness, UnbalancedBrackets) {
  for (const char *text :
       {"(((", ")))", "[[[", "]]]", "{{{", "}}}", "model M {", "model M }",
        "model M { y = (", "model M { y = ) }", "cell C(", "cell C(x: [",
        "model M { y = f(a]) }", "model M { y = [a) }"})
    expectConsistent(text);
}

TEST(Robustness, DeepParenthesesAreRefused) {
  Parsed parsed =
      parseText(inModel(repeat("(", 20000) + "x" + repeat(")", 20000)));
  EXPECT_FALSE(parsed.module);
  EXPECT_NE(parsed.diagnostics.find("expression nested too deeply"),
            std::string::npos);
  // Moderate nesting is fine.
  EXPECT_TRUE(
      parseText(inModel(repeat("(", 150) + "x" + repeat(")", 150))).module);
}

TEST(Robustness, OtherDeepNestingIsRefused) {
  for (const std::string &deep :
       {repeat("-", 20000) + "x", repeat("sum(t) ", 20000) + "x",
        repeat("f(", 20000) + "x" + repeat(")", 20000),
        repeat("x[", 20000) + "0" + repeat("]", 20000)}) {
    Parsed parsed = parseText(inModel(deep));
    EXPECT_FALSE(parsed.module);
    EXPECT_EQ(parsed.errorCount, 1u) << parsed.diagnostics.substr(0, 200);
  }
}

TEST(Robustness, LongChainsAreCutOff) {
  Parsed parsed = parseText(inModel("x" + repeat(" + x", 20000)));
  EXPECT_FALSE(parsed.module);
  EXPECT_NE(parsed.diagnostics.find("expression too long or too deeply"),
            std::string::npos);
  EXPECT_TRUE(parseText(inModel("x" + repeat(" * x", 500))).module);
}

TEST(Robustness, ManyStatements) {
  std::string text = "model M {\n";
  for (int i = 0; i < 5000; ++i)
    text += "  y" + std::to_string(i) + "[t] = W @ x[t] + b\n";
  Parsed parsed = parseText(text + "}\n");
  ASSERT_TRUE(parsed.module);
  EXPECT_EQ(parsed.module->decls[0].body.size(), 5000u);
}

/// Random edits of a valid program: each result must be consistent.
TEST(Robustness, RandomMutations) {
  const std::string program =
      readFile(std::filesystem::path(WEFT_SYNTAX_TEST_DIR) / "golden" /
               "expressions.weft");
  ASSERT_FALSE(program.empty());
  const std::string pieces[] = {"(",  ")",     "[",  "]", "{",  "}",   ",",
                                ":",  "=",     "-",  "@", "\n", "sum", "sum(t)",
                                "1e", "token", "->", ";", "#",  "\xFF"};
  std::mt19937 random(20240611);
  for (int round = 0; round < 1500; ++round) {
    std::string text = program;
    for (int edit = 0; edit < 1 + round % 4; ++edit) {
      size_t at = random() % (text.size() + 1);
      const std::string &piece = pieces[random() % std::size(pieces)];
      switch (random() % 3) {
      case 0:
        text.insert(at, piece);
        break;
      case 1:
        text.erase(at, 1 + random() % 8);
        break;
      default:
        text.replace(at, 1, piece);
      }
    }
    expectConsistent(text);
  }
}

} // namespace
} // namespace weft::syntax::testing
