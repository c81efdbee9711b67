// The inline exp, tanh and sigmoid of compiler/codegen/FastMath.cpp, run
// through JIT-compiled programs and compared with the C library's long
// double functions over a wide sweep of inputs, in f32 and f64; and the
// loops that use them vectorising without run-time alias checks.
#include "CodegenTestSupport.h"

#include <cmath>
#include <limits>

namespace weft::codegen::testing {
namespace {

using ir::OpKind;

/// A function of one long double argument, accurate to well below an ulp
/// of f64.
using Reference = long double (*)(long double);

long double referenceExp(long double x) { return std::exp(x); }
long double referenceTanh(long double x) { return std::tanh(x); }
long double referenceSigmoid(long double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}

struct MathFunction {
  const char *name;
  OpKind op;
  Reference reference;
};

const MathFunction mathFunctions[] = {
    {"exp", OpKind::Exp, referenceExp},
    {"tanh", OpKind::Tanh, referenceTanh},
    {"sigmoid", OpKind::Sigmoid, referenceSigmoid},
};

bool isF32(FloatType type) { return type == FloatType::F32; }

/// x rounded to the float type, through double; beyond the largest float
/// it is an infinity.
double roundToType(double x, FloatType type) {
  if (!isF32(type) || std::isnan(x))
    return x;
  if (std::fabs(x) > std::numeric_limits<float>::max())
    return std::copysign(std::numeric_limits<double>::infinity(), x);
  return static_cast<float>(x);
}

/// The edge cases, then magnitudes from 1e-40 to 1e3 spaced geometrically
/// (both signs), then [-25, 25] spaced evenly; all rounded to the type.
std::vector<double> sweepInputs(FloatType type) {
  double infinity = std::numeric_limits<double>::infinity();
  std::vector<double> inputs = {
      0,      -0.0,    1e-45, -1e-45, 1e-38,   -1e-38,   1e-30,    -1e-30,
      1e-8,   -1e-8,   0.5,   -0.5,   1,       -1,       0.625,    -0.625,
      0.3466, -0.3466, 9,     -9,     19,      -19,      20,       -20,
      21,     -21,     87,    -87,    88,      -88,      88.72,    -88.72,
      89,     -89,     103.9, -103.9, 104,     -104,     700,      -700,
      709.78, -709.78, 710,   -710,   745.1,   -745.1,   746,      -746,
      1e10,   -1e10,   1e300, -1e300, 1.7e308, -1.7e308, infinity, -infinity};
  for (double exponent = -40; exponent <= 3; exponent += 1.0 / 4096)
    for (double sign : {1.0, -1.0})
      inputs.push_back(sign * std::pow(10.0, exponent));
  for (int i = -500000; i <= 500000; ++i)
    inputs.push_back(25.0 * i / 500000);
  for (double &input : inputs)
    input = roundToType(input, type);
  return inputs;
}

/// y_f = f(x) for each math function, over a param x of `count` elements.
std::unique_ptr<Executable> compileMath(int64_t count, FloatType type,
                                        bool keepOptimisedLlvm = false) {
  ir::Function function;
  function.name = "math";
  ir::Builder builder(function, function.body);
  ir::Value *x = builder.param("x", {count});
  for (const MathFunction &math : mathFunctions)
    function.outputs.push_back({math.name, builder.unary(math.op, x)});
  EXPECT_EQ(ir::verify(function), "");
  std::string error;
  CompileOptions options{type, 2, keepOptimisedLlvm};
  auto executable = Executable::compile(function, options, &error);
  EXPECT_TRUE(executable) << error;
  return executable;
}

/// Every math function of every input, as doubles, by output name.
ir::BufferMap evaluateMath(const std::vector<double> &inputs, FloatType type) {
  auto executable = compileMath(static_cast<int64_t>(inputs.size()), type);
  if (!executable)
    return {};
  RunData data;
  data.params["x"] = inputs;
  return runCompiled(*executable, 1, data);
}

/// |got - want| / |want|, with |want| taken as at least the smallest
/// normal number, so that subnormal results may differ in their last few
/// units. NaN and infinite results must match exactly (else inf).
double relativeError(double got, long double want, FloatType type) {
  double wantInType = roundToType(static_cast<double>(want), type);
  if (std::isnan(wantInType) || std::isinf(wantInType)) {
    bool same = std::isnan(wantInType) ? std::isnan(got) : got == wantInType;
    return same ? 0 : std::numeric_limits<double>::infinity();
  }
  long double smallestNormal = isF32(type) ? std::numeric_limits<float>::min()
                                           : std::numeric_limits<double>::min();
  long double scale = std::max(std::fabs(want), smallestNormal);
  return static_cast<double>(std::fabs(got - want) / scale);
}

/// Half an ulp at 1, the unit in which FastMath.h states its accuracy.
double unitRoundoff(FloatType type) { return isF32(type) ? 0x1p-24 : 0x1p-53; }

/// The accuracy FastMath promises: within a few ulp of libm, under 5e-7 in
/// f32 and 1e-15 in f64 (FastMath.h lists what it measures: 1.4 to 3.2
/// units of roundoff on an FMA host).
double tolerance(FloatType type) { return isF32(type) ? 5e-7 : 1e-15; }

class FastMathAccuracy : public ::testing::TestWithParam<FloatType> {};

/// The largest relative error of each function over the sweep stays within
/// the tolerance; the test records it as a property (--gtest_output=xml).
TEST_P(FastMathAccuracy, MatchesTheCLibraryOverASweep) {
  FloatType type = GetParam();
  std::vector<double> inputs = sweepInputs(type);
  ir::BufferMap outputs = evaluateMath(inputs, type);
  for (const MathFunction &math : mathFunctions) {
    const std::vector<double> &results = outputs[math.name];
    ASSERT_EQ(results.size(), inputs.size()) << math.name;
    double worst = 0;
    double worstInput = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      double error = relativeError(results[i], math.reference(inputs[i]), type);
      if (error > worst || std::isnan(error)) {
        worst = error;
        worstInput = inputs[i];
      }
    }
    EXPECT_LE(worst, tolerance(type))
        << math.name << " at x = " << worstInput << ": "
        << worst / unitRoundoff(type) << " units of roundoff";
    RecordProperty(std::string(math.name) + "_max_units",
                   std::to_string(worst / unitRoundoff(type)));
  }
}

/// The values that must come out exactly: limits, zeros and NaN.
TEST_P(FastMathAccuracy, SpecialValuesAreExact) {
  FloatType type = GetParam();
  double infinity = std::numeric_limits<double>::infinity();
  double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> inputs = {0, -0.0, infinity, -infinity, nan, 1e4, -1e4};
  ir::BufferMap outputs = evaluateMath(inputs, type);
  const std::vector<double> &exp = outputs["exp"];
  const std::vector<double> &tanh = outputs["tanh"];
  const std::vector<double> &sigmoid = outputs["sigmoid"];
  ASSERT_EQ(exp.size(), inputs.size());

  EXPECT_EQ(exp[0], 1);
  EXPECT_EQ(exp[1], 1);
  EXPECT_EQ(exp[2], infinity);
  EXPECT_EQ(exp[3], 0);
  EXPECT_TRUE(std::isnan(exp[4]));
  EXPECT_EQ(exp[5], infinity);
  EXPECT_EQ(exp[6], 0);
  EXPECT_EQ(tanh[0], 0);
  EXPECT_FALSE(std::signbit(tanh[0]));
  EXPECT_EQ(tanh[1], 0);
  EXPECT_TRUE(std::signbit(tanh[1]));
  EXPECT_EQ(tanh[2], 1);
  EXPECT_EQ(tanh[3], -1);
  EXPECT_TRUE(std::isnan(tanh[4]));
  EXPECT_EQ(tanh[5], 1);
  EXPECT_EQ(tanh[6], -1);
  EXPECT_EQ(sigmoid[0], 0.5);
  EXPECT_EQ(sigmoid[1], 0.5);
  EXPECT_EQ(sigmoid[2], 1);
  EXPECT_EQ(sigmoid[3], 0);
  EXPECT_TRUE(std::isnan(sigmoid[4]));
  EXPECT_EQ(sigmoid[5], 1);
  EXPECT_EQ(sigmoid[6], 0);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, FastMathAccuracy,
                         ::testing::Values(FloatType::F32, FloatType::F64),
                         [](const ::testing::TestParamInfo<FloatType> &info) {
                           return std::string(isF32(info.param) ? "f32"
                                                                : "f64");
                         });

bool contains(const std::string &text, const char *piece) {
  return text.find(piece) != std::string::npos;
}

/// The elementwise loops computing exp, tanh and sigmoid vectorise: no
/// libm calls are left in them, and since buffers never overlap, the
/// vectoriser needs no run-time alias checks. (Messages name the missing
/// or unwanted piece rather than print the whole module.)
TEST(Vectorisation, MathLoopsVectoriseWithoutAliasChecks) {
  for (FloatType type : {FloatType::F32, FloatType::F64}) {
    SCOPED_TRACE(isF32(type) ? "f32" : "f64");
    auto executable = compileMath(1000, type, true);
    ASSERT_TRUE(executable);
    std::string optimised = executable->optimisedLlvmText();
    EXPECT_TRUE(contains(optimised, "vector.body")) << "no vector loop";
    EXPECT_FALSE(contains(optimised, "vector.memcheck"))
        << "run-time alias checks";
    for (const char *libm : {"@exp", "@tanh", "@llvm.exp."})
      EXPECT_FALSE(contains(optimised, libm)) << "calls " << libm;
    EXPECT_TRUE(contains(executable->llvmText(), "!alias.scope"))
        << "no alias scopes on buffer accesses";
  }
}

} // namespace
} // namespace weft::codegen::testing
