// The IR's text form (`--emit=ir`): takes a Function, gives one line per
// op, scan bodies indented under their scan.
#include "compiler/ir/IR.h"

#include <fmt/format.h>

namespace weft::ir {

namespace {

std::string valueName(const Value *value) {
  return fmt::format("%{}", value->id);
}

std::string typedName(const Value *value) {
  return fmt::format("%{}:{}", value->id, toString(value->type));
}

std::string joinNames(const std::vector<Value *> &values, size_t begin,
                      size_t end) {
  std::string text;
  for (size_t i = begin; i < end; ++i)
    text += (i == begin ? "" : ", ") + valueName(values[i]);
  return text;
}

/// ` axis=N` for a slice along an axis other than 0.
std::string axisText(const Op &op) {
  return op.axis ? fmt::format(" axis={}", op.axis) : "";
}

/// An einsum's labels as `ki,Bi->Bk`.
std::string einsumText(const Op &op) {
  std::vector<std::string> operands(op.labels.begin(), op.labels.end() - 1);
  return fmt::format("{}->{}", fmt::join(operands, ","), op.labels.back());
}

/// The attributes of a non-Scan op, each with a leading space.
std::string attributes(const Op &op) {
  switch (op.kind) {
  case OpKind::Param:
    return fmt::format(" \"{}\" shape=[{}]", op.name, fmt::join(op.shape, ","));
  case OpKind::Input:
    return fmt::format(" \"{}\"", op.name);
  case OpKind::Constant:
    return fmt::format(" {} shape=[{}]", op.value, fmt::join(op.shape, ","));
  case OpKind::Iota:
    return fmt::format(" axis={} shape=[{}]{}", op.axis,
                       fmt::join(op.shape, ","),
                       op.steps ? fmt::format(" steps={}", op.steps) : "");
  case OpKind::Fill:
  case OpKind::Reshape:
    return fmt::format(" shape=[{}]", fmt::join(op.shape, ","));
  case OpKind::Einsum:
    return fmt::format(" \"{}\" shape=[{}]{}", einsumText(op),
                       fmt::join(op.shape, ","),
                       op.steps ? fmt::format(" steps={}", op.steps) : "");
  case OpKind::MatVec:
    return op.transpose ? " transpose" : "";
  case OpKind::SumBatch:
  case OpKind::BroadcastBatch:
    return op.mean ? " mean" : "";
  case OpKind::Slice:
    return fmt::format(" begin={} end={}", op.begin, op.end) + axisText(op);
  case OpKind::StreamSlice:
    return fmt::format(" begin={} end={}", op.begin, op.end);
  case OpKind::PadSlice:
    return fmt::format(" begin={} rows={}", op.begin, op.end) + axisText(op);
  case OpKind::ScatterAddRows:
    return fmt::format(" rows={}", op.end);
  case OpKind::Concat:
    return axisText(op);
  case OpKind::StreamAt:
    return fmt::format(" step={}", op.begin);
  case OpKind::StreamPlace:
    return fmt::format(" step={} steps={}", op.begin, op.steps);
  case OpKind::StreamPad:
    return fmt::format(" begin={} steps={}", op.begin, op.steps);
  case OpKind::StreamFill:
    return fmt::format(" steps={}", op.steps);
  default:
    return "";
  }
}

class Printer {
public:
  std::string text;

  void printBlock(const Block &block, int indent);

private:
  void printOp(const Op &op, int indent);
  void printScanHeader(const Op &scan);
};

void Printer::printOp(const Op &op, int indent) {
  std::string pad(indent, ' ');
  text += pad;
  for (size_t i = 0; i < op.results.size(); ++i)
    text += (i == 0 ? "" : ", ") + typedName(op.results[i].get());
  text += op.results.empty() ? "" : " = ";
  text += opName(op.kind);
  if (op.kind == OpKind::Scan) {
    printScanHeader(op);
    text += " {\n";
    printBlock(*op.body, indent + 2);
    text += pad + "}";
  } else {
    if (!op.operands.empty())
      text += " " + joinNames(op.operands, 0, op.operands.size());
    text += attributes(op);
  }
  if (!op.results.empty() && !op.results[0]->hint.empty() &&
      op.kind != OpKind::Param && op.kind != OpKind::Input)
    text += "  // " + op.results[0]->hint;
  text += "\n";
}

void Printer::printScanHeader(const Op &scan) {
  unsigned sequenceEnd = scan.numCarries + scan.numSequences;
  text += scan.reverse ? " reverse" : "";
  text += fmt::format(" steps={} carries({})", scan.steps,
                      joinNames(scan.operands, 0, scan.numCarries));
  text += " seqs(";
  for (unsigned i = scan.numCarries; i < sequenceEnd; ++i)
    text += fmt::format("{}{}+{}", i == scan.numCarries ? "" : ", ",
                        valueName(scan.operands[i]),
                        scan.sequenceOffsets[i - scan.numCarries]);
  text += fmt::format(") captures({})", joinNames(scan.operands, sequenceEnd,
                                                  scan.operands.size()));
}

void Printer::printBlock(const Block &block, int indent) {
  std::string pad(indent, ' ');
  if (block.parentOp) {
    text += pad + "^(";
    for (size_t i = 0; i < block.arguments.size(); ++i)
      text += (i == 0 ? "" : ", ") + typedName(block.arguments[i].get());
    text += "):\n";
  }
  for (const std::unique_ptr<Op> &op : block.ops)
    printOp(*op, indent);
  if (block.parentOp)
    text +=
        pad + "yield " + joinNames(block.yields, 0, block.yields.size()) + "\n";
}

} // namespace

std::string print(const Function &function) {
  Printer printer;
  printer.text = fmt::format("func @{} {{\n", function.name);
  printer.printBlock(function.body, 2);
  for (const NamedValue &output : function.outputs)
    printer.text += fmt::format("  output \"{}\" = {}\n", output.name,
                                valueName(output.value));
  printer.text += "}\n";
  return printer.text;
}

} // namespace weft::ir
