// Kernel bodies: the LLVM IR computing one point of a lowered kernel (one
// element, one row, one reduction), given the point's loop indices. The CPU
// path wraps them in loops (ModuleEmitter.cpp); a GPU path would run one per
// thread. Bodies reach memory and loops only through a KernelEnvironment.
#pragma once

#include "compiler/codegen/FastMath.h"
#include "compiler/lower/Lowered.h"

#include <llvm/ADT/ArrayRef.h>
#include <llvm/IR/IRBuilder.h>

#include <functional>

namespace weft::codegen {

/// What a kernel body needs from the code around it.
class KernelEnvironment {
public:
  virtual ~KernelEnvironment() = default;
  /// The address of the element that `access` names at the loop point
  /// `indices` (one index per kernel dimension).
  virtual llvm::Value *address(const lower::Access &access,
                               llvm::ArrayRef<llvm::Value *> indices) = 0;
  /// The element type of the buffer that `access` reads or writes.
  virtual llvm::Type *elementType(const lower::Access &access) = 0;
  /// The runtime batch size, an i64.
  virtual llvm::Value *batchSize() = 0;
  /// A size at the runtime batch size, an i64.
  virtual llvm::Value *size(lower::Size size) = 0;
  /// Emits `body(i)` for i = 0 .. count - 1 (an i64 count).
  virtual void loop(llvm::Value *count,
                    const std::function<void(llvm::Value *)> &body) = 0;
  /// A stack slot that lives for the whole function, for accumulators.
  virtual llvm::Value *scratch(llvm::Type *type, const llvm::Twine &name) = 0;
  /// Called on every load and store of `access`'s buffer, so that the
  /// environment can tell the optimiser what the access may alias.
  virtual void describeAccess(llvm::Instruction *memoryOperation,
                              const lower::Access &access) {}
  /// The natural logarithm and `x` to the power `y`: on the CPU the
  /// llvm.log and llvm.pow intrinsics (libm calls); a GPU has no libm.
  virtual llvm::Value *logarithm(llvm::IRBuilder<> &builder, llvm::Value *x) {
    return builder.CreateUnaryIntrinsic(llvm::Intrinsic::log, x);
  }
  virtual llvm::Value *power(llvm::IRBuilder<> &builder, llvm::Value *x,
                             llvm::Value *y) {
    return builder.CreateBinaryIntrinsic(llvm::Intrinsic::pow, x, y);
  }
};

/// Emits kernel bodies with one builder, float type and environment.
class KernelBodyEmitter {
public:
  KernelBodyEmitter(llvm::IRBuilder<> &builder, llvm::Type *floatType,
                    KernelEnvironment &environment)
      : builder(builder), floatType(floatType), environment(environment),
        math(builder) {}

  /// store = body at `point`.
  void emitElementwise(const lower::ElementwiseKernel &kernel,
                       llvm::ArrayRef<llvm::Value *> point);
  /// destination = (scaled) sum over the reduced axis at `point`.
  void emitReduce(const lower::Reduce &reduce,
                  llvm::ArrayRef<llvm::Value *> point);
  /// One row of a softmax, softmax gradient or cross entropy (gradient).
  void emitRow(const lower::RowKernel &kernel,
               llvm::ArrayRef<llvm::Value *> point);
  void emitGatherRow(const lower::Gather &gather,
                     llvm::ArrayRef<llvm::Value *> point);
  void emitScatterRow(const lower::ScatterAddRows &scatter,
                      llvm::ArrayRef<llvm::Value *> point);

  /// The value of `expr` at `point`, of the float type or i64 (`isInt`).
  llvm::Value *emitExpr(const lower::Expr &expr,
                        llvm::ArrayRef<llvm::Value *> point, bool isInt);

private:
  llvm::Value *unaryMath(const lower::Expr &expr, llvm::Value *x);
  llvm::Value *binaryMath(lower::ExprKind kind, llvm::Value *lhs,
                          llvm::Value *rhs);
  llvm::Value *compare(lower::ExprKind kind, llvm::Value *lhs,
                       llvm::Value *rhs);
  llvm::Value *emitReducedExpr(const lower::ElementwiseKernel &kernel,
                               llvm::ArrayRef<llvm::Value *> point);
  llvm::Value *load(const lower::Access &access,
                    llvm::ArrayRef<llvm::Value *> point,
                    llvm::Value *offset = nullptr);
  llvm::Value *loadFrom(const lower::Access &access, llvm::Value *address);
  void storeTo(const lower::Access &access, llvm::Value *address,
               llvm::Value *value);
  llvm::Value *elementAddress(const lower::Access &access,
                              llvm::ArrayRef<llvm::Value *> point,
                              llvm::Value *offset);
  llvm::Value *floatConstant(double value);
  llvm::Value *isKept(const lower::Access *mask,
                      llvm::ArrayRef<llvm::Value *> point, llvm::Value *j);
  llvm::Value *rowMax(const lower::Access &row,
                      llvm::ArrayRef<llvm::Value *> point, int64_t width,
                      const lower::Access *mask = nullptr);
  llvm::Value *addReassociable(llvm::Value *lhs, llvm::Value *rhs);
  llvm::Value *rowSumExp(const lower::Access &row,
                         llvm::ArrayRef<llvm::Value *> point, int64_t width,
                         llvm::Value *max, const lower::Access *store,
                         const lower::Access *mask = nullptr);
  void emitSoftmaxRow(const lower::RowKernel &kernel,
                      llvm::ArrayRef<llvm::Value *> point);
  void emitSoftmaxGradRow(const lower::RowKernel &kernel,
                          llvm::ArrayRef<llvm::Value *> point);
  void emitLogSoftmaxRow(const lower::RowKernel &kernel,
                         llvm::ArrayRef<llvm::Value *> point);
  void emitLogSoftmaxGradRow(const lower::RowKernel &kernel,
                             llvm::ArrayRef<llvm::Value *> point);
  void emitCrossEntropyRow(const lower::RowKernel &kernel,
                           llvm::ArrayRef<llvm::Value *> point);
  void emitCrossEntropyGradRow(const lower::RowKernel &kernel,
                               llvm::ArrayRef<llvm::Value *> point);
  llvm::Value *targetInRange(llvm::Value *target, int64_t rows);

  llvm::IRBuilder<> &builder;
  llvm::Type *floatType;
  KernelEnvironment &environment;
  FastMath math;
};

} // namespace weft::codegen
