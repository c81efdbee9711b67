// Refusing values too large to lay out. Once every size is a number, each
// value of the built program must hold at most 2^31 elements for one
// example (all its steps together), so that buffer sizes, which multiply
// this by the batch, stay far from overflowing 64 bits. The first value
// over the limit is reported where it was written.
#include "compiler/sema/Sema.h"

#include <fmt/format.h>

namespace weft::sema {

namespace {

constexpr int64_t largestValue = int64_t(1) << 31;

/// The number of elements of one example of `type`, or nullopt once it
/// passes `largestValue` (so the product never overflows).
std::optional<int64_t> elementCount(const ir::Type &type) {
  int64_t count = type.isStream() ? type.steps : 1;
  for (int64_t extent : type.shape) {
    if (extent != 0 && count > largestValue / extent)
      return std::nullopt;
    count *= extent;
  }
  return count <= largestValue ? std::optional<int64_t>(count) : std::nullopt;
}

std::string describeShape(const ir::Type &type) {
  std::string text = type.isStream() ? fmt::format("{} steps of [", type.steps)
                                     : std::string("[");
  for (size_t i = 0; i < type.shape.size(); ++i)
    text += fmt::format("{}{}", i ? ", " : "", type.shape[i]);
  return text + "]";
}

/// The first op of `block`, at any depth, with a result over the limit.
const ir::Op *findOversized(const ir::Block &block, const ir::Value **value) {
  for (const auto &op : block.ops) {
    for (const auto &result : op->results)
      if (!elementCount(result->type)) {
        *value = result.get();
        return op.get();
      }
    if (op->body)
      if (const ir::Op *inner = findOversized(*op->body, value))
        return inner;
  }
  return nullptr;
}

} // namespace

bool checkValueSizes(const ir::Function &function, DiagnosticEngine &diags) {
  const ir::Value *value = nullptr;
  const ir::Op *op = findOversized(function.body, &value);
  if (!op)
    return true;
  std::string what = op->kind == ir::OpKind::Param
                         ? fmt::format("the parameter `{}`", op->name)
                         : std::string("this value");
  std::string message = fmt::format(
      "{} has shape {}: more than {} elements, the most that Weft lays out "
      "in one value (for one example); make its sizes smaller",
      what, describeShape(value->type), largestValue);
  if (op->range.isValid())
    diags.error(op->range, message);
  else
    diags.errorWithoutLocation(message);
  return false;
}

} // namespace weft::sema
