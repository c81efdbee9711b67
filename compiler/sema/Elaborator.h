// The elaborator walks a model (or a lone cell, for `weft check`) from its
// outputs and loss back through the equations it needs, checking shapes and
// emitting tensor IR as it goes. Equations are visited on demand, so their
// order in the file does not matter, and a revisit before an equation is
// finished is a cycle. Cells are inlined at each call, within an instance
// that owns their parameters. Without a function to build into, it only
// checks, with sizes left symbolic.
#pragma once

#include "compiler/ir/IR.h"
#include "compiler/sema/Sema.h"
#include "compiler/sema/Sizes.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace weft::sema {

/// The names of the axes of a value in index notation (`w[k, i, j]`).
using Labels = std::vector<std::string>;

/// A checked value: its shape in sizes, and its IR value when building.
struct Val {
  ir::Value *ir = nullptr;
  Dims dims;
  /// In index notation, the index variable of each axis; else empty.
  Labels labels;
  /// For a causal prefix `h[..t]` and what is computed from it along its
  /// first axis: which rows are valid (1) or not (0), a [rows] mask that a
  /// softmax over that axis applies.
  ir::Value *rowMask = nullptr;
  bool batched = false;
  bool isToken = false;
  Size vocab;
  int level = 0;      ///< 0 at the top level, 1 inside a scan body.
  SourceRange origin; ///< Where the shape was declared or computed.
  bool ok = true;     ///< False after an error, to stop cascades.

  static Val poisoned() {
    Val val;
    val.ok = false;
    return val;
  }
};
using Vals = std::vector<Val>;

/// An instance of a cell: owns its parameters under a name prefix.
struct Instance {
  const ast::Decl *cell = nullptr;
  std::string prefix;
  SourceRange range;
  const ast::Expr *directCall = nullptr; ///< For a call without an instance.
  /// `a = Cell(K = 3)`: sizes given where the instance is made.
  const ast::Expr *creation = nullptr;
  bool bound = false;
  std::map<std::string, Size> sizes;
  std::map<std::string, Val> params;
};

/// A stream of a model: an equation over a time index, or the body of a
/// reduction over time, which becomes a stream of its own.
struct Stream {
  std::string name;
  std::string axis;
  const ast::Stmt *stmt = nullptr;    ///< Its equation; null for a reduction.
  unsigned part = 0;                  ///< Its position in a tuple equation.
  const ast::Expr *body = nullptr;    ///< For a reduction over time.
  const ast::Stmt *initial = nullptr; ///< `h[-1] = ...` or `b[T] = ...`
  unsigned initialPart = 0;
  /// A recurrence that runs backwards: `b[t] = f(b[t + 1])`, started by
  /// `b[T] = ...`. Its steps are computed by a reverse scan of its axis.
  bool backward = false;
  SourceRange range;
};

/// A time index declared with `time t < T`.
struct TimeAxis {
  std::string name;
  Size steps;
  SourceRange range;
  /// The input of kind `length(t)` that gives each example's number of
  /// valid steps; empty when every step is valid.
  std::string lengths;
  /// Per direction (0 forward, 1 backward): its scan is being built, or is.
  bool building[2] = {false, false};
  bool built[2] = {false, false};
};

/// An input declared in a model.
struct InputDecl {
  const ast::Stmt *stmt = nullptr;
  std::string axis; ///< Set for a stream input.
  Val value;        ///< Whole value (a stream stacks its steps).
};

/// The scope of one cell or model body.
struct Frame {
  const ast::Decl *decl = nullptr;
  Instance *instance = nullptr; ///< Null for a model.
  std::string prefix;
  std::map<std::string, Size> sizes;
  std::map<std::string, Val> arguments;
  std::map<std::string, std::pair<const ast::Stmt *, unsigned>> locals;
  std::map<const ast::Stmt *, Vals> finished;
  std::vector<const ast::Stmt *> active;
  std::map<std::string, std::pair<const ast::Declared *, const ast::Stmt *>>
      paramDecls;
  std::map<std::string, Val> modelParams;
  std::map<std::string, Instance> instances;
  std::map<std::string, std::unique_ptr<Instance>> directInstances;
  std::map<const ast::Expr *, std::unique_ptr<Instance>> paramlessCalls;
  const ast::Stmt *returnStmt = nullptr;
  /// Where each name of this scope is defined, to report a second one.
  std::map<std::string, SourceRange> definitions;
};

/// An index variable of index notation: `k` of `y[k] = ...`, or `i` of
/// `sum(i) ...`. Its size comes from its bound or from its first use.
struct IndexVar {
  std::optional<Size> size;
  SourceRange range;
};

/// The scan being built for one time axis.
struct ScanState {
  TimeAxis *axis = nullptr;
  bool reverse = false;
  std::unique_ptr<ir::Block> body;
  std::vector<std::string> carries;
  std::map<std::string, Val> carryIn;
  std::vector<std::pair<std::string, int64_t>> sequences;
  std::map<std::pair<std::string, int64_t>, Val> sequenceArgs;
  std::vector<ir::Value *> captureOperands;
  std::vector<ir::Value *> captureArgs;
  std::map<ir::Value *, ir::Value *> captured;
  std::map<std::string, Val> stepValues;
  std::vector<std::string> activeStreams;
};

class Elaborator {
public:
  /// Builds into `function` when it is non-null; otherwise only checks.
  Elaborator(const Program &program, DiagnosticEngine &diags,
             ir::Function *function);

  /// Elaborates a model with bound sizes (or symbolic ones when checking).
  bool elaborateModel(const ast::Decl &model, const SizeBindings *sizes,
                      ModelInfo *info);
  /// Checks a cell on its own, with symbolic sizes.
  bool checkCell(const ast::Decl &cell);

private:
  // Frames and equations (Elaborator.cpp).
  void collectBody(Frame &frame);
  void define(Frame &frame, const std::string &name, SourceRange range);
  void checkInitializer(const ast::Stmt &stmt);
  Vals elaborateStmt(const ast::Stmt &stmt);
  Val lookupName(const std::string &name, SourceRange range);
  Val paramValue(const std::string &name, SourceRange range);
  void reportUnknown(const std::string &name, SourceRange range);
  Vals callCell(Instance &instance, const ast::Expr &call);
  bool bindArgument(Frame &callee, const ast::TypeExpr &type, const Val &arg,
                    const std::string &argName, SourceRange range);
  void reportCycle(const std::vector<const ast::Stmt *> &active,
                   const ast::Stmt *again);

  // Sizes (Elaborator.cpp).
  std::optional<Size> evaluateSize(const ast::Expr &expr);
  std::optional<Dims> evaluateDims(const ast::TypeExpr &type);
  std::optional<int64_t> concreteSize(const Size &size, SourceRange range);

  // Expressions (ElaborateExpr.cpp).
  Vals elaborate(const ast::Expr &expr);
  Val elaborateOne(const ast::Expr &expr);
  Val elaborateBinary(const ast::Expr &expr);
  Val elaborateIndex(const ast::Expr &expr);
  Val elaborateSlice(const ast::Expr &expr, const Val &base);
  Val elaborateReduce(const ast::Expr &expr);
  Vals elaborateCall(const ast::Expr &expr);
  Val elaborateBuiltin(const ast::Expr &expr, bool &handled);
  Val elaborateStack(const ast::Expr &expr);
  Val elaborateTensorBuiltin(const ast::Expr &expr, bool &handled);
  Val elaborateConcat(const ast::Expr &expr);
  Val pickEntry(const Val &base, const Size &at, SourceRange range);
  bool requireNumbers(const Val &val, SourceRange range);
  Val unary(ir::OpKind kind, const Val &x, SourceRange range);
  Val elementwise(ir::OpKind kind, const Val &lhs, const Val &rhs,
                  SourceRange range, const char *spelling);
  Val constant(double value, Dims dims, SourceRange range);
  ir::Value *use(const Val &val);
  ir::Builder &builder();
  /// True while emitting IR: with a function to build into and no error
  /// reported since, so that no op is ever built from a poisoned value.
  bool building() const {
    return function != nullptr && diags.errorCount() == errorsAtStart;
  }
  std::vector<int64_t> concreteDims(const Dims &dims);

  // Index notation and tensor products (ElaborateIndex.cpp).
  bool isIndexEquation(const ast::Decl &decl, const ast::Target &target) const;
  Val elaborateIndexEquation(const ast::Stmt &stmt);
  Val indexedTensor(const ast::Expr &expr);
  Val reduceIndices(const ast::Expr &expr);
  IndexVar *findIndexVar(const std::string &name);
  bool bindIndex(const std::string &name, const Size &size, SourceRange range);
  Val contract(const Vals &operands, const std::vector<Labels> &labels,
               const Labels &result, SourceRange range,
               const std::map<std::string, Size> &newSizes = {});
  Val alignTo(const Val &x, const Labels &to, const Dims &toDims,
              SourceRange range);
  Val labeledElementwise(ir::OpKind kind, const Val &lhs, const Val &rhs,
                         SourceRange range, const char *spelling);
  Val broadcastElementwise(ir::OpKind kind, const Val &lhs, const Val &rhs,
                           SourceRange range, const char *spelling);
  Val matMul(const Val &lhs, const Val &rhs, SourceRange range);
  Val wholeStream(const std::string &name, SourceRange range);
  Val tensorAsStream(const ast::Expr &base, const ast::Expr &indexExpr,
                     SourceRange range);

  // Step numbers, index values, lengths and prefixes (ElaborateMasks.cpp).
  Val stepNumber(SourceRange range);
  Val indexValues(const std::string &name, SourceRange range);
  Val validSteps(const TimeAxis &axis, SourceRange range);
  Val validCount(const TimeAxis &axis, SourceRange range);
  Val prefixAccess(const ast::Expr &base, const ast::Expr &indexExpr,
                   SourceRange range);
  Val topLevelStream(const std::string &key, const std::string &axis,
                     ir::Value *(Elaborator::*make)(const TimeAxis &));
  ir::Value *stepIota(const TimeAxis &axis);
  ir::Value *validMask(const TimeAxis &axis);

  // Models and time (ElaborateModel.cpp).
  void collectModel(const ast::Decl &model);
  void collectReductions(const ast::Expr &expr);
  Val timeAccess(const std::string &name, const ast::Expr &indexExpr,
                 SourceRange range);
  Val stepValue(const std::string &name, SourceRange range);
  Val stackedStream(const std::string &name, SourceRange range);
  Val previousSteps(const std::string &name, SourceRange range);
  Val maxOverSteps(const Val &steps, const TimeAxis &axis, SourceRange range);
  std::vector<std::string> recurrences(const TimeAxis &axis,
                                       bool reverse) const;
  void buildScan(TimeAxis &axis, bool reverse,
                 const std::vector<std::string> &roots, SourceRange range);
  Val initialValue(Stream &stream, ScanState &scan);
  Val sequenceArg(const std::string &name, int64_t offset, SourceRange range);
  Val sequenceSource(const std::string &name, SourceRange range);
  Size sequenceSteps(const std::string &name);
  Val buildInput(const ast::Stmt &stmt);
  Val buildLoss(const ast::Stmt &stmt);
  ir::Value *stackedOutput(const Val &val);
  bool isTimeAxis(const std::string &name) const;
  /// `t`, `t + 1`, `t - 1` for a declared time index `t`.
  bool isTimeIndexExpr(const ast::Expr &expr) const;
  /// Reports `name` as an undeclared time index, once; `onTheLeft` when it
  /// indexes the target of an equation, which may mean a bounded index.
  void reportUndeclaredAxis(const std::string &name, SourceRange range,
                            bool onTheLeft = false);
  void warnUnusedParams(const Frame &frame,
                        const std::map<std::string, Val> &used);

  const Program &program;
  DiagnosticEngine &diags;
  ir::Function *function;
  unsigned errorsAtStart = 0;
  std::unique_ptr<ir::Builder> topBuilder;
  std::unique_ptr<ir::Builder> bodyBuilder;

  std::vector<Frame *> frames;
  /// Limits on the recursion of elaboration, so that deep chains end in an
  /// error rather than a stack overflow.
  static constexpr unsigned maxDepth = 2000;
  static constexpr size_t maxCellDepth = 200;
  unsigned depth = 0;
  Frame &frame() { return *frames.back(); }
  int level = 0;
  ScanState *scan = nullptr;

  // The model being elaborated.
  Frame *modelFrame = nullptr;
  ModelInfo *info = nullptr;
  std::map<std::string, TimeAxis> axes;
  std::set<std::string> undeclaredAxes;
  std::map<std::string, Stream> streams;
  std::vector<std::string> streamOrder;
  std::map<const ast::Expr *, std::string> reductionStreams;
  std::map<std::string, InputDecl> inputs;
  std::map<std::string, Val> stacked;
  std::map<std::string, Val> finalCarries;
  /// The value before the first step of each recurrence whose scan is
  /// built, batched.
  std::map<std::string, Val> initialValues;
  /// Streams that are not recurrences whose own scan is being built.
  std::set<std::string> mapsBuilding;
  /// Streams whose scan failed; their errors are reported already.
  std::set<std::string> failedStreams;
  /// Index variables in scope, innermost last.
  std::vector<std::map<std::string, IndexVar>> indexScopes;
  /// Names used as indices without being index variables, reported once
  /// per equation.
  std::set<std::string> unboundIndices;
  /// Per-example tensors read step by step (`O[t]`), as streams: by a key
  /// naming the tensor and the axis.
  std::map<std::string, std::pair<Val, std::string>> tensorStreams;
  std::vector<std::pair<std::string, std::string>> carriedStates;
};

/// The size names in a size expression.
std::vector<std::string> sizeNames(const ast::Expr &expr);

/// The built-in functions, for "did you mean" suggestions.
std::vector<std::string> builtinNames();

/// Edit distance, for "did you mean" suggestions.
size_t editDistance(const std::string &a, const std::string &b);
/// `; did you mean `x`?` for the known name nearest to `name`, if any is
/// near enough; else an empty string.
std::string suggestion(const std::string &name,
                       const std::vector<std::string> &known);

} // namespace weft::sema
