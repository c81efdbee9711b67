// A compiled program's description: its buffers, the model's parameters
// with their initialisers, and its inputs. `weft build` embeds it, as JSON,
// beside the machine code of a standalone trainer or an embeddable object,
// so that the runtime can drive the code without the compiler.
#pragma once

#include "runtime/Program.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
  /// For carried state: the output holding the state after the last step.
  std::string carriedFrom;
};

struct Manifest {
  size_t floatBytes = 4;
  std::vector<BufferSpec> buffers;
  std::vector<ParamSpec> params;
  std::vector<InputSpec> inputs;
  std::vector<std::string> outputs;
  /// The stream output of per-step logits over the token vocabulary, if
  /// any: what sampling reads.
  std::string logits;
};

std::string manifestToJson(const Manifest &manifest);
/// Reads what manifestToJson wrote; an error says what is missing.
std::optional<Manifest> parseManifest(std::string_view json,
                                      std::string *error);

/// What `weft train` and standalone trainers need of a model: parameters,
/// one token stream to feed, and the state carried between windows.
struct TrainingModel {
  std::vector<ParamSpec> params;
  InputSpec tokens;
  std::vector<InputSpec> carried;
  std::string logits;
};

/// Finds the token stream and the carried state among the inputs; an error
/// names an input that would need other data.
std::optional<TrainingModel> trainingModel(const Manifest &manifest,
                                           std::string *error);

} // namespace weft::runtime
