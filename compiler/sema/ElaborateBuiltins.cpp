// Built-in functions on whole tensors: the elementwise ones beyond the
// basic arithmetic, softmax along the last axis, products, shifts, reshapes,
// concatenation and stacking; and the list of every built-in name, for
// suggestions.
#include "compiler/sema/Elaborator.h"

#include <fmt/format.h>

#include <algorithm>

namespace weft::sema {

using ir::OpKind;

std::vector<std::string> builtinNames() {
  return {"sigmoid",       "tanh",        "exp",      "log",       "sqrt",
          "abs",           "relu",        "softplus", "pow",       "where",
          "softmax",       "log_softmax", "max",      "sum",       "mean",
          "cross_entropy", "zeros",       "ones",     "transpose", "outer",
          "dot",           "cosine",      "roll",     "reshape",   "concat",
          "stack",         "carry"};
}

/// Built-ins on whole tensors: elementwise functions beyond the basic ones,
/// softmax along the last axis, products, shifts and reshapes. Sets
/// `handled` when `expr` calls one.
Val Elaborator::elaborateTensorBuiltin(const ast::Expr &expr, bool &handled) {
  static const std::map<std::string, size_t> arities = {
      {"sqrt", 1},      {"abs", 1},     {"relu", 1},        {"softplus", 1},
      {"pow", 2},       {"where", 3},   {"log_softmax", 1}, {"max", 1},
      {"transpose", 1}, {"outer", 2},   {"dot", 2},         {"cosine", 2},
      {"roll", 2},      {"softmax", 1}, {"reshape", 2}};
  auto arity = arities.find(expr.name);
  handled = arity != arities.end();
  if (!handled)
    return Val::poisoned();
  bool variadic = expr.name == "reshape" || expr.name == "softmax";
  size_t given = expr.operands.size();
  bool arityOk = variadic ? given >= arity->second &&
                                given <= (expr.name == "softmax" ? 2 : 64)
                          : given == arity->second;
  if (!arityOk || !expr.namedArgs.empty()) {
    static const std::map<std::string, std::string> forms = {
        {"softmax", "`softmax(x)` or `softmax(x, mask)`"},
        {"reshape", "`reshape(x, sizes...)`, as in `reshape(v, H, H)`"},
        {"roll", "`roll(x, shift)` with a whole-number shift"},
        {"where", "`where(condition, a, b)`"},
        {"pow", "`pow(x, y)`"}};
    auto form = forms.find(expr.name);
    diags.error(expr.range,
                form != forms.end()
                    ? fmt::format("`{}` is written {}", expr.name, form->second)
                    : fmt::format("`{}` takes {} argument{}", expr.name,
                                  arity->second,
                                  arity->second == 1 ? "" : "s"));
    return Val::poisoned();
  }
  SourceRange range = expr.range;
  // Arguments that are sizes (the shift of `roll`, the sizes of `reshape`).
  bool sizeArguments = expr.name == "roll" || expr.name == "reshape";
  Vals args;
  for (size_t i = 0; i < given; ++i) {
    if (sizeArguments && i > 0)
      break;
    Val arg = elaborateOne(*expr.operands[i]);
    if (!arg.ok)
      return Val::poisoned();
    bool tokensAllowed = expr.name == "where" && i == 0;
    if (!tokensAllowed && !requireNumbers(arg, expr.operands[i]->range))
      return Val::poisoned();
    bool elementwiseBuiltin = expr.name == "sqrt" || expr.name == "abs" ||
                              expr.name == "relu" || expr.name == "softplus" ||
                              expr.name == "pow";
    if (!arg.labels.empty() && !elementwiseBuiltin) {
      diags.error(arg.origin, fmt::format("`{}` works on whole values, not "
                                          "in index notation",
                                          expr.name));
      return Val::poisoned();
    }
    args.push_back(arg);
  }
  const Val &x = args[0];
  auto needRank = [&](const Val &value, size_t low, size_t high,
                      const char *what) {
    if (value.dims.size() >= low && value.dims.size() <= high)
      return true;
    diags.error(value.origin,
                fmt::format("`{}` takes {}, but this has shape "
                            "{}",
                            expr.name, what, formatDims(value.dims)));
    return false;
  };
  auto sameShape = [&](const Val &a, const Val &b) {
    if (a.dims == b.dims)
      return true;
    diags.error(range,
                fmt::format("`{}` needs two values of one shape, but "
                            "got {} and {}",
                            expr.name, formatDims(a.dims), formatDims(b.dims)));
    return false;
  };

  if (expr.name == "sqrt")
    return unary(OpKind::Sqrt, x, range);
  if (expr.name == "abs")
    return unary(OpKind::Abs, x, range);
  if (expr.name == "relu")
    return unary(OpKind::Relu, x, range);
  if (expr.name == "softplus") {
    // log(1 + e^x), exactly as written.
    Val one = constant(1, {}, range);
    return unary(
        OpKind::Log,
        elementwise(OpKind::Add, one, unary(OpKind::Exp, x, range), range, "+"),
        range);
  }
  if (expr.name == "pow")
    return elementwise(OpKind::Pow, x, args[1], range, "pow");
  if (expr.name == "where") {
    Val chosen = elementwise(OpKind::Add, args[1], args[2], range, "where");
    if (!chosen.ok)
      return chosen;
    if (!x.dims.empty() && !(x.dims == chosen.dims)) {
      diags.error(range,
                  fmt::format("the condition of `where` has shape {} "
                              "but the values {}",
                              formatDims(x.dims), formatDims(chosen.dims)));
      return Val::poisoned();
    }
    Val val = chosen;
    val.batched = chosen.batched || x.batched;
    if (building()) {
      builder().range = range;
      val.ir = builder().where(use(x), use(args[1]), use(args[2]));
    }
    return val;
  }
  if (expr.name == "softmax" || expr.name == "log_softmax") {
    if (!needRank(x, 1, 8, "a vector or a tensor (along its last axis)"))
      return Val::poisoned();
    Val val = x;
    val.origin = range;
    val.level = level;
    if (args.size() == 2) {
      if (!sameShape(x, args[1]))
        return Val::poisoned();
      val.batched = x.batched || args[1].batched;
    }
    val.rowMask = nullptr;
    if (building()) {
      builder().range = range;
      // Over the rows of a prefix, the rows after the step are masked.
      ir::Value *mask = args.size() == 2 ? use(args[1]) : nullptr;
      if (x.rowMask && x.dims.size() == 1)
        mask =
            mask ? builder().binary(OpKind::Mul, mask, x.rowMask) : x.rowMask;
      if (expr.name == "log_softmax" && mask) {
        diags.error(range, "`log_softmax` of a causal prefix is not "
                           "supported yet; take the log of `softmax`");
        return Val::poisoned();
      }
      val.ir = expr.name == "log_softmax" ? builder().logSoftmax(use(x))
                                          : builder().softmax(use(x), mask);
    }
    return val;
  }
  if (expr.name == "max") {
    if (!needRank(x, 1, 8, "a vector or a tensor"))
      return Val::poisoned();
    Val val = x;
    val.dims = {};
    val.origin = range;
    val.level = level;
    if (building()) {
      builder().range = range;
      ir::Value *flat = use(x);
      if (x.dims.size() > 1)
        flat = builder().reshape(flat, {flat->type.elementCount()});
      val.ir = builder().maxLast(flat);
    }
    return val;
  }
  if (expr.name == "transpose") {
    if (!needRank(x, 2, 2, "a matrix"))
      return Val::poisoned();
    return contract({x}, {{"i", "j"}}, {"j", "i"}, range);
  }
  if (expr.name == "outer") {
    if (!needRank(x, 1, 1, "two vectors") ||
        !needRank(args[1], 1, 1, "two vectors"))
      return Val::poisoned();
    return contract({x, args[1]}, {{"i"}, {"j"}}, {"i", "j"}, range);
  }
  if (expr.name == "dot" || expr.name == "cosine") {
    if (!needRank(x, 1, 1, "two vectors") || !sameShape(x, args[1]))
      return Val::poisoned();
    Val product = contract({x, args[1]}, {{"i"}, {"i"}}, {}, range);
    if (expr.name == "dot")
      return product;
    // a.b / (|a| |b|), with no guard against a zero vector.
    Val normA =
        unary(OpKind::Sqrt, contract({x, x}, {{"i"}, {"i"}}, {}, range), range);
    Val normB =
        unary(OpKind::Sqrt,
              contract({args[1], args[1]}, {{"i"}, {"i"}}, {}, range), range);
    return elementwise(OpKind::Div, product,
                       elementwise(OpKind::Mul, normA, normB, range, "*"),
                       range, "/");
  }
  if (expr.name == "roll") {
    if (!needRank(x, 1, 8, "a vector or a tensor (along its first axis)"))
      return Val::poisoned();
    std::optional<Size> shift = evaluateSize(*expr.operands[1]);
    if (!shift)
      return Val::poisoned();
    std::optional<int64_t> length = x.dims[0].value();
    std::optional<int64_t> amount = shift->value();
    Val val = x;
    val.origin = range;
    val.level = level;
    if (!building() || !length || !amount)
      return val;
    // out[i] = x[(i - shift) mod n]: the last `shift` rows come first.
    int64_t n = *length;
    int64_t k = ((*amount % n) + n) % n;
    builder().range = range;
    if (k == 0) {
      val.ir = use(x);
      return val;
    }
    ir::Value *tail = builder().slice(use(x), n - k, n);
    ir::Value *head = builder().slice(use(x), 0, n - k);
    val.ir = builder().binary(OpKind::Add, builder().padSlice(tail, 0, n),
                              builder().padSlice(head, k, n));
    return val;
  }
  // reshape(x, sizes...)
  Dims dims;
  Size count = Size::constant(1), wanted = Size::constant(1);
  for (const Size &size : x.dims)
    count = count * size;
  for (size_t i = 1; i < given; ++i) {
    std::optional<Size> size = evaluateSize(*expr.operands[i]);
    if (!size)
      return Val::poisoned();
    dims.push_back(*size);
    wanted = wanted * *size;
  }
  // Sizes not yet bound may not simplify to one form; they are checked
  // again once bound.
  bool decidable = count.isConstant() && wanted.isConstant();
  if (!(count == wanted) && (decidable || building())) {
    diags.error(range, fmt::format("`reshape` keeps the number of elements, "
                                   "but {} has {} and {} has {}",
                                   formatDims(x.dims), count.str(),
                                   formatDims(dims), wanted.str()));
    return Val::poisoned();
  }
  Val val = x;
  val.dims = dims;
  val.origin = range;
  val.level = level;
  if (building()) {
    builder().range = range;
    val.ir = builder().reshape(use(x), concreteDims(dims));
  }
  return val;
}

} // namespace weft::sema
