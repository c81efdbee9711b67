// Branch-free exp, tanh and sigmoid as LLVM IR. All three rest on one range
// reduction x = k ln 2 + r and the Taylor polynomial of e^r - 1; 2^k is
// built in the exponent bits. Rounding to k uses the add-and-subtract
// shift rather than a rounding instruction, and multiply-adds are
// llvm.fmuladd, so every target can lower the code without a libcall.
#include "compiler/codegen/FastMath.h"

#include <llvm/IR/Intrinsics.h>

#include <bit>
#include <cstdint>

namespace weft::codegen {

namespace {

/// The constants of one float type.
struct Format {
  int mantissaBits;
  int exponentBias;
  /// 1.5 * 2^mantissaBits: adding and subtracting it rounds a value below
  /// 2^(mantissaBits - 1) to an integer, which the sum's low bits hold.
  double roundingShift;
  /// ln 2 in two parts (Cody-Waite): the high part has enough trailing zero
  /// bits that k * ln2High is exact for every k we reach, so r = x - k ln 2
  /// loses only the rounding of k * ln2Low.
  double ln2High;
  double ln2Low;
  /// e^x rounds to 0 below expLow and overflows to inf above expHigh;
  /// clamping there keeps 2^k inside the exponent range.
  double expLow;
  double expHigh;
  /// Terms of e^r - 1 = r + r^2/2! + ... + r^n/n!. With |r| <= ln 2 / 2 the
  /// first term left out is below 6e-10 of the result in f32 (n = 8) and
  /// below 1.2e-17 in f64 (n = 13), well under half an ulp.
  int taylorTerms;
};

constexpr Format floatFormat{.mantissaBits = 23,
                             .exponentBias = 127,
                             .roundingShift = 0x1.8p23,
                             .ln2High = 0x1.63p-1, // 0.693359375
                             .ln2Low = -2.12194440e-4,
                             .expLow = -104,
                             .expHigh = 89,
                             .taylorTerms = 8};
constexpr Format doubleFormat{.mantissaBits = 52,
                              .exponentBias = 1023,
                              .roundingShift = 0x1.8p52,
                              .ln2High = 0x1.62e42feep-1, // fdlibm's ln2_hi
                              .ln2Low = 1.90821492927058770002e-10,
                              .expLow = -746,
                              .expHigh = 710,
                              .taylorTerms = 13};

constexpr double log2E = 1.44269504088896340736;

/// Beyond this |x|, tanh(x) rounds to +-1 in both f32 and f64, and
/// e^{2|x|} is still finite in f32.
constexpr double tanhSaturation = 20;

const Format &formatOf(bool isDouble) {
  return isDouble ? doubleFormat : floatFormat;
}

/// The bits of the rounding shift, as an integer of the float's width.
int64_t roundingShiftBits(bool isDouble) {
  if (isDouble)
    return std::bit_cast<int64_t>(doubleFormat.roundingShift);
  return std::bit_cast<int32_t>(static_cast<float>(floatFormat.roundingShift));
}

} // namespace

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

bool FastMath::isDouble(llvm::Value *x) const {
  return x->getType()->getScalarType()->isDoubleTy();
}

llvm::Value *FastMath::constant(llvm::Value *like, double value) {
  return llvm::ConstantFP::get(like->getType(), value);
}

/// An integer of the same width (and vector length) as `floatType`.
llvm::Type *FastMath::intType(llvm::Type *floatType) {
  unsigned bits = floatType->getScalarSizeInBits();
  return floatType->getWithNewType(builder.getIntNTy(bits));
}

llvm::Value *FastMath::intConstant(llvm::Value *like, int64_t value) {
  return llvm::ConstantInt::get(intType(like->getType()), value, true);
}

/// a * b + c, fused where the target has a fast fused multiply-add.
llvm::Value *FastMath::multiplyAdd(llvm::Value *a, llvm::Value *b,
                                   llvm::Value *c) {
  return builder.CreateIntrinsic(llvm::Intrinsic::fmuladd, {a->getType()},
                                 {a, b, c});
}

/// x limited to [low, high]; the ordered compares leave NaN alone.
llvm::Value *FastMath::clamp(llvm::Value *x, double low, double high) {
  llvm::Value *lowValue = constant(x, low);
  x = builder.CreateSelect(builder.CreateFCmpOLT(x, lowValue), lowValue, x);
  llvm::Value *highValue = constant(x, high);
  return builder.CreateSelect(builder.CreateFCmpOGT(x, highValue), highValue,
                              x);
}

//===----------------------------------------------------------------------===//
// The shared core: reduction, polynomial, scaling
//===----------------------------------------------------------------------===//

/// k = round(x log2 e), found by adding and subtracting the rounding shift,
/// whose sum's bits minus the shift's bits are k; then r = x - k ln2High -
/// k ln2Low, the first step exact.
FastMath::Reduced FastMath::reduce(llvm::Value *x) {
  const Format &format = formatOf(isDouble(x));
  llvm::Value *shift = constant(x, format.roundingShift);
  llvm::Value *shifted =
      builder.CreateFAdd(builder.CreateFMul(x, constant(x, log2E)), shift);
  llvm::Value *kFloat = builder.CreateFSub(shifted, shift);
  llvm::Value *kBits = builder.CreateBitCast(shifted, intType(x->getType()));
  llvm::Value *k =
      builder.CreateSub(kBits, intConstant(x, roundingShiftBits(isDouble(x))));

  llvm::Value *minusK = builder.CreateFNeg(kFloat);
  llvm::Value *r = multiplyAdd(minusK, constant(x, format.ln2High), x);
  r = multiplyAdd(minusK, constant(x, format.ln2Low), r);
  return {k, r};
}

/// e^r - 1 = r + r^2 (1/2! + r (1/3! + ... + r / n!)), by Horner's rule.
/// Keeping r outside the sum makes the result accurate relative to r when
/// r is tiny.
llvm::Value *FastMath::expMinusOnePolynomial(llvm::Value *r) {
  int terms = formatOf(isDouble(r)).taylorTerms;
  std::vector<double> inverseFactorials(terms + 1, 1.0);
  for (int n = 2; n <= terms; ++n)
    inverseFactorials[n] = inverseFactorials[n - 1] / n;

  llvm::Value *sum = constant(r, inverseFactorials[terms]);
  for (int n = terms - 1; n >= 2; --n)
    sum = multiplyAdd(sum, r, constant(r, inverseFactorials[n]));
  return multiplyAdd(builder.CreateFMul(r, r), sum, r);
}

/// 2^k, of the type of `like`, for an integer k inside the exponent range:
/// k + bias written into the exponent field.
llvm::Value *FastMath::powerOfTwo(llvm::Value *k, llvm::Value *like) {
  const Format &format = formatOf(isDouble(like));
  llvm::Value *biased =
      builder.CreateAdd(k, intConstant(like, format.exponentBias));
  llvm::Value *bits = builder.CreateShl(biased, format.mantissaBits);
  return builder.CreateBitCast(bits, like->getType());
}

/// e^x - 1 = 2^k (e^r - 1) + (2^k - 1), for 0 <= x <= 2 * tanhSaturation.
/// k >= 0 there, so the sum never cancels by more than a factor of 1.5,
/// and 2^k stays finite.
llvm::Value *FastMath::expMinusOne(llvm::Value *x) {
  Reduced reduced = reduce(x);
  llvm::Value *scale = powerOfTwo(reduced.k, x);
  llvm::Value *scaleMinusOne = builder.CreateFSub(scale, constant(x, 1));
  return multiplyAdd(scale, expMinusOnePolynomial(reduced.r), scaleMinusOne);
}

//===----------------------------------------------------------------------===//
// exp, tanh, sigmoid
//===----------------------------------------------------------------------===//

llvm::Value *FastMath::exp(llvm::Value *x) {
  // Clamp first: huge x then overflows to inf, very negative x rounds to
  // 0, and k stays small enough for the two-step scaling below.
  const Format &format = formatOf(isDouble(x));
  Reduced reduced = reduce(clamp(x, format.expLow, format.expHigh));
  llvm::Value *expR =
      builder.CreateFAdd(constant(x, 1), expMinusOnePolynomial(reduced.r));

  // 2^k may lie outside the normal range (k = 128 in f32 near the overflow
  // threshold, k < -126 for subnormal results), so scale by 2^(k/2) and
  // 2^(k - k/2), each a normal number; the product rounds once at the end.
  llvm::Value *half = builder.CreateAShr(reduced.k, 1);
  llvm::Value *rest = builder.CreateSub(reduced.k, half);
  llvm::Value *scaled = builder.CreateFMul(expR, powerOfTwo(half, x));
  return builder.CreateFMul(scaled, powerOfTwo(rest, x));
}

llvm::Value *FastMath::tanh(llvm::Value *x) {
  // Work on |x|, clamped where tanh has rounded to 1, so e^{2|x|} is finite
  // and m / (m + 2) is exactly 1 there; infinities saturate the same way.
  llvm::Value *magnitude =
      builder.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
  llvm::Value *limit = constant(x, tanhSaturation);
  magnitude = builder.CreateSelect(builder.CreateFCmpOGT(magnitude, limit),
                                   limit, magnitude);

  // tanh|x| = (e^{2|x|} - 1) / (e^{2|x|} + 1) = m / (m + 2).
  llvm::Value *m = expMinusOne(builder.CreateFAdd(magnitude, magnitude));
  llvm::Value *result =
      builder.CreateFDiv(m, builder.CreateFAdd(m, constant(x, 2)));

  // tanh is odd; copysign also keeps tanh(-0) = -0.
  return builder.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, result, x);
}

llvm::Value *FastMath::sigmoid(llvm::Value *x) {
  // e = e^{-|x|} lies in [0, 1], so nothing overflows.
  llvm::Value *magnitude =
      builder.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
  llvm::Value *e = exp(builder.CreateFNeg(magnitude));
  llvm::Value *positive =
      builder.CreateFDiv(constant(x, 1), builder.CreateFAdd(constant(x, 1), e));

  // sigmoid(-|x|) = e / (1 + e) from the same e: no e^{-x} overflows to
  // inf where the result is tiny but not yet 0.
  llvm::Value *negative = builder.CreateFMul(e, positive);
  return builder.CreateSelect(builder.CreateFCmpOLT(x, constant(x, 0)),
                              negative, positive);
}

} // namespace weft::codegen
