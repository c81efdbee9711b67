// A finite-difference check of autodiff: builds a forward function with
// random parameters and inputs, appends gradients, and compares each one
// with central differences of the loss computed by the interpreter.
#pragma once

#include "compiler/ir/Interpreter.h"

#include <random>

namespace weft::autodiff::testing {

/// Builds a function for one test and checks its gradients.
class GradientCheck {
public:
  GradientCheck();

  ir::Function function;
  ir::Builder builder;
  int64_t batch = 3;

  /// A parameter with uniform random values in [low, high].
  ir::Value *param(const std::string &name, std::vector<int64_t> shape,
                   double low = -1, double high = 1);
  /// A batched float input (a stream when `steps` != 0), random as above.
  ir::Value *input(const std::string &name, std::vector<int64_t> shape,
                   int64_t steps = 0, double low = -1, double high = 1);
  /// A batched int input of ids in [0, vocabulary), of per-example `shape`.
  ir::Value *ids(const std::string &name, int64_t vocabulary, int64_t steps = 0,
                 std::vector<int64_t> shape = {});
  /// Sets the loss to Σ over every element of `value` of value · probe,
  /// where `probe` is a random float input (or param when unbatched) of
  /// value's type, so that every element of the cotangent differs.
  void setWeightedLoss(ir::Value *value);
  /// Sets the loss to `loss`, an unbatched scalar.
  void setLoss(ir::Value *loss);

  /// Appends gradients, verifies the IR, and checks every gradient element
  /// against central differences; failures are reported with gtest.
  void check(double tolerance = 1e-6);

  ir::BufferMap params;
  ir::BufferMap inputs;

private:
  std::vector<double> randomBuffer(const ir::Type &type, double low,
                                   double high);
  double lossAt(const ir::BufferMap &params, const ir::BufferMap &inputs);

  std::mt19937_64 random{12345};
  std::vector<std::string> floatInputs;
  std::vector<std::string> paramNames;
  unsigned probes = 0;
};

} // namespace weft::autodiff::testing
