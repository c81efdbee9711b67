// Inline transcendentals for kernel bodies: exp, tanh and sigmoid as
// branch-free LLVM IR arithmetic on f32 or f64 scalars or vectors. No libm
// calls and no target intrinsics, so the loops around them vectorise on the
// CPU and a GPU path can emit the same code.
#pragma once

#include <llvm/IR/IRBuilder.h>

namespace weft::codegen {

/// Emits exp, tanh and sigmoid at the builder's insertion point. Each works
/// elementwise on a float or double scalar or vector, chosen by the type of
/// its argument; NaN passes through and infinities give the limits.
///
/// Largest relative error against the C library's long double functions,
/// over 1.35 million inputs from 1e-40 to 1e3 and the edge cases in
/// tests/codegen/FastMathTests.cpp, in units of 2^-24 (f32) and 2^-53 (f64),
/// half an ulp at 1, on an FMA host:
///
/// | function | f32 | f64 |
/// |----------|-----|-----|
/// | exp      | 1.4 | 1.4 |
/// | tanh     | 2.7 | 2.9 |
/// | sigmoid  | 3.2 | 3.2 |
///
/// that is below 2e-7 in f32 and 4e-16 in f64. Subnormal results may be off
/// by a unit or two of the smallest subnormal.
class FastMath {
public:
  explicit FastMath(llvm::IRBuilder<> &builder) : builder(builder) {}

  /// e^x = 2^k e^r with k = round(x / ln 2), r = x - k ln 2 reduced in two
  /// parts (Cody-Waite), e^r from its Taylor polynomial. x is clamped to
  /// where e^x overflows to inf or underflows to 0.
  llvm::Value *exp(llvm::Value *x);
  /// tanh(x) = sign(x) m / (m + 2) with m = e^{2|x|} - 1, which has no
  /// cancellation near 0; |x| is clamped to 20, past which tanh rounds to 1.
  llvm::Value *tanh(llvm::Value *x);
  /// sigmoid(x) = 1 / (1 + e^{-|x|}) for x >= 0 and e^x / (1 + e^x) below,
  /// so e^{-|x|} never overflows and tiny results keep their precision.
  llvm::Value *sigmoid(llvm::Value *x);

private:
  /// x = k ln 2 + r with |r| <= ln 2 / 2 (plus rounding).
  struct Reduced {
    llvm::Value *k; ///< An integer of the float's width.
    llvm::Value *r;
  };

  Reduced reduce(llvm::Value *x);
  llvm::Value *expMinusOnePolynomial(llvm::Value *r);
  llvm::Value *expMinusOne(llvm::Value *x);
  llvm::Value *powerOfTwo(llvm::Value *k, llvm::Value *like);
  llvm::Value *clamp(llvm::Value *x, double low, double high);

  bool isDouble(llvm::Value *x) const;
  llvm::Value *constant(llvm::Value *like, double value);
  llvm::Value *intConstant(llvm::Value *like, int64_t value);
  llvm::Type *intType(llvm::Type *floatType);
  llvm::Value *multiplyAdd(llvm::Value *a, llvm::Value *b, llvm::Value *c);

  llvm::IRBuilder<> &builder;
};

} // namespace weft::codegen
