// Prints the AST as an indented S-expression for `--emit=ast` and the golden
// tests. Declarations and statements carry `@line:col`; expressions print on
// one line in prefix form, `(+ (@ W x) b)`.
#include "compiler/syntax/AstPrinter.h"

#include <fmt/format.h>

namespace weft::syntax {

namespace {

std::string at(const SourceRange &range) {
  return fmt::format("@{}:{}", range.begin.line, range.begin.column);
}

/// Integers as written; other numbers in their shortest exact form, always
/// with a point or an exponent so they never read as integers.
std::string formatNumber(const ast::Expr &expr) {
  if (expr.isInteger)
    return fmt::format("{:.0f}", expr.number);
  std::string text = fmt::format("{}", expr.number);
  if (text.find_first_of(".eni") == std::string::npos)
    text += ".0";
  return text;
}

const char *binaryOpName(ast::BinaryOp op) {
  switch (op) {
  case ast::BinaryOp::Add:
    return "+";
  case ast::BinaryOp::Sub:
    return "-";
  case ast::BinaryOp::Mul:
    return "*";
  case ast::BinaryOp::Div:
    return "/";
  case ast::BinaryOp::MatMul:
    return "@";
  case ast::BinaryOp::Less:
    return "<";
  case ast::BinaryOp::LessEqual:
    return "<=";
  case ast::BinaryOp::Greater:
    return ">";
  case ast::BinaryOp::GreaterEqual:
    return ">=";
  case ast::BinaryOp::Equal:
    return "==";
  case ast::BinaryOp::NotEqual:
    return "!=";
  }
  return "?";
}

const char *reduceOpName(ast::ReduceOp op) {
  switch (op) {
  case ast::ReduceOp::Sum:
    return "sum";
  case ast::ReduceOp::Mean:
    return "mean";
  case ast::ReduceOp::Max:
    return "max";
  }
  return "?";
}

void printExprTo(const ast::Expr &expr, std::string &out);

/// `(slice lo hi)` with `_` for a missing bound, or the plain index.
void printIndexArg(const ast::IndexArg &arg, std::string &out) {
  if (arg.isPrefix) {
    out += "(prefix ";
    printExprTo(*arg.index, out);
    out += ")";
    return;
  }
  if (!arg.isSlice) {
    if (arg.index)
      printExprTo(*arg.index, out);
    return;
  }
  out += "(slice ";
  if (arg.sliceBegin)
    printExprTo(*arg.sliceBegin, out);
  else
    out += "_";
  out += " ";
  if (arg.sliceEnd)
    printExprTo(*arg.sliceEnd, out);
  else
    out += "_";
  out += ")";
}

/// `(sum (i (j < N)) body)`
void printReduce(const ast::Expr &expr, std::string &out) {
  out += fmt::format("({} (", reduceOpName(expr.reduceOp));
  for (size_t i = 0; i < expr.binders.size(); ++i) {
    const ast::Binder &binder = expr.binders[i];
    out += i ? " " : "";
    if (!binder.bound) {
      out += binder.name;
      continue;
    }
    out += fmt::format("({} < ", binder.name);
    printExprTo(*binder.bound, out);
    out += ")";
  }
  out += ") ";
  if (!expr.operands.empty())
    printExprTo(*expr.operands[0], out);
  out += ")";
}

/// Prints the operands after a head word: `(head a b c`, left open.
void printOperands(const ast::Expr &expr, const std::string &head,
                   std::string &out) {
  out += "(" + head;
  for (const ast::ExprPtr &operand : expr.operands) {
    out += " ";
    printExprTo(*operand, out);
  }
}

void printExprTo(const ast::Expr &expr, std::string &out) {
  switch (expr.kind) {
  case ast::ExprKind::Number:
    out += formatNumber(expr);
    return;
  case ast::ExprKind::Name:
    out += expr.name;
    return;
  case ast::ExprKind::Unary:
    printOperands(expr, "neg", out);
    break;
  case ast::ExprKind::Binary:
    printOperands(expr, binaryOpName(expr.binaryOp), out);
    break;
  case ast::ExprKind::Call:
    printOperands(expr, "call " + expr.name, out);
    for (const ast::NamedArg &arg : expr.namedArgs) {
      out += fmt::format(" {}=", arg.name);
      printExprTo(*arg.value, out);
    }
    break;
  case ast::ExprKind::Index:
    printOperands(expr, "index", out);
    for (const ast::IndexArg &arg : expr.indices) {
      out += " ";
      printIndexArg(arg, out);
    }
    break;
  case ast::ExprKind::Reduce:
    return printReduce(expr, out);
  case ast::ExprKind::Tuple:
    printOperands(expr, "tuple", out);
    break;
  }
  out += ")";
}

/// `[]`, `[(* 3 H) I]` or `(token V)`.
std::string printType(const ast::TypeExpr &type) {
  if (!type.lengthOf.empty())
    return fmt::format("(length {})", type.lengthOf);
  std::string out = "[";
  for (size_t i = 0; i < type.dims.size(); ++i)
    out += (i ? " " : "") + printExpr(*type.dims[i]);
  out += "]";
  if (!type.isToken)
    return out;
  std::string vocab = type.vocab ? printExpr(*type.vocab) : "";
  return type.dims.empty() ? fmt::format("(token {})", vocab)
                           : fmt::format("(token {} {})", out, vocab);
}

/// `h`, `h[t]` or `h[(- t 1)]`.
std::string printTarget(const ast::Target &target) {
  if (!target.timeIndex)
    return target.name;
  std::string indices = printExpr(*target.timeIndex);
  for (const ast::ExprPtr &index : target.extraIndices)
    indices += ", " + printExpr(*index);
  return fmt::format("{}[{}]", target.name, indices);
}

std::string printParam(const ast::Stmt &stmt) {
  std::string out = fmt::format("(param {}", at(stmt.range));
  for (const ast::Declared &declared : stmt.declared)
    out += fmt::format(" ({} {})", declared.name, printType(declared.type));
  if (stmt.init) {
    out += " (init " + stmt.init->name;
    for (double arg : stmt.init->args)
      out += fmt::format(" {}", arg);
    out += ")";
  }
  return out + ")";
}

std::string printEquation(const ast::Stmt &stmt) {
  std::string targets;
  for (size_t i = 0; i < stmt.targets.size(); ++i)
    targets += (i ? " " : "") + printTarget(stmt.targets[i]);
  if (stmt.targets.size() != 1)
    targets = "(" + targets + ")";
  return fmt::format("({} {} {} {})", stmt.isOutput ? "output" : "eq",
                     at(stmt.range), targets,
                     stmt.value ? printExpr(*stmt.value) : "");
}

std::string printStmt(const ast::Stmt &stmt) {
  switch (stmt.kind) {
  case ast::StmtKind::Param:
    return printParam(stmt);
  case ast::StmtKind::Input: {
    const ast::Declared &declared = stmt.declared.at(0);
    std::string stream =
        stmt.inputIndex ? "[" + printExpr(*stmt.inputIndex) + "]" : "";
    return fmt::format("(input {} {}{} {})", at(stmt.range), declared.name,
                       stream, printType(declared.type));
  }
  case ast::StmtKind::Time:
    return fmt::format("(time {} {} < {})", at(stmt.range), stmt.timeIndex,
                       stmt.bound ? printExpr(*stmt.bound) : "");
  case ast::StmtKind::Equation:
    return printEquation(stmt);
  case ast::StmtKind::Return:
    return fmt::format("(return {} {})", at(stmt.range),
                       stmt.value ? printExpr(*stmt.value) : "");
  }
  return "(?)";
}

/// `(args (x [I]) (h [H]))` for a cell, `(sizes V (T 64))` for a model.
std::string printParameters(const ast::Decl &decl) {
  bool isCell = decl.kind == ast::DeclKind::Cell;
  std::string out = isCell ? "(args" : "(sizes";
  for (const ast::Parameter &parameter : decl.parameters) {
    if (parameter.type)
      out +=
          fmt::format(" ({} {})", parameter.name, printType(*parameter.type));
    else if (parameter.defaultValue)
      out += fmt::format(" ({} {})", parameter.name,
                         printExpr(*parameter.defaultValue));
    else
      out += " " + parameter.name;
  }
  return out + ")";
}

std::string printResults(const ast::Decl &decl) {
  std::string out = "(results";
  for (size_t i = 0; i < decl.results.size(); ++i) {
    std::string type = printType(decl.results[i]);
    if (i < decl.resultNames.size())
      out += fmt::format(" ({} {})", decl.resultNames[i], type);
    else
      out += " " + type;
  }
  return out + ")";
}

std::string printDecl(const ast::Decl &decl) {
  bool isCell = decl.kind == ast::DeclKind::Cell;
  std::string out = fmt::format("({} {} {}", isCell ? "cell" : "model",
                                decl.name, at(decl.range));
  const std::string indent = "\n    ";
  out += indent + printParameters(decl);
  if (isCell)
    out += indent + printResults(decl);
  for (const ast::Stmt &stmt : decl.body)
    out += indent + printStmt(stmt);
  return out + ")";
}

} // namespace

std::string printExpr(const ast::Expr &expr) {
  std::string out;
  printExprTo(expr, out);
  return out;
}

std::string printAst(const ast::Module &module) {
  std::string out = "(module";
  for (const ast::Import &import : module.imports) {
    std::string path;
    for (size_t i = 0; i < import.path.size(); ++i)
      path += (i ? "." : "") + import.path[i];
    out += fmt::format("\n  (import {} {})", path, at(import.range));
  }
  for (const ast::Decl &decl : module.decls)
    out += "\n  " + printDecl(decl);
  return out + ")\n";
}

} // namespace weft::syntax
