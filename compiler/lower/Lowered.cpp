// Prints a lowered program: the buffer table, then the statement tree, one
// kernel a line. Sizes read `3+4b` (b is the runtime batch size), indices
// read `#2[4b*t0 + 4*i0 + i1]`.
#include "compiler/lower/Lowered.h"

#include <fmt/core.h>
#include <fmt/format.h>

namespace weft::lower {

const char *roleName(BufferRole role) {
  switch (role) {
  case BufferRole::Param:
    return "param";
  case BufferRole::Input:
    return "input";
  case BufferRole::Output:
    return "output";
  case BufferRole::Temp:
    return "temp";
  }
  return "unknown";
}

const char *exprKindName(ExprKind kind) {
  switch (kind) {
  case ExprKind::Load:
    return "load";
  case ExprKind::Constant:
    return "constant";
  case ExprKind::BatchSize:
    return "batch";
  case ExprKind::LoopIndex:
    return "loop_index";
  case ExprKind::Neg:
    return "neg";
  case ExprKind::Add:
    return "add";
  case ExprKind::Sub:
    return "sub";
  case ExprKind::Mul:
    return "mul";
  case ExprKind::Div:
    return "div";
  case ExprKind::Sigmoid:
    return "sigmoid";
  case ExprKind::Tanh:
    return "tanh";
  case ExprKind::Exp:
    return "exp";
  case ExprKind::Log:
    return "log";
  case ExprKind::Sqrt:
    return "sqrt";
  case ExprKind::Abs:
    return "abs";
  case ExprKind::Relu:
    return "relu";
  case ExprKind::Pow:
    return "pow";
  case ExprKind::Less:
    return "less";
  case ExprKind::LessEqual:
    return "less_equal";
  case ExprKind::Greater:
    return "greater";
  case ExprKind::GreaterEqual:
    return "greater_equal";
  case ExprKind::Equal:
    return "equal";
  case ExprKind::NotEqual:
    return "not_equal";
  case ExprKind::Where:
    return "where";
  }
  return "unknown";
}

const char *rowKernelName(RowKernelKind kind) {
  switch (kind) {
  case RowKernelKind::Softmax:
    return "softmax";
  case RowKernelKind::SoftmaxGrad:
    return "softmax_grad";
  case RowKernelKind::LogSoftmax:
    return "log_softmax";
  case RowKernelKind::LogSoftmaxGrad:
    return "log_softmax_grad";
  case RowKernelKind::MaxLast:
    return "max_last";
  case RowKernelKind::CrossEntropy:
    return "cross_entropy";
  case RowKernelKind::CrossEntropyGrad:
    return "cross_entropy_grad";
  }
  return "unknown";
}

namespace {

std::string sizeText(Size size) {
  if (size.perBatch == 0)
    return fmt::format("{}", size.fixed);
  std::string batchPart =
      size.perBatch == 1 ? std::string("b") : fmt::format("{}b", size.perBatch);
  if (size.fixed == 0)
    return batchPart;
  return fmt::format("{}+{}", size.fixed, batchPart);
}

/// `stride*name`, with parentheses around a two-part stride.
std::string termText(Size stride, const std::string &name) {
  if (stride == Size{1, 0})
    return name;
  std::string text = sizeText(stride);
  if (stride.fixed != 0 && stride.perBatch != 0)
    text = "(" + text + ")";
  return text + "*" + name;
}

std::string indexText(const Index &index) {
  std::vector<std::string> terms;
  for (const TimeTerm &term : index.timeTerms)
    if (!term.stride.isZero())
      terms.push_back(termText(term.stride, fmt::format("t{}", term.loop)));
  for (size_t d = 0; d < index.dimStrides.size(); ++d)
    if (!index.dimStrides[d].isZero())
      terms.push_back(termText(index.dimStrides[d], fmt::format("i{}", d)));
  if (!index.base.isZero() || terms.empty())
    terms.insert(terms.begin(), sizeText(index.base));
  return fmt::format("{}", fmt::join(terms, " + "));
}

std::string accessText(const Access &access) {
  return fmt::format("#{}[{}]", access.buffer, indexText(access.index));
}

std::string extentsText(const std::vector<Size> &extents) {
  std::vector<std::string> parts;
  for (Size extent : extents)
    parts.push_back(sizeText(extent));
  return fmt::format("[{}]", fmt::join(parts, ", "));
}

std::string exprText(const Expr &expr) {
  switch (expr.kind) {
  case ExprKind::Load:
    return accessText(expr.access);
  case ExprKind::Constant:
    return fmt::format("{}", expr.value);
  case ExprKind::BatchSize:
    return "b";
  case ExprKind::LoopIndex:
    return fmt::format("i{}", expr.dimension);
  default:
    break;
  }
  std::vector<std::string> operands;
  for (const Expr &operand : expr.operands)
    operands.push_back(exprText(operand));
  return fmt::format("{}({})", exprKindName(expr.kind),
                     fmt::join(operands, ", "));
}

std::string accessListText(const std::vector<Access> &accesses) {
  std::vector<std::string> parts;
  for (const Access &access : accesses)
    parts.push_back(accessText(access));
  return fmt::format("{}", fmt::join(parts, ", "));
}

class Printer {
public:
  std::string text;

  void printStatements(const std::vector<Statement> &statements);

private:
  std::string pad = "  ";

  void print(const TimeLoop &loop);
  void print(const ElementwiseKernel &kernel);
  void print(const KernelGroup &group);
  void print(const Gemm &gemm);
  void print(const Copy &copy);
  void print(const Reduce &reduce);
  void print(const RowKernel &kernel);
  void print(const Gather &gather);
  void print(const ScatterAddRows &scatter);
};

void Printer::printStatements(const std::vector<Statement> &statements) {
  for (const Statement &statement : statements)
    std::visit([&](const auto &node) { this->print(node); }, statement.node);
}

void Printer::print(const TimeLoop &loop) {
  text += fmt::format("{}time_loop t{} in [0, {}){} {{\n", pad, loop.loop,
                      loop.steps, loop.reverse ? " reverse" : "");
  pad += "  ";
  printStatements(loop.body);
  pad.resize(pad.size() - 2);
  text += pad + "}\n";
}

void Printer::print(const ElementwiseKernel &kernel) {
  if (!kernel.reductionExtents.empty()) {
    text += fmt::format("{}elementwise {} {} sum over {}: {} = {}\n", pad,
                        kernel.label, extentsText(kernel.extents),
                        extentsText(kernel.reductionExtents),
                        accessText(kernel.store), exprText(kernel.body));
    return;
  }
  text += fmt::format("{}elementwise {} {}: {} = {}\n", pad, kernel.label,
                      extentsText(kernel.extents), accessText(kernel.store),
                      exprText(kernel.body));
}

void Printer::print(const KernelGroup &group) {
  text += fmt::format("{}group {} {{\n", pad,
                      extentsText(group.kernels.front().extents));
  pad += "  ";
  for (const ElementwiseKernel &kernel : group.kernels)
    print(kernel);
  pad.resize(pad.size() - 2);
  text += pad + "}\n";
}

void Printer::print(const Gemm &gemm) {
  text += fmt::format(
      "{}gemm {} m={} n={} k={}: {} ld={} = {} * {}{} ld={} * {}{} ld={}", pad,
      gemm.label, sizeText(gemm.m), sizeText(gemm.n), sizeText(gemm.k),
      accessText(gemm.c), gemm.ldc, gemm.alpha, accessText(gemm.a),
      gemm.transposeA ? "^T" : "", gemm.lda, accessText(gemm.b),
      gemm.transposeB ? "^T" : "", gemm.ldb);
  text += gemm.beta != 0 ? fmt::format(" + {} * C\n", gemm.beta) : "\n";
}

void Printer::print(const Copy &copy) {
  text +=
      fmt::format("{}copy {} elements: {} = {}\n", pad, sizeText(copy.count),
                  accessText(copy.destination), accessText(copy.source));
}

void Printer::print(const Reduce &reduce) {
  text += fmt::format(
      "{}reduce {} {}: {} = {}sum over r < {} of {} + {}*r\n", pad,
      reduce.label, extentsText(reduce.extents), accessText(reduce.destination),
      reduce.divideByBatch ? "1/b * " : "", sizeText(reduce.count),
      accessText(reduce.source), sizeText(reduce.stride));
}

void Printer::print(const RowKernel &kernel) {
  text += fmt::format("{}{} {} width={}: {} = ({})\n", pad,
                      rowKernelName(kernel.kind), extentsText(kernel.extents),
                      kernel.width, accessText(kernel.result),
                      accessListText(kernel.operands));
}

void Printer::print(const Gather &gather) {
  text += fmt::format("{}gather {} rows={} width={}: {} = {} row {}\n", pad,
                      extentsText(gather.extents), gather.rows, gather.width,
                      accessText(gather.result), accessText(gather.table),
                      accessText(gather.ids));
}

void Printer::print(const ScatterAddRows &scatter) {
  text +=
      fmt::format("{}scatter_add_rows {} rows={} width={}: {} row {} += {}\n",
                  pad, extentsText(scatter.extents), scatter.rows,
                  scatter.width, accessText(scatter.result),
                  accessText(scatter.ids), accessText(scatter.grad));
}

} // namespace

std::string printLowered(const LoweredProgram &program) {
  Printer printer;
  printer.text = fmt::format("lowered @{} {{\n", program.name);
  for (size_t i = 0; i < program.buffers.size(); ++i) {
    const Buffer &buffer = program.buffers[i];
    printer.text +=
        fmt::format("  buffer #{} {} {} \"{}\" {}\n", i, roleName(buffer.role),
                    buffer.element == ElementKind::Float ? "float" : "int",
                    buffer.name, sizeText(buffer.size));
  }
  printer.printStatements(program.body);
  printer.text += "}\n";
  return printer.text;
}

} // namespace weft::lower
