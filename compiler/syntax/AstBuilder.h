// The ANTLR parse tree of one file in, its AST out. Also checks the few
// rules the grammar leaves to code: imports come first, result parts are all
// named or none, only names are called, numbers fit a double, and no
// expression is too deep for the later stages to walk. Private to
// compiler/syntax: nothing outside it sees the parse tree.
#pragma once

#include "compiler/support/Diagnostics.h"
#include "compiler/syntax/AST.h"

#include "WeftParser.h"

#include <memory>
#include <unordered_map>

namespace weft::syntax {

class AstBuilder {
  using WeftParser = weft::grammar::WeftParser;

public:
  AstBuilder(uint32_t fileId, DiagnosticEngine &diags)
      : fileId(fileId), diags(diags) {}

  /// Builds the module; errors found on the way go to the diagnostics.
  std::unique_ptr<ast::Module> build(WeftParser::ModuleContext *tree);

private:
  // Declarations
  ast::Import buildImport(WeftParser::ImportDeclContext *ctx);
  ast::Decl buildCell(WeftParser::CellDeclContext *ctx);
  void buildResults(WeftParser::CellResultsContext *ctx, ast::Decl &decl);
  ast::Decl buildModel(WeftParser::ModelDeclContext *ctx);
  std::vector<ast::Stmt> buildBody(WeftParser::BodyContext *ctx);

  // Statements
  ast::Stmt buildStmt(WeftParser::StmtContext *ctx);
  ast::Stmt buildParam(WeftParser::ParamStmtContext *ctx);
  ast::Initializer buildInitializer(WeftParser::InitializerContext *ctx);
  ast::Stmt buildInput(WeftParser::InputStmtContext *ctx);
  ast::Stmt buildTime(WeftParser::TimeStmtContext *ctx);
  ast::Stmt buildEquation(WeftParser::EquationContext *ctx);
  ast::Stmt buildReturn(WeftParser::ReturnStmtContext *ctx);
  ast::TypeExpr buildType(WeftParser::TypeContext *ctx);

  // Expressions, loosest first
  ast::ExprPtr buildExpr(WeftParser::ExprContext *ctx);
  ast::ExprPtr buildSumExpr(WeftParser::SumExprContext *ctx);
  ast::ExprPtr buildMulExpr(WeftParser::MulExprContext *ctx);
  ast::ExprPtr buildUnary(WeftParser::UnaryExprContext *ctx);
  ast::ExprPtr buildReduction(WeftParser::ReductionContext *ctx);
  ast::ExprPtr buildReduceBody(WeftParser::ReduceBodyContext *ctx);
  ast::ExprPtr buildPostfix(WeftParser::PostfixExprContext *ctx);
  ast::ExprPtr buildCall(ast::ExprPtr callee,
                         WeftParser::CallSuffixContext *ctx);
  ast::ExprPtr buildIndex(ast::ExprPtr base,
                          WeftParser::IndexSuffixContext *ctx);
  ast::IndexArg buildIndexArg(WeftParser::IndexArgContext *ctx);
  ast::ExprPtr buildPrimary(WeftParser::PrimaryContext *ctx);
  ast::ExprPtr buildNumber(antlr4::Token *token);
  double numberValue(antlr4::Token *token);

  /// Joins `lhs` and `rhs` into a binary expression spanning both.
  ast::ExprPtr makeBinary(ast::BinaryOp op, ast::ExprPtr lhs, ast::ExprPtr rhs);
  /// Records how deep `expr` reaches, and cuts it off with an error when it
  /// is too deep for the recursive stages after this one.
  ast::ExprPtr finish(ast::ExprPtr expr);
  int depthOf(const ast::Expr &expr) const;

  SourceRange range(antlr4::ParserRuleContext *ctx) const;
  SourceRange range(antlr4::Token *token) const;

  uint32_t fileId;
  DiagnosticEngine &diags;
  std::unordered_map<const ast::Expr *, int> depths;
  bool reportedTooDeep = false;
};

} // namespace weft::syntax
