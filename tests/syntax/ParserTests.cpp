// Unit tests of the parser: the AST built for small programs, the source
// ranges on its nodes, how reductions are told from calls, and the wording
// of individual syntax errors.
#include "SyntaxTestSupport.h"

namespace weft::syntax::testing {
namespace {

/// Parses `model M { <stmt> }` and returns the value of its one equation.
const ast::Expr &valueOf(Parsed &parsed) {
  EXPECT_TRUE(parsed.module) << parsed.diagnostics;
  static const ast::Expr empty(ast::ExprKind::Tuple, {});
  if (!parsed.module || parsed.module->decls.empty() ||
      parsed.module->decls[0].body.empty() ||
      !parsed.module->decls[0].body[0].value)
    return empty;
  return *parsed.module->decls[0].body[0].value;
}

std::string printedValue(const std::string &equation) {
  Parsed parsed = parseText("model M {\n  " + equation + "\n}\n");
  return printExpr(valueOf(parsed));
}

/// The first error message alone, without location, source line or caret.
std::string firstError(const std::string &text) {
  Parsed parsed = parseText(text);
  EXPECT_FALSE(parsed.module);
  std::string line =
      parsed.diagnostics.substr(0, parsed.diagnostics.find('\n'));
  size_t start = line.find(": error: ");
  return start == std::string::npos ? line : line.substr(start + 9);
}

void expectRange(const SourceRange &range, uint32_t line, uint32_t begin,
                 uint32_t end) {
  EXPECT_EQ(range.begin.line, line);
  EXPECT_EQ(range.begin.column, begin);
  EXPECT_EQ(range.end.line, line);
  EXPECT_EQ(range.end.column, end);
}

TEST(Parser, EmptyFileGivesEmptyModule) {
  Parsed parsed = parseText("");
  ASSERT_TRUE(parsed.module);
  EXPECT_TRUE(parsed.module->imports.empty());
  EXPECT_TRUE(parsed.module->decls.empty());
  EXPECT_TRUE(parseText("\n\n# only a comment\n\n").module);
}

TEST(Parser, CellHeader) {
  Parsed parsed = parseText(
      "cell LSTM(x: [I], h: [H]) -> (h: [H], c: [H]) {\n}\n", "cell.weft");
  ASSERT_TRUE(parsed.module) << parsed.diagnostics;
  const ast::Decl &cell = parsed.module->decls.at(0);
  EXPECT_EQ(cell.kind, ast::DeclKind::Cell);
  EXPECT_EQ(cell.name, "LSTM");
  expectRange(cell.nameRange, 1, 6, 10);
  EXPECT_EQ(cell.range.end.line, 2u);
  ASSERT_EQ(cell.parameters.size(), 2u);
  EXPECT_EQ(cell.parameters[1].name, "h");
  expectRange(cell.parameters[1].range, 1, 19, 25);
  ASSERT_EQ(cell.results.size(), 2u);
  EXPECT_EQ(cell.resultNames, (std::vector<std::string>{"h", "c"}));
  EXPECT_EQ(parsed.module->fileId, 0u);
}

TEST(Parser, UnnamedResultsAndModelWithoutSizes) {
  Parsed parsed = parseText("cell C(x: []) -> ([H], token(V)) {}\n"
                            "model M {}\n");
  ASSERT_TRUE(parsed.module) << parsed.diagnostics;
  const ast::Decl &cell = parsed.module->decls.at(0);
  EXPECT_TRUE(cell.resultNames.empty());
  ASSERT_EQ(cell.results.size(), 2u);
  EXPECT_TRUE(cell.results[1].isToken);
  EXPECT_TRUE(cell.parameters[0].type->dims.empty());
  EXPECT_TRUE(parsed.module->decls.at(1).parameters.empty());
}

TEST(Parser, StatementsKeepTheirParts) {
  Parsed parsed = parseText("model M(T = 4) {\n"
                            "  param W: [H], U: [H] = uniform(-0.1, 2)\n"
                            "  input x[t]: [I]; time t < T + 1\n"
                            "  output (h[t], c[-1]) = f(x)\n"
                            "}\n");
  ASSERT_TRUE(parsed.module) << parsed.diagnostics;
  const ast::Decl &model = parsed.module->decls.at(0);
  ASSERT_TRUE(model.parameters.at(0).defaultValue);
  const std::vector<ast::Stmt> &body = model.body;
  ASSERT_EQ(body.size(), 4u);
  EXPECT_EQ(body[0].declared.size(), 2u);
  ASSERT_TRUE(body[0].init);
  EXPECT_EQ(body[0].init->args, (std::vector<double>{-0.1, 2}));
  expectRange(body[0].range, 2, 3, 42);
  EXPECT_EQ(body[1].timeIndex, "t");
  expectRange(body[1].declared[0].nameRange, 3, 9, 10);
  EXPECT_EQ(body[2].kind, ast::StmtKind::Time);
  expectRange(body[2].range, 3, 20, 34);
  EXPECT_TRUE(body[3].isOutput);
  ASSERT_EQ(body[3].targets.size(), 2u);
  EXPECT_EQ(printExpr(*body[3].targets[1].timeIndex), "(neg 1)");
  expectRange(body[3].targets[1].range, 4, 17, 22);
}

TEST(Parser, ExpressionRanges) {
  Parsed parsed = parseText("model M {\n  y = (a + b) * f(x, k = 2)\n}\n");
  const ast::Expr &product = valueOf(parsed);
  expectRange(product.range, 2, 7, 28);
  const ast::Expr &group = *product.operands.at(0);
  expectRange(group.range, 2, 7, 14);
  expectRange(group.operands.at(0)->nameRange, 2, 8, 9);
  const ast::Expr &call = *product.operands.at(1);
  EXPECT_EQ(call.kind, ast::ExprKind::Call);
  EXPECT_EQ(call.name, "f");
  expectRange(call.nameRange, 2, 17, 18);
  expectRange(call.range, 2, 17, 28);
  ASSERT_EQ(call.namedArgs.size(), 1u);
  expectRange(call.namedArgs[0].range, 2, 22, 27);
}

TEST(Parser, NumbersRememberHowTheyWereWritten) {
  Parsed parsed = parseText("model M {\n  y = (2, 0.5, 1e-3, 20)\n}\n");
  const ast::Expr &tuple = valueOf(parsed);
  ASSERT_EQ(tuple.operands.size(), 4u);
  EXPECT_TRUE(tuple.operands[0]->isInteger);
  EXPECT_FALSE(tuple.operands[1]->isInteger);
  EXPECT_FALSE(tuple.operands[2]->isInteger);
  EXPECT_DOUBLE_EQ(tuple.operands[2]->number, 1e-3);
  EXPECT_DOUBLE_EQ(tuple.operands[3]->number, 20);
}

TEST(Parser, PrecedenceAndAssociativity) {
  EXPECT_EQ(printedValue("y = a - b - c"), "(- (- a b) c)");
  EXPECT_EQ(printedValue("y = a + b * c @ d"), "(+ a (@ (* b c) d))");
  EXPECT_EQ(printedValue("y = -a * b"), "(* (neg a) b)");
  EXPECT_EQ(printedValue("y = a / -b[0]"), "(/ a (neg (index b 0)))");
  EXPECT_EQ(printedValue("y = f(x)[0][1]"), "(index (index (call f x) 0) 1)");
}

TEST(Parser, ReductionOrCall) {
  EXPECT_EQ(printedValue("y = sum(i, j) a * b + c"),
            "(+ (sum (i j) (* a b)) c)");
  EXPECT_EQ(printedValue("y = mean(t < T - 1) x[t]"),
            "(mean ((t < (- T 1))) (index x t))");
  EXPECT_EQ(printedValue("y = sum(x) + 1"), "(+ (call sum x) 1)");
  EXPECT_EQ(printedValue("y = sum(y * G)"), "(call sum (* y G))");
  EXPECT_EQ(printedValue("y = sum(t) -x"), "(- (call sum t) x)");
  EXPECT_EQ(printedValue("y = max(a, b)"), "(call max a b)");
  EXPECT_EQ(printedValue("y = sum(t) (a + b)"), "(sum (t) (+ a b))");
  EXPECT_EQ(printedValue("y = sum(b) sum(t) x"), "(sum (b) (sum (t) x))");
  EXPECT_EQ(printedValue("y = a * sum(t) b * c"), "(* a (sum (t) (* b c)))");
}

TEST(Parser, Slices) {
  EXPECT_EQ(printedValue("y = W[:H, H:, :, 1:2, k]"),
            "(index W (slice _ H) (slice H _) (slice _ _) (slice 1 2) k)");
}

TEST(Parser, NewlinesInsideBracketsAreIgnored) {
  EXPECT_EQ(printedValue("y = f(a,\n\n  b) + (c\n  * d)"),
            "(+ (call f a b) (* c d))");
}

TEST(Parser, WindowsLineEndings) {
  Parsed parsed = parseText("model M {\r\n  y = x\r\n\r\n  z = 1\r\n}\r\n");
  ASSERT_TRUE(parsed.module) << parsed.diagnostics;
  const std::vector<ast::Stmt> &body = parsed.module->decls[0].body;
  ASSERT_EQ(body.size(), 2u);
  expectRange(body[1].range, 4, 3, 8);
}

TEST(Parser, TokenIsANameOutsideTypes) {
  EXPECT_EQ(printedValue("token = token + 1"), "(+ token 1)");
}

TEST(SyntaxErrors, Wording) {
  std::string model = "model M {\n";
  EXPECT_EQ(firstError(model + "  y = f(a, 1 = 2)\n}"),
            "expected `)` to close the call, found `=`");
  EXPECT_EQ(firstError(model + "  y = @ x\n}"),
            "unexpected `@` at the start of an expression");
  EXPECT_EQ(firstError(model + "  y = x +\n}"),
            "expected an expression, found end of line");
  EXPECT_EQ(firstError(model + "  y = x + \n"),
            "expected an expression, found end of line");
  EXPECT_EQ(firstError(model + "  y = (x + 1"),
            "expected `)` to close the parentheses, found end of file");
  EXPECT_EQ(firstError(model + "  y = x $ 2\n}"), "unexpected character `$`");
  EXPECT_EQ(firstError(model + "  y = a b\n}"),
            "expected end of line after the statement, found `b`");
  EXPECT_EQ(firstError(model + "  ) = 2\n}"),
            "expected a statement, found `)`");
  EXPECT_EQ(firstError(model + "  y = 1\n"),
            "expected `}` to close the body of `M`, found end of file");
  EXPECT_EQ(firstError(model + "  time t T\n}"), "expected `<`, found `T`");
  EXPECT_EQ(firstError(model + "  param W: [H] = normal(a)\n}"),
            "expected a number, found `a`");
  EXPECT_EQ(firstError(model + "  h[t = 1\n}"),
            "expected `]` to close the time index, found `=`");
  EXPECT_EQ(firstError(model + "  y = f(sum(x), [0])\n}"),
            "expected an expression, found `[`");
  EXPECT_EQ(firstError("cell C(x: H) -> [H] {}"),
            "expected a type such as `[H]` or `token(V)`, found `H`");
  EXPECT_EQ(firstError("cell C(x: [H]) [H] {}"), "expected `->`, found `[`");
  EXPECT_EQ(firstError("y = 1"),
            "expected `cell`, `model` or `import`, found `y`");
  EXPECT_EQ(firstError("model A {} model B {}"),
            "expected end of line after the declaration, found `model`");
  EXPECT_EQ(firstError("import"), "expected a name, found end of line");
  EXPECT_EQ(firstError(model + "  param W: [H] = 0.1\n}"),
            "expected an initializer such as `glorot` or `normal(0, 0.1)`, "
            "found `0.1`");
  EXPECT_EQ(firstError(model + "  y = f(,)\n}"),
            "expected an expression, found `,`");
  EXPECT_EQ(firstError(model + "  y = f(x))\n}"),
            "expected end of line after the statement, found `)`");
}

TEST(SyntaxErrors, RulesCheckedAfterParsing) {
  EXPECT_EQ(firstError("model M {}\nimport std"),
            "`import` must come before the first `cell` or `model`");
  EXPECT_EQ(firstError("cell C(x: []) -> (h: [H], [H]) {}"),
            "name every result part or none of them");
  EXPECT_EQ(firstError("model M {\n  y = (a, b)(x)\n}"),
            "only a name can be called");
  EXPECT_EQ(firstError("model M {\n  y = f(x)[0](z)\n}"),
            "only a name can be called");
  EXPECT_EQ(firstError("model M {\n  y = f(k = 1, x)\n}"),
            "positional argument after a named argument");
  EXPECT_EQ(firstError("model M {\n  y = 1e999\n}"),
            "number `1e999` is out of range");
}

TEST(SyntaxErrors, OnlyTheFirstSyntaxErrorIsReported) {
  Parsed parsed = parseText("model M {\n  y = @\n  z = )\n  w = $\n}\n");
  EXPECT_FALSE(parsed.module);
  EXPECT_EQ(parsed.errorCount, 1u);
}

} // namespace
} // namespace weft::syntax::testing
