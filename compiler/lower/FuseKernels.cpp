// Grouping elementwise kernels. A kernel joins the group before it when it
// has the same loop nest, no reductions, and at each point touches what the
// group writes only at that same point: its loads of a buffer the group
// stores, and its own store into a buffer the group reads or stores, use
// the very index of the group's accesses to that buffer. Then running the
// kernels point by point computes what running them one after another
// does.
#include "compiler/lower/Lowered.h"

#include <map>
#include <memory>

namespace weft::lower {

namespace {

/// The strides of `index` padded with zeros to `dimensions` entries.
std::vector<Size> paddedStrides(const Index &index, size_t dimensions) {
  std::vector<Size> strides = index.dimStrides;
  strides.resize(std::max(dimensions, strides.size()), Size{});
  return strides;
}

bool sameIndex(const Index &a, const Index &b, size_t dimensions) {
  if (!(a.base == b.base) ||
      paddedStrides(a, dimensions) != paddedStrides(b, dimensions) ||
      a.timeTerms.size() != b.timeTerms.size())
    return false;
  for (size_t i = 0; i < a.timeTerms.size(); ++i)
    if (a.timeTerms[i].loop != b.timeTerms[i].loop ||
        !(a.timeTerms[i].stride == b.timeTerms[i].stride))
      return false;
  return true;
}

void collectLoads(const Expr &expr, std::vector<const Access *> &loads) {
  if (expr.kind == ExprKind::Load)
    loads.push_back(&expr.access);
  for (const Expr &operand : expr.operands)
    collectLoads(operand, loads);
}

/// The accesses of a growing group, by buffer.
class Group {
public:
  explicit Group(const ElementwiseKernel &first) : extents(first.extents) {
    add(first);
  }

  bool admits(const ElementwiseKernel &kernel) const {
    if (!kernel.reductionExtents.empty() || kernel.extents != extents)
      return false;
    std::vector<const Access *> loads;
    collectLoads(kernel.body, loads);
    for (const Access *load : loads)
      if (!agrees(stores, *load))
        return false;
    return agrees(stores, kernel.store) && agrees(reads, kernel.store);
  }

  void add(const ElementwiseKernel &kernel) {
    std::vector<const Access *> loads;
    collectLoads(kernel.body, loads);
    for (const Access *load : loads)
      reads[load->buffer].push_back(load->index);
    stores[kernel.store.buffer].push_back(kernel.store.index);
  }

private:
  using Accesses = std::map<int, std::vector<Index>>;

  /// Whether every access of `accesses` to the buffer of `access` uses its
  /// index.
  bool agrees(const Accesses &accesses, const Access &access) const {
    auto found = accesses.find(access.buffer);
    if (found == accesses.end())
      return true;
    for (const Index &index : found->second)
      if (!sameIndex(index, access.index, extents.size()))
        return false;
    return true;
  }

  std::vector<Size> extents;
  Accesses reads, stores;
};

void fuseStatements(std::vector<Statement> &statements) {
  std::vector<Statement> fused;
  std::vector<ElementwiseKernel> run;
  std::unique_ptr<Group> group;
  auto flush = [&] {
    if (run.size() == 1)
      fused.push_back({std::move(run.front())});
    else if (run.size() > 1)
      fused.push_back({KernelGroup{std::move(run)}});
    run.clear();
    group.reset();
  };
  for (Statement &statement : statements) {
    if (auto *loop = std::get_if<TimeLoop>(&statement.node))
      fuseStatements(loop->body);
    auto *kernel = std::get_if<ElementwiseKernel>(&statement.node);
    if (!kernel || !kernel->reductionExtents.empty()) {
      flush();
      fused.push_back(std::move(statement));
      continue;
    }
    if (group && group->admits(*kernel)) {
      group->add(*kernel);
      run.push_back(std::move(*kernel));
      continue;
    }
    flush();
    group = std::make_unique<Group>(*kernel);
    run.push_back(std::move(*kernel));
  }
  flush();
  statements = std::move(fused);
}

} // namespace

void fuseKernels(LoweredProgram &program) { fuseStatements(program.body); }

} // namespace weft::lower
