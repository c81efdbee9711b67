// A compiled program's description: its buffers, the model's parameters
// with their initialisers, and its inputs. `weft build` embeds it, as JSON,
// beside the machine code of a standalone trainer or an embeddable object,
// so that the runtime can drive the code without the compiler.
#pragma once

#include "runtime/Checkpoint.h"
#include "runtime/ModelSpecs.h"
#include "runtime/Program.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::runtime {

/// A model output: per example (and per step, for a stream) its shape.
struct OutputSpec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t steps = 0; ///< Non-zero for a stream output.
};

struct Manifest {
  size_t floatBytes = 4;
  std::vector<BufferSpec> buffers;
  std::vector<ParamSpec> params;
  std::vector<InputSpec> inputs;
  std::vector<OutputSpec> outputs; ///< The forward outputs and `loss`.
  /// The stream output of per-step logits over the token vocabulary, if
  /// any: what sampling reads.
  std::string logits;
};

std::string manifestToJson(const Manifest &manifest);
/// Reads what manifestToJson wrote; an error says what is missing.
std::optional<Manifest> parseManifest(std::string_view json,
                                      std::string *error);

/// What training needs of a model: its parameters, the state carried
/// from step to step, and the inputs the data feeds: on text, one token
/// stream; on examples, every other input.
struct TrainingModel {
  std::vector<ParamSpec> params;
  InputSpec tokens;           ///< On text: the stream of the text's token ids.
  std::vector<InputSpec> fed; ///< On examples: the inputs the arrays feed.
  std::vector<InputSpec> carried;
  std::vector<OutputSpec> outputs;
  std::string logits;
};

/// How a model is trained: on windows of one text, or on examples.
enum class TrainingData { Text, Examples };

/// Sorts the model's inputs for training on `data`: on text, an error
/// names an input that would need other data.
std::optional<TrainingModel>
trainingModel(const Manifest &manifest, TrainingData data, std::string *error);

/// Copies every parameter of `params` from `arrays` (read from `source`)
/// into `instance`'s float32 buffers; an error names the parameter that is
/// missing or has another shape.
bool setParameters(const NamedArrays &arrays,
                   const std::vector<ParamSpec> &params,
                   const std::string &source, Instance &instance,
                   std::string *error);

} // namespace weft::runtime
