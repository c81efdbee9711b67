// Evaluation of size expressions.
#include "compiler/sema/SizeExpr.h"

#include <fmt/format.h>

namespace weft::sema {

namespace {

std::optional<Size> fail(DiagnosticEngine *diags, SourceRange range,
                         std::string message) {
  if (diags)
    diags->error(range, std::move(message));
  return std::nullopt;
}

/// Sizes stay far below this; a literal above it is a mistake.
constexpr double largestSizeLiteral = 1099511627776.0; // 2^40

std::optional<Size> checked(const ast::Expr &expr, Size size,
                            DiagnosticEngine *diags) {
  if (size.overflowed())
    return fail(diags, expr.range, "this size is too large to compute");
  return size;
}

std::optional<Size> combine(const ast::Expr &expr, const Size &lhs,
                            const Size &rhs, DiagnosticEngine *diags) {
  switch (expr.binaryOp) {
  case ast::BinaryOp::Add:
    return checked(expr, lhs + rhs, diags);
  case ast::BinaryOp::Sub:
    return checked(expr, lhs - rhs, diags);
  case ast::BinaryOp::Mul:
    return checked(expr, lhs * rhs, diags);
  case ast::BinaryOp::Div:
    if (std::optional<Size> quotient = lhs.divide(rhs))
      return quotient;
    // With sizes not yet bound, a quotient that does not simplify stands
    // for itself; it is computed exactly once the sizes are bound.
    if (!lhs.isConstant() || !rhs.isConstant())
      return Size::symbol(fmt::format("({} / {})", lhs.str(), rhs.str()));
    return fail(
        diags, expr.range,
        fmt::format("`{}` is not a multiple of `{}`", lhs.str(), rhs.str()));
  default:
    break;
  }
  return fail(diags, expr.range,
              fmt::format("`{}` is not a size operation",
                          expr.binaryOp == ast::BinaryOp::MatMul
                              ? "@"
                              : "a comparison"));
}

} // namespace

std::optional<Size> evaluateSizeExpr(const ast::Expr &expr,
                                     const SizeLookup &lookup,
                                     DiagnosticEngine *diags) {
  switch (expr.kind) {
  case ast::ExprKind::Number:
    if (!expr.isInteger || expr.number < 0)
      return fail(diags, expr.range, "a size must be a whole number");
    if (expr.number > largestSizeLiteral)
      return fail(diags, expr.range,
                  "this number is too large for a size (at most 2^40)");
    return Size::constant(static_cast<int64_t>(expr.number));
  case ast::ExprKind::Name:
    if (std::optional<Size> size = lookup(expr.name))
      return size;
    return fail(diags, expr.range, fmt::format("unknown size `{}`", expr.name));
  case ast::ExprKind::Unary: {
    std::optional<Size> operand =
        evaluateSizeExpr(*expr.operands[0], lookup, diags);
    if (!operand)
      return std::nullopt;
    return checked(expr, Size::constant(0) - *operand, diags);
  }
  case ast::ExprKind::Binary: {
    std::optional<Size> lhs =
        evaluateSizeExpr(*expr.operands[0], lookup, diags);
    std::optional<Size> rhs =
        evaluateSizeExpr(*expr.operands[1], lookup, diags);
    if (!lhs || !rhs)
      return std::nullopt;
    return combine(expr, *lhs, *rhs, diags);
  }
  default:
    return fail(diags, expr.range,
                "expected a size: a whole number, a size name, or "
                "`+ - * /` of these");
  }
}

} // namespace weft::sema
