// Arithmetic on symbolic sizes.
#include "compiler/sema/Sizes.h"

#include <algorithm>
#include <set>

namespace weft::sema {

Size Size::constant(int64_t value) {
  Size size;
  if (value != 0)
    size.terms[{}] = value;
  return size;
}

Size Size::symbol(const std::string &name) {
  Size size;
  size.terms[{name}] = 1;
  return size;
}

Size Size::operator+(const Size &other) const {
  Size sum = *this;
  sum.overflow = overflow || other.overflow;
  for (const auto &[monomial, coefficient] : other.terms) {
    int64_t &slot = sum.terms[monomial];
    sum.overflow |= __builtin_add_overflow(slot, coefficient, &slot);
    if (slot == 0)
      sum.terms.erase(monomial);
  }
  return sum;
}

Size Size::operator-(const Size &other) const {
  return *this + other * constant(-1);
}

Size Size::operator*(const Size &other) const {
  Size product;
  product.overflow = overflow || other.overflow;
  for (const auto &[left, leftCoefficient] : terms) {
    for (const auto &[right, rightCoefficient] : other.terms) {
      std::vector<std::string> monomial = left;
      monomial.insert(monomial.end(), right.begin(), right.end());
      std::sort(monomial.begin(), monomial.end());
      int64_t &slot = product.terms[monomial];
      int64_t term = 0;
      product.overflow |=
          __builtin_mul_overflow(leftCoefficient, rightCoefficient, &term);
      product.overflow |= __builtin_add_overflow(slot, term, &slot);
      if (slot == 0)
        product.terms.erase(monomial);
    }
  }
  return product;
}

std::optional<Size> Size::divide(const Size &other) const {
  std::optional<int64_t> divisor = other.value();
  if (!divisor || *divisor == 0)
    return std::nullopt;
  Size quotient;
  for (const auto &[monomial, coefficient] : terms) {
    if (coefficient % *divisor != 0)
      return std::nullopt;
    quotient.terms[monomial] = coefficient / *divisor;
  }
  return quotient;
}

bool Size::isConstant() const {
  return terms.empty() || (terms.size() == 1 && terms.begin()->first.empty());
}

bool Size::isKnownPositive() const {
  if (terms.empty())
    return false;
  for (const auto &[monomial, coefficient] : terms)
    if (coefficient <= 0)
      return false;
  return true;
}

std::optional<int64_t> Size::value() const {
  if (!isConstant())
    return std::nullopt;
  return terms.empty() ? 0 : terms.begin()->second;
}

std::optional<std::string> Size::asSymbol() const {
  if (terms.size() != 1 || terms.begin()->first.size() != 1 ||
      terms.begin()->second != 1)
    return std::nullopt;
  return terms.begin()->first[0];
}

Size Size::substitute(const std::map<std::string, Size> &bindings) const {
  Size result;
  for (const auto &[monomial, coefficient] : terms) {
    Size term = constant(coefficient);
    for (const std::string &name : monomial) {
      auto found = bindings.find(name);
      term = term * (found == bindings.end() ? symbol(name) : found->second);
    }
    result = result + term;
  }
  return result;
}

std::vector<std::string> Size::symbols() const {
  std::set<std::string> names;
  for (const auto &[monomial, coefficient] : terms)
    names.insert(monomial.begin(), monomial.end());
  return {names.begin(), names.end()};
}

std::optional<std::pair<std::string, int64_t>>
Size::solveFor(int64_t target) const {
  std::vector<std::string> names = symbols();
  if (names.size() != 1)
    return std::nullopt;
  int64_t slope = 0, offset = 0;
  for (const auto &[monomial, coefficient] : terms) {
    if (monomial.empty())
      offset = coefficient;
    else if (monomial.size() == 1)
      slope = coefficient;
    else
      return std::nullopt;
  }
  if (slope == 0 || (target - offset) % slope != 0)
    return std::nullopt;
  return std::make_pair(names[0], (target - offset) / slope);
}

std::string Size::str() const {
  if (terms.empty())
    return "0";
  std::string text;
  // Print symbolic terms first, in a stable order, then the constant.
  for (auto it = terms.rbegin(); it != terms.rend(); ++it) {
    const auto &[monomial, coefficient] = *it;
    int64_t magnitude = coefficient < 0 ? -coefficient : coefficient;
    if (text.empty())
      text += coefficient < 0 ? "-" : "";
    else
      text += coefficient < 0 ? " - " : " + ";
    std::string factors;
    for (const std::string &name : monomial)
      factors += (factors.empty() ? "" : " * ") + name;
    if (factors.empty())
      text += std::to_string(magnitude);
    else if (magnitude == 1)
      text += factors;
    else
      text += std::to_string(magnitude) + " * " + factors;
  }
  return text;
}

std::string formatDims(const Dims &dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? ", " : "") + dims[i].str();
  return text + "]";
}

} // namespace weft::sema
