// What a built model takes from outside: its parameters with their
// initialisers and its inputs with their per-example types. Sema finds
// them (as ModelInfo), manifests carry them to the runtime, which needs
// nothing else of the compiler; so this header depends on nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weft::runtime {

/// A trained parameter: its shape and how it starts.
struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::string init = "zeros";
  std::vector<double> initArgs;
};

/// A model input with its concrete per-example type.
struct InputSpec {
  std::string name;
  std::vector<int64_t> shape; ///< Per example, per step.
  int64_t steps = 0;          ///< Non-zero for a stream input.
  bool isToken = false;
  int64_t vocab = 0; ///< For token inputs: ids are below this.
  /// For the initial state of a carried recurrence (`h[-1] =
  /// carry(zeros(H))`): the output holding the state after the last step,
  /// which training feeds back as this input in the next window.
  std::string carriedFrom;
};

} // namespace weft::runtime
