// The reference semantics of the tensor IR: evaluates a Function in double
// precision on host memory. Takes parameter and input buffers by name and
// gives back every output of the function by name.
#pragma once

#include "compiler/ir/IR.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace weft::ir {

/// Buffers by name. A value's layout is [steps?][batch?][shape...],
/// row-major: a stream's steps outermost, then the batch axis (batched values
/// only), then the per-example shape. Int values (token ids) are doubles.
using BufferMap = std::map<std::string, std::vector<double>>;

/// Runs `function` for `batch` examples and returns each of its outputs.
/// Every Param needs a buffer in `params` and every Input one in `inputs`,
/// each with exactly the elements its type implies.
BufferMap evaluate(const Function &function, int64_t batch,
                   const BufferMap &params, const BufferMap &inputs);

} // namespace weft::ir
