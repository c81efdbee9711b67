// Walks the ANTLR parse tree of one file and builds the AST, giving every
// node the source range it was read from.
#include "compiler/syntax/AstBuilder.h"

#include "compiler/syntax/SyntaxErrors.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

namespace weft::syntax {

namespace {

/// Deepest expression tree handed to later stages; they recurse once per
/// level. Parenthesised nesting stops earlier, in the parser (200 levels);
/// this also catches long chains such as `a + a + ... + a`.
constexpr int maxExprDepth = 1000;

ast::ExprPtr makeExpr(ast::ExprKind kind, SourceRange range) {
  return std::make_unique<ast::Expr>(kind, range);
}

SourceRange join(SourceRange first, SourceRange last) {
  return {first.begin, last.end};
}

} // namespace

SourceRange AstBuilder::range(antlr4::Token *token) const {
  return tokenRange(*token, fileId);
}

SourceRange AstBuilder::range(antlr4::ParserRuleContext *ctx) const {
  SourceRange first = range(ctx->start);
  if (!ctx->stop || ctx->stop->getTokenIndex() < ctx->start->getTokenIndex())
    return {first.begin, first.begin};
  return join(first, range(ctx->stop));
}

// ---------------------------------------------------------------------------
// Declarations

std::unique_ptr<ast::Module>
AstBuilder::build(WeftParser::ModuleContext *tree) {
  auto module = std::make_unique<ast::Module>();
  module->fileId = fileId;
  for (WeftParser::ItemContext *item : tree->item()) {
    if (auto *import = item->importDecl()) {
      // Imports first, so a reader sees every dependency at the top.
      if (!module->decls.empty())
        diags.error(range(import),
                    "`import` must come before the first `cell` or `model`");
      module->imports.push_back(buildImport(import));
    } else if (auto *cell = item->cellDecl()) {
      module->decls.push_back(buildCell(cell));
    } else {
      module->decls.push_back(buildModel(item->modelDecl()));
    }
  }
  return module;
}

ast::Import AstBuilder::buildImport(WeftParser::ImportDeclContext *ctx) {
  ast::Import import;
  for (WeftParser::NameContext *part : ctx->name())
    import.path.push_back(part->getText());
  import.range = range(ctx);
  return import;
}

ast::Decl AstBuilder::buildCell(WeftParser::CellDeclContext *ctx) {
  ast::Decl decl(ast::DeclKind::Cell);
  decl.name = ctx->name()->getText();
  decl.nameRange = range(ctx->name());
  decl.range = range(ctx);
  for (WeftParser::CellArgContext *arg : ctx->cellArg()) {
    ast::Parameter parameter;
    parameter.name = arg->name()->getText();
    parameter.range = range(arg);
    parameter.type = buildType(arg->type());
    decl.parameters.push_back(std::move(parameter));
  }
  buildResults(ctx->cellResults(), decl);
  decl.body = buildBody(ctx->body());
  return decl;
}

void AstBuilder::buildResults(WeftParser::CellResultsContext *ctx,
                              ast::Decl &decl) {
  if (WeftParser::TypeContext *single = ctx->type()) {
    decl.results.push_back(buildType(single));
    return;
  }
  std::vector<WeftParser::ResultPartContext *> parts = ctx->resultPart();
  bool named = parts.front()->name() != nullptr;
  for (WeftParser::ResultPartContext *part : parts) {
    // Names are all or nothing: sema matches them to the returned tuple.
    if ((part->name() != nullptr) != named) {
      diags.error(range(part), "name every result part or none of them");
      named = false;
    }
    decl.results.push_back(buildType(part->type()));
    if (named)
      decl.resultNames.push_back(part->name()->getText());
  }
  if (!named)
    decl.resultNames.clear();
}

ast::Decl AstBuilder::buildModel(WeftParser::ModelDeclContext *ctx) {
  ast::Decl decl(ast::DeclKind::Model);
  decl.name = ctx->name()->getText();
  decl.nameRange = range(ctx->name());
  decl.range = range(ctx);
  for (WeftParser::SizeParamContext *size : ctx->sizeParam()) {
    ast::Parameter parameter;
    parameter.name = size->name()->getText();
    parameter.range = range(size);
    if (size->expr())
      parameter.defaultValue = buildExpr(size->expr());
    decl.parameters.push_back(std::move(parameter));
  }
  decl.body = buildBody(ctx->body());
  return decl;
}

std::vector<ast::Stmt> AstBuilder::buildBody(WeftParser::BodyContext *ctx) {
  std::vector<ast::Stmt> body;
  for (WeftParser::StmtContext *stmt : ctx->stmt())
    body.push_back(buildStmt(stmt));
  return body;
}

// ---------------------------------------------------------------------------
// Statements

ast::Stmt AstBuilder::buildStmt(WeftParser::StmtContext *ctx) {
  // Depths only matter within one expression tree; earlier ones are done.
  depths.clear();
  if (auto *param = ctx->paramStmt())
    return buildParam(param);
  if (auto *input = ctx->inputStmt())
    return buildInput(input);
  if (auto *time = ctx->timeStmt())
    return buildTime(time);
  if (auto *equation = ctx->equation())
    return buildEquation(equation);
  return buildReturn(ctx->returnStmt());
}

ast::Stmt AstBuilder::buildParam(WeftParser::ParamStmtContext *ctx) {
  ast::Stmt stmt(ast::StmtKind::Param, range(ctx));
  for (WeftParser::DeclaredContext *declared : ctx->declared())
    stmt.declared.push_back({declared->name()->getText(),
                             range(declared->name()),
                             buildType(declared->type())});
  if (ctx->initializer())
    stmt.init = buildInitializer(ctx->initializer());
  return stmt;
}

ast::Initializer
AstBuilder::buildInitializer(WeftParser::InitializerContext *ctx) {
  ast::Initializer init;
  init.name = ctx->name()->getText();
  init.range = range(ctx);
  for (WeftParser::SignedNumberContext *arg : ctx->signedNumber()) {
    double value = numberValue(arg->NUMBER()->getSymbol());
    init.args.push_back(arg->MINUS() ? -value : value);
  }
  return init;
}

ast::Stmt AstBuilder::buildInput(WeftParser::InputStmtContext *ctx) {
  ast::Stmt stmt(ast::StmtKind::Input, range(ctx));
  WeftParser::NameContext *name = ctx->name();
  stmt.declared.push_back(
      {name->getText(), range(name), buildType(ctx->type())});
  if (WeftParser::SumExprContext *index = ctx->sumExpr()) {
    stmt.inputIndex = buildSumExpr(index);
    if (stmt.inputIndex->kind == ast::ExprKind::Name)
      stmt.timeIndex = stmt.inputIndex->name;
  }
  return stmt;
}

ast::Stmt AstBuilder::buildTime(WeftParser::TimeStmtContext *ctx) {
  ast::Stmt stmt(ast::StmtKind::Time, range(ctx));
  stmt.timeIndex = ctx->name()->getText();
  stmt.bound = buildSumExpr(ctx->sumExpr());
  return stmt;
}

ast::Stmt AstBuilder::buildEquation(WeftParser::EquationContext *ctx) {
  ast::Stmt stmt(ast::StmtKind::Equation, range(ctx));
  stmt.isOutput = ctx->OUTPUT() != nullptr;
  for (WeftParser::TargetContext *target : ctx->targets()->target()) {
    ast::Target built;
    built.name = target->name()->getText();
    built.range = range(target);
    std::vector<WeftParser::ExprContext *> indices = target->expr();
    if (!indices.empty())
      built.timeIndex = buildExpr(indices[0]);
    for (size_t i = 1; i < indices.size(); ++i)
      built.extraIndices.push_back(buildExpr(indices[i]));
    stmt.targets.push_back(std::move(built));
  }
  stmt.value = buildExpr(ctx->expr());
  return stmt;
}

ast::Stmt AstBuilder::buildReturn(WeftParser::ReturnStmtContext *ctx) {
  ast::Stmt stmt(ast::StmtKind::Return, range(ctx));
  stmt.value = buildExpr(ctx->expr());
  return stmt;
}

ast::TypeExpr AstBuilder::buildType(WeftParser::TypeContext *ctx) {
  ast::TypeExpr type;
  type.range = range(ctx);
  if (ctx->LENGTH()) {
    type.lengthOf = ctx->name()->getText();
    return type;
  }
  std::vector<WeftParser::ExprContext *> exprs = ctx->expr();
  if (ctx->TOKEN()) {
    // The vocabulary is the last expression; any before it are dimensions.
    type.isToken = true;
    type.vocab = buildExpr(exprs.back());
    exprs.pop_back();
  }
  for (WeftParser::ExprContext *dim : exprs)
    type.dims.push_back(buildExpr(dim));
  return type;
}

// ---------------------------------------------------------------------------
// Expressions

ast::ExprPtr AstBuilder::buildExpr(WeftParser::ExprContext *ctx) {
  std::vector<WeftParser::SumExprContext *> sides = ctx->sumExpr();
  ast::ExprPtr result = buildSumExpr(sides[0]);
  if (WeftParser::CompareOpContext *compare = ctx->compareOp()) {
    static const std::map<std::string, ast::BinaryOp> kinds = {
        {"<", ast::BinaryOp::Less},    {"<=", ast::BinaryOp::LessEqual},
        {">", ast::BinaryOp::Greater}, {">=", ast::BinaryOp::GreaterEqual},
        {"==", ast::BinaryOp::Equal},  {"!=", ast::BinaryOp::NotEqual}};
    result = makeBinary(kinds.at(compare->getText()), std::move(result),
                        buildSumExpr(sides[1]));
  }
  return result;
}

ast::ExprPtr AstBuilder::buildSumExpr(WeftParser::SumExprContext *ctx) {
  std::vector<WeftParser::MulExprContext *> terms = ctx->mulExpr();
  std::vector<WeftParser::AddOpContext *> ops = ctx->addOp();
  ast::ExprPtr result = buildMulExpr(terms[0]);
  for (size_t i = 0; i < ops.size(); ++i) {
    ast::BinaryOp op =
        ops[i]->MINUS() ? ast::BinaryOp::Sub : ast::BinaryOp::Add;
    result = makeBinary(op, std::move(result), buildMulExpr(terms[i + 1]));
  }
  return result;
}

static ast::BinaryOp mulOpOf(antlr4::ParserRuleContext *op) {
  switch (op->getStart()->getType()) {
  case weft::grammar::WeftParser::SLASH:
    return ast::BinaryOp::Div;
  case weft::grammar::WeftParser::AT:
    return ast::BinaryOp::MatMul;
  }
  return ast::BinaryOp::Mul;
}

ast::ExprPtr AstBuilder::buildMulExpr(WeftParser::MulExprContext *ctx) {
  std::vector<WeftParser::UnaryExprContext *> factors = ctx->unaryExpr();
  std::vector<WeftParser::MulOpContext *> ops = ctx->mulOp();
  ast::ExprPtr result = buildUnary(factors[0]);
  for (size_t i = 0; i < ops.size(); ++i)
    result = makeBinary(mulOpOf(ops[i]), std::move(result),
                        buildUnary(factors[i + 1]));
  return result;
}

ast::ExprPtr AstBuilder::buildUnary(WeftParser::UnaryExprContext *ctx) {
  if (WeftParser::ReductionContext *reduction = ctx->reduction())
    return buildReduction(reduction);
  if (WeftParser::PostfixExprContext *postfix = ctx->postfixExpr())
    return buildPostfix(postfix);
  ast::ExprPtr negation = makeExpr(ast::ExprKind::Unary, range(ctx));
  negation->operands.push_back(buildUnary(ctx->unaryExpr()));
  return finish(std::move(negation));
}

static ast::ReduceOp reduceOpOf(const std::string &name) {
  if (name == "mean")
    return ast::ReduceOp::Mean;
  if (name == "max")
    return ast::ReduceOp::Max;
  return ast::ReduceOp::Sum;
}

ast::ExprPtr AstBuilder::buildReduction(WeftParser::ReductionContext *ctx) {
  ast::ExprPtr reduce = makeExpr(ast::ExprKind::Reduce, range(ctx));
  reduce->reduceOp = reduceOpOf(ctx->REDUCER()->getText());
  for (WeftParser::BinderContext *binder : ctx->binder()) {
    ast::Binder built;
    built.name = binder->name()->getText();
    built.range = range(binder);
    if (binder->sumExpr())
      built.bound = buildSumExpr(binder->sumExpr());
    reduce->binders.push_back(std::move(built));
  }
  reduce->operands.push_back(buildReduceBody(ctx->reduceBody()));
  return finish(std::move(reduce));
}

ast::ExprPtr AstBuilder::buildReduceBody(WeftParser::ReduceBodyContext *ctx) {
  if (WeftParser::ReductionContext *nested = ctx->reduction())
    return buildReduction(nested);
  std::vector<WeftParser::UnaryExprContext *> factors = ctx->unaryExpr();
  std::vector<WeftParser::MulOpContext *> ops = ctx->mulOp();
  ast::ExprPtr result = buildPostfix(ctx->postfixExpr());
  for (size_t i = 0; i < ops.size(); ++i)
    result =
        makeBinary(mulOpOf(ops[i]), std::move(result), buildUnary(factors[i]));
  return result;
}

ast::ExprPtr AstBuilder::buildPostfix(WeftParser::PostfixExprContext *ctx) {
  ast::ExprPtr result = buildPrimary(ctx->primary());
  // Suffixes apply left to right: `f(x)[0]` indexes the call's result.
  for (size_t i = 1; i < ctx->children.size(); ++i) {
    antlr4::tree::ParseTree *child = ctx->children[i];
    if (auto *call = dynamic_cast<WeftParser::CallSuffixContext *>(child))
      result = buildCall(std::move(result), call);
    else
      result = buildIndex(std::move(result),
                          static_cast<WeftParser::IndexSuffixContext *>(child));
  }
  return result;
}

ast::ExprPtr AstBuilder::buildCall(ast::ExprPtr callee,
                                   WeftParser::CallSuffixContext *ctx) {
  // A call names what it calls: a cell, a built-in or an initialiser.
  if (callee->kind != ast::ExprKind::Name) {
    diags.error(callee->range, "only a name can be called");
    return callee;
  }
  ast::ExprPtr call =
      makeExpr(ast::ExprKind::Call, join(callee->range, range(ctx)));
  call->name = callee->name;
  call->nameRange = callee->nameRange;
  for (WeftParser::CallArgContext *arg : ctx->callArg()) {
    if (arg->ASSIGN()) {
      call->namedArgs.push_back(
          {arg->name()->getText(), buildExpr(arg->expr()), range(arg)});
      continue;
    }
    if (!call->namedArgs.empty())
      diags.error(range(arg), "positional argument after a named argument");
    call->operands.push_back(buildExpr(arg->expr()));
  }
  return finish(std::move(call));
}

ast::ExprPtr AstBuilder::buildIndex(ast::ExprPtr base,
                                    WeftParser::IndexSuffixContext *ctx) {
  ast::ExprPtr index =
      makeExpr(ast::ExprKind::Index, join(base->range, range(ctx)));
  index->operands.push_back(std::move(base));
  for (WeftParser::IndexArgContext *arg : ctx->indexArg())
    index->indices.push_back(buildIndexArg(arg));
  return finish(std::move(index));
}

ast::IndexArg AstBuilder::buildIndexArg(WeftParser::IndexArgContext *ctx) {
  ast::IndexArg arg;
  arg.range = range(ctx);
  // Which bound an expression gives depends on which side of `:` it is.
  if (ctx->DOTDOT()) {
    arg.isPrefix = true;
    arg.index = buildExpr(ctx->expr(0));
    return arg;
  }
  for (antlr4::tree::ParseTree *child : ctx->children) {
    if (auto *expr = dynamic_cast<WeftParser::ExprContext *>(child))
      (arg.isSlice ? arg.sliceEnd : arg.sliceBegin) = buildExpr(expr);
    else
      arg.isSlice = true;
  }
  if (!arg.isSlice)
    arg.index = std::move(arg.sliceBegin);
  return arg;
}

ast::ExprPtr AstBuilder::buildPrimary(WeftParser::PrimaryContext *ctx) {
  if (antlr4::tree::TerminalNode *number = ctx->NUMBER())
    return buildNumber(number->getSymbol());
  if (WeftParser::NameContext *name = ctx->name()) {
    ast::ExprPtr expr = makeExpr(ast::ExprKind::Name, range(name));
    expr->name = name->getText();
    expr->nameRange = expr->range;
    return finish(std::move(expr));
  }
  std::vector<WeftParser::ExprContext *> items = ctx->expr();
  if (items.size() == 1) {
    // Parentheses only group; the expression's range takes them in.
    ast::ExprPtr inner = buildExpr(items[0]);
    inner->range = range(ctx);
    return inner;
  }
  ast::ExprPtr tuple = makeExpr(ast::ExprKind::Tuple, range(ctx));
  for (WeftParser::ExprContext *item : items)
    tuple->operands.push_back(buildExpr(item));
  return finish(std::move(tuple));
}

ast::ExprPtr AstBuilder::buildNumber(antlr4::Token *token) {
  ast::ExprPtr number = makeExpr(ast::ExprKind::Number, range(token));
  number->number = numberValue(token);
  number->isInteger =
      token->getText().find_first_of(".eE") == std::string::npos;
  return finish(std::move(number));
}

double AstBuilder::numberValue(antlr4::Token *token) {
  std::string text = token->getText();
  double value = 0;
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range)
    diags.error(range(token), fmt::format("number `{}` is out of range", text));
  return value;
}

ast::ExprPtr AstBuilder::makeBinary(ast::BinaryOp op, ast::ExprPtr lhs,
                                    ast::ExprPtr rhs) {
  ast::ExprPtr binary =
      makeExpr(ast::ExprKind::Binary, join(lhs->range, rhs->range));
  binary->binaryOp = op;
  binary->operands.push_back(std::move(lhs));
  binary->operands.push_back(std::move(rhs));
  return finish(std::move(binary));
}

// ---------------------------------------------------------------------------
// Depth limit

int AstBuilder::depthOf(const ast::Expr &expr) const {
  auto found = depths.find(&expr);
  return found == depths.end() ? 1 : found->second;
}

ast::ExprPtr AstBuilder::finish(ast::ExprPtr expr) {
  // Children are finished before their parent, so one level suffices.
  int deepest = 0;
  auto visit = [&](const ast::ExprPtr &child) {
    if (child)
      deepest = std::max(deepest, depthOf(*child));
  };
  for (const ast::ExprPtr &operand : expr->operands)
    visit(operand);
  for (const ast::NamedArg &arg : expr->namedArgs)
    visit(arg.value);
  for (const ast::IndexArg &arg : expr->indices) {
    visit(arg.index);
    visit(arg.sliceBegin);
    visit(arg.sliceEnd);
  }
  for (const ast::Binder &binder : expr->binders)
    visit(binder.bound);
  if (deepest + 1 <= maxExprDepth) {
    depths[expr.get()] = deepest + 1;
    return expr;
  }

  // Too deep: report once and stand a leaf in for the whole subtree, so
  // that no deeper tree is ever built (destroying one recurses too).
  if (!reportedTooDeep)
    diags.error(expr->range, "expression too long or too deeply nested");
  reportedTooDeep = true;
  ast::ExprPtr leaf = makeExpr(ast::ExprKind::Number, expr->range);
  depths[leaf.get()] = 1;
  return leaf;
}

} // namespace weft::syntax
