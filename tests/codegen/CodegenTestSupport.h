// Helpers for the code generator's tests: deterministic params and inputs,
// a JIT run through an Instance, and an element-by-element comparison with
// the reference interpreter in f64 and f32.
#pragma once

#include "compiler/codegen/Executable.h"
#include "compiler/ir/IR.h"
#include "compiler/ir/Interpreter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <tuple>

namespace weft::codegen::testing {

/// The parameters and inputs of one run, as the interpreter takes them.
struct RunData {
  ir::BufferMap params;
  ir::BufferMap inputs;
};

/// Values for every Param and Input of `function`: floats are multiples of
/// 1/256 in [-1, 1] (exact in f32), ids cycle through [0, idRange).
RunData makeRunData(const ir::Function &function, int64_t batch,
                    int64_t idRange, unsigned seed = 1);

/// Copies `data` into an Instance of `executable`, runs it `runs` times,
/// and returns every output by name, as doubles.
ir::BufferMap runCompiled(const Executable &executable, int64_t batch,
                          const RunData &data, int runs = 1);

/// Expects equal names and sizes, and |actual - expected| <= tolerance *
/// (1 + |expected|) for every element.
void expectClose(const ir::BufferMap &expected, const ir::BufferMap &actual,
                 double tolerance);

/// Compiles `function` (which must verify), runs it and the interpreter on
/// the same data, and compares every output.
void expectMatchesInterpreter(const ir::Function &function, FloatType type,
                              int64_t batch, int64_t idRange = 1);

/// Tests run for each float type and for batch sizes 1 and 3.
class CodegenTest
    : public ::testing::TestWithParam<std::tuple<FloatType, int64_t>> {
protected:
  FloatType floatType() const { return std::get<0>(GetParam()); }
  int64_t batch() const { return std::get<1>(GetParam()); }
  void check(const ir::Function &function, int64_t idRange = 1) {
    expectMatchesInterpreter(function, floatType(), batch(), idRange);
  }
};

std::string
paramName(const ::testing::TestParamInfo<std::tuple<FloatType, int64_t>> &info);

#define WEFT_CODEGEN_TEST_SUITE(Suite)                                         \
  INSTANTIATE_TEST_SUITE_P(                                                    \
      AllTypes, Suite,                                                         \
      ::testing::Combine(::testing::Values(::weft::codegen::FloatType::F64,    \
                                           ::weft::codegen::FloatType::F32),   \
                         ::testing::Values(int64_t{1}, int64_t{3})),           \
      ::weft::codegen::testing::paramName)

} // namespace weft::codegen::testing
