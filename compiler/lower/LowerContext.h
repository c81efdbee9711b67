// The state of one lowering, shared by Lower.cpp (values, buffers, scans,
// outputs) and LowerOps.cpp (one kernel recipe per op kind). Internal to the
// lower stage.
#pragma once

#include "compiler/ir/IR.h"
#include "compiler/lower/Lowered.h"

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace weft::lower {

/// Where a value lives: the buffer and index of its first element. The rest
/// follow contiguously in the value's layout [steps?][batch?][shape...].
struct View {
  int buffer = -1;
  Size base;
  std::vector<TimeTerm> timeTerms;
};

/// Elements of one example of one step: the product of the shape.
int64_t elementsOf(const ir::Type &type);
/// Elements of one step of a value: its elements, times the batch if batched.
Size stepSize(const ir::Type &type);
/// Elements of the whole value: one step's, times the steps of a stream.
Size totalSize(const ir::Type &type);
/// Rows of a value seen as a matrix [rows, elements]: steps times batch.
Size rowCount(const ir::Type &type);
ElementKind elementKind(const ir::Type &type);

/// The loop nest of a kernel over a value of type `domain`: its steps (if a
/// stream), its batch (if batched) and, with `withElements`, its elements.
std::vector<Size> domainExtents(const ir::Type &domain, bool withElements);
/// The strides with which a kernel over `domain` reads a value of `type`:
/// zero along the axes that `type` lacks (broadcasting).
std::vector<Size> broadcastStrides(const ir::Type &type, const ir::Type &domain,
                                   bool withElements);

class Lowering {
public:
  explicit Lowering(const ir::Function &function) : function(function) {}

  /// Lowers the whole function; false (with `error` set) on failure.
  bool run();

  LoweredProgram program;
  std::string error;

private:
  // Lower.cpp: analysis, buffers, blocks, scans and outputs.
  void analyseUses(const ir::Block &block);
  void createLeafBuffers();
  void createOutputBuffers();
  int addBuffer(std::string name, BufferRole role, ElementKind element,
                Size size);
  View resultView(const ir::Value *value);
  bool lowerBlock(const ir::Block &block);
  bool lowerOp(const ir::Op &op);
  bool lowerScan(const ir::Op &scan);
  void bindScanArguments(const ir::Op &scan, int loop,
                         std::vector<View> &carryViews);
  void planStepOutputs(const ir::Op &scan, int loop,
                       std::vector<std::pair<const ir::Value *, View>> &copies);
  void updateCarries(const ir::Op &scan, const std::vector<View> &carryViews);

  // LowerOps.cpp: one recipe per op kind.
  bool isFusible(const ir::Value *value) const;
  Expr valueExpr(const ir::Value *value, const ir::Type &domain,
                 std::string &label);
  Expr opExpr(const ir::Op &op, const ir::Type &domain, std::string &label);
  void lowerElementwise(const ir::Op &op);
  void lowerIota(const ir::Op &op);
  void lowerSlice(const ir::Op &op);
  void lowerPadSlice(const ir::Op &op);
  void lowerConcat(const ir::Op &op);
  void lowerReshape(const ir::Op &op);
  void lowerStreamCopy(const ir::Op &op);
  void lowerStreamPlace(const ir::Op &op);
  void lowerMatVec(const ir::Op &op);
  void lowerOuterSum(const ir::Op &op);
  void lowerReduce(const ir::Op &op);
  void lowerRowKernel(const ir::Op &op);
  void lowerGather(const ir::Op &op);
  void lowerScatterAddRows(const ir::Op &op);

  // LowerEinsum.cpp: a matrix product when it is one, else a loop nest.
  void lowerEinsum(const ir::Op &op);
  bool lowerEinsumAsGemm(const ir::Op &op);

  // Helpers shared by both files.
  void emit(Statement statement) {
    statements->push_back(std::move(statement));
  }
  void emitCopy(const View &destination, const View &source, Size count);
  void emitZero(const View &destination, const ir::Type &type);
  Access accessOf(const View &view, std::vector<Size> dimStrides = {}) const;
  const View &viewOf(const ir::Value *value) const;

  const ir::Function &function;

  /// Where each materialised value lives.
  std::unordered_map<const ir::Value *, View> views;
  /// Where an op must write its result: an output buffer or a step of a
  /// scan's stacked output. Assigned before the op is lowered.
  std::unordered_map<const ir::Value *, View> destinations;
  /// Uses of each value: as an operand, a yield or a function output.
  std::unordered_map<const ir::Value *, int> useCounts;
  /// The op that uses a value, for values used once as an operand.
  std::unordered_map<const ir::Value *, const ir::Op *> operandUser;
  std::unordered_set<const ir::Value *> yieldedOrOutput;
  std::unordered_map<const ir::Op *, const ir::Block *> blockOf;
  /// Elementwise values computed inside their single user's kernel.
  std::unordered_set<const ir::Value *> fused;
  /// Reshapes whose operand was computed straight into their view.
  std::unordered_set<const ir::Value *> inPlaceReshapes;
  std::unordered_map<std::string, int> leafBuffers;
  std::vector<std::pair<const ir::Value *, int>> outputCopies;
  /// Where new statements go: the program body or a time loop's body.
  std::vector<Statement> *statements = nullptr;
};

} // namespace weft::lower
