// The abstract syntax tree of one .weft file. The parser builds it from the
// ANTLR parse tree; every node carries the source range it was read from.
// Names are not resolved here: sema decides what each name refers to.
#pragma once

#include "compiler/support/Diagnostics.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace weft::ast {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  Number, ///< `2`, `0.5`, `1e-3`
  Name,   ///< `h`, `W_ih`, `T`
  Unary,  ///< `-x`
  Binary, ///< `a + b`, `W @ x`, `3 * H`
  Call,   ///< `tanh(x)`, `rnn(x[t], h[t - 1])`, `GRU()`
  Index,  ///< `h[t - 1]`, `W[0:H]`, `emb[text[t]]`, `w[k, i, j]`
  Reduce, ///< `sum(t) e`, `mean(t < T - 1) e`, `sum(batch) e`
  Tuple,  ///< `(h2, c2)`
};

enum class BinaryOp {
  Add,
  Sub,
  Mul,
  Div,
  MatMul,
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  Equal,
  NotEqual,
};
enum class ReduceOp { Sum, Mean, Max };

/// One entry between the brackets of an index expression: either a single
/// index (`t - 1`, `text[t]`, `k`) or a slice `lo:hi` (either end may be
/// missing, as in `W[:H]`).
struct IndexArg {
  ExprPtr index;      ///< Set for a single index.
  ExprPtr sliceBegin; ///< Set for a slice with a lower bound.
  ExprPtr sliceEnd;   ///< Set for a slice with an upper bound.
  bool isSlice = false;
  bool isPrefix = false; ///< `..t`: the steps up to t; `index` holds t.
  SourceRange range;
};

/// A reduction binder: `t`, `t < T - 1`, or the reserved name `batch`.
struct Binder {
  std::string name;
  ExprPtr bound; ///< Upper bound (exclusive) when written as `i < N`.
  SourceRange range;
};

/// A named argument in a call: `H = 256`.
struct NamedArg {
  std::string name;
  ExprPtr value;
  SourceRange range;
};

struct Expr {
  ExprKind kind;
  SourceRange range;

  // Number
  double number = 0;
  bool isInteger = false; ///< Written without a point or exponent.
  // Name; also the callee of a Call
  std::string name;
  SourceRange nameRange;
  // Unary (operand in operands[0]), Binary (lhs, rhs)
  BinaryOp binaryOp = BinaryOp::Add;
  std::vector<ExprPtr> operands;   ///< Unary, Binary, Call args, Tuple items
  std::vector<NamedArg> namedArgs; ///< Call
  // Index: operands[0] is the indexed value
  std::vector<IndexArg> indices;
  // Reduce: body in operands[0]
  ReduceOp reduceOp = ReduceOp::Sum;
  std::vector<Binder> binders;

  explicit Expr(ExprKind kind, SourceRange range) : kind(kind), range(range) {}
};

/// The type written after a colon: `[H, I]`, `[]`, or `token(V)`.
struct TypeExpr {
  std::vector<ExprPtr> dims; ///< Size expressions, outermost first.
  bool isToken = false;      ///< `token(V)`: an int64 id below `vocab`.
  ExprPtr vocab;
  /// `length(t)`: the number of valid steps of time index `t`, per example.
  std::string lengthOf;
  SourceRange range;
};

/// An initialiser after `=` in a parameter declaration: `glorot`,
/// `normal(0, 0.1)`, `zeros`.
struct Initializer {
  std::string name;
  std::vector<double> args;
  SourceRange range;
};

/// The left side of an equation: `h`, `h[t]`, `h[-1]`, `logits[t]`, or a
/// tuple of these for cells that return several parts.
struct Target {
  std::string name;
  ExprPtr timeIndex; ///< The first index; null for a plain value.
  /// Index notation's further indices: `j` of `a[i, j]`.
  std::vector<ExprPtr> extraIndices;
  SourceRange range;
};

enum class StmtKind {
  Param,    ///< `param W: [H, I], U: [H, H] = glorot`
  Input,    ///< `input x[t]: [I]`, `input h0: [H]`
  Time,     ///< `time t < T`
  Equation, ///< `h[t] = rnn(x[t], h[t - 1])`, `output y[t] = h[t]`
  Return,   ///< `return (1 - z) * n + z * h`
};

struct Declared {
  std::string name;
  SourceRange nameRange;
  TypeExpr type;
};

struct Stmt {
  StmtKind kind;
  SourceRange range;

  // Param: several names may share one initialiser
  std::vector<Declared> declared;
  std::optional<Initializer> init;
  // Input: declared[0]; `inputIndex` is the bracket of `x[t]` or `h0[L]`,
  // and `timeIndex` its name when it is a plain name.
  std::string timeIndex;
  ExprPtr inputIndex;
  // Time: `time <timeIndex> < <bound>`
  ExprPtr bound;
  // Equation: one or more targets; `isOutput` for `output ... = ...`
  std::vector<Target> targets;
  bool isOutput = false;
  // Equation and Return
  ExprPtr value;

  explicit Stmt(StmtKind kind, SourceRange range) : kind(kind), range(range) {}
};

/// A cell argument or a model size parameter.
struct Parameter {
  std::string name;
  SourceRange range;
  std::optional<TypeExpr> type; ///< Cell arguments: `x: [I]`
  ExprPtr defaultValue;         ///< Model sizes: `H = 256`
};

enum class DeclKind { Cell, Model };

/// A `cell` (a function that owns parameters) or a `model` (the top level
/// that has inputs, streams, outputs and a loss).
struct Decl {
  DeclKind kind;
  std::string name;
  SourceRange nameRange;
  SourceRange range;
  std::vector<Parameter> parameters;
  std::vector<TypeExpr> results;        ///< Cells: one type, or several parts.
  std::vector<std::string> resultNames; ///< `-> (h: [H], c: [H])`; may be empty
  std::vector<Stmt> body;

  explicit Decl(DeclKind kind) : kind(kind) {}
};

/// `import std.gru`: a dotted module path.
struct Import {
  std::vector<std::string> path;
  SourceRange range;
};

/// One parsed file.
struct Module {
  uint32_t fileId = 0;
  std::vector<Import> imports;
  std::vector<Decl> decls;
};

} // namespace weft::ast
