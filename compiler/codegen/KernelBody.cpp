// Kernel bodies as LLVM IR: elementwise expression trees, reductions, and
// the row kernels (stable softmax and cross entropy, shifted by the row's
// largest logit), gathers and scatters.
#include "compiler/codegen/KernelBody.h"

#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

#include <cassert>
#include <limits>

namespace weft::codegen {

using lower::Access;
using lower::Expr;
using lower::ExprKind;

//===----------------------------------------------------------------------===//
// Loads, stores and math
//===----------------------------------------------------------------------===//

llvm::Value *KernelBodyEmitter::floatConstant(double value) {
  return llvm::ConstantFP::get(floatType, value);
}

/// The address of `access` at `point`, plus `offset` elements if given.
llvm::Value *
KernelBodyEmitter::elementAddress(const Access &access,
                                  llvm::ArrayRef<llvm::Value *> point,
                                  llvm::Value *offset) {
  llvm::Value *address = environment.address(access, point);
  if (!offset)
    return address;
  return builder.CreateInBoundsGEP(environment.elementType(access), address,
                                   offset);
}

/// Loads and stores of buffer elements go through these two, so that the
/// environment sees every one.
llvm::Value *KernelBodyEmitter::loadFrom(const Access &access,
                                         llvm::Value *address) {
  llvm::LoadInst *load =
      builder.CreateLoad(environment.elementType(access), address);
  environment.describeAccess(load, access);
  return load;
}

void KernelBodyEmitter::storeTo(const Access &access, llvm::Value *address,
                                llvm::Value *value) {
  environment.describeAccess(builder.CreateStore(value, address), access);
}

llvm::Value *KernelBodyEmitter::load(const Access &access,
                                     llvm::ArrayRef<llvm::Value *> point,
                                     llvm::Value *offset) {
  return loadFrom(access, elementAddress(access, point, offset));
}

llvm::Value *KernelBodyEmitter::unaryMath(const Expr &expr, llvm::Value *x) {
  switch (expr.kind) {
  case ExprKind::Neg:
    return builder.CreateFNeg(x);
  case ExprKind::Sqrt:
    return builder.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x);
  case ExprKind::Abs:
    return builder.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
  case ExprKind::Relu:
    // x > 0 ? x : 0, so NaN gives 0 as in the interpreter.
    return builder.CreateSelect(builder.CreateFCmpOGT(x, floatConstant(0)), x,
                                floatConstant(0));
  case ExprKind::Exp:
    return math.exp(x);
  case ExprKind::Log:
    // On the CPU a libm call (through llvm.log), which keeps a loop using
    // it scalar; it is rare in kernels (once per cross-entropy row).
    return environment.logarithm(builder, x);
  case ExprKind::Tanh:
    return math.tanh(x);
  default:
    return math.sigmoid(x);
  }
}

/// A comparison's 1 or 0 in the float type. NotEqual is unordered (true for
/// NaN), the others ordered, as C++ compares doubles.
llvm::Value *KernelBodyEmitter::compare(ExprKind kind, llvm::Value *lhs,
                                        llvm::Value *rhs) {
  llvm::CmpInst::Predicate predicate;
  switch (kind) {
  case ExprKind::Less:
    predicate = llvm::CmpInst::FCMP_OLT;
    break;
  case ExprKind::LessEqual:
    predicate = llvm::CmpInst::FCMP_OLE;
    break;
  case ExprKind::Greater:
    predicate = llvm::CmpInst::FCMP_OGT;
    break;
  case ExprKind::GreaterEqual:
    predicate = llvm::CmpInst::FCMP_OGE;
    break;
  case ExprKind::Equal:
    predicate = llvm::CmpInst::FCMP_OEQ;
    break;
  default:
    predicate = llvm::CmpInst::FCMP_UNE;
    break;
  }
  return builder.CreateUIToFP(builder.CreateFCmp(predicate, lhs, rhs),
                              floatType);
}

llvm::Value *KernelBodyEmitter::binaryMath(ExprKind kind, llvm::Value *lhs,
                                           llvm::Value *rhs) {
  switch (kind) {
  case ExprKind::Add:
    return builder.CreateFAdd(lhs, rhs);
  case ExprKind::Sub:
    return builder.CreateFSub(lhs, rhs);
  case ExprKind::Mul:
    return builder.CreateFMul(lhs, rhs);
  case ExprKind::Div:
    return builder.CreateFDiv(lhs, rhs);
  case ExprKind::Pow:
    return environment.power(builder, lhs, rhs);
  default:
    return compare(kind, lhs, rhs);
  }
}

llvm::Value *KernelBodyEmitter::emitExpr(const Expr &expr,
                                         llvm::ArrayRef<llvm::Value *> point,
                                         bool isInt) {
  switch (expr.kind) {
  case ExprKind::Load: {
    // Ids read by a float kernel (in a comparison) become floats.
    llvm::Value *element = load(expr.access, point);
    if (!isInt && element->getType()->isIntegerTy())
      return builder.CreateSIToFP(element, floatType);
    return element;
  }
  case ExprKind::Constant:
    if (isInt)
      return builder.getInt64(static_cast<int64_t>(expr.value));
    return floatConstant(expr.value);
  case ExprKind::BatchSize:
    return builder.CreateSIToFP(environment.batchSize(), floatType);
  case ExprKind::LoopIndex:
    // The induction variable (an i64, never negative) as the float type.
    assert(!isInt && "a loop index in an int kernel");
    return builder.CreateUIToFP(point[expr.dimension], floatType);
  default:
    break;
  }
  assert(!isInt && "arithmetic in an int kernel");
  llvm::Value *lhs = emitExpr(expr.operands[0], point, false);
  if (expr.operands.size() == 1)
    return unaryMath(expr, lhs);
  llvm::Value *rhs = emitExpr(expr.operands[1], point, false);
  if (expr.kind != ExprKind::Where)
    return binaryMath(expr.kind, lhs, rhs);
  // Where: the condition is lhs != 0 (unordered, so NaN selects rhs).
  llvm::Value *otherwise = emitExpr(expr.operands[2], point, false);
  llvm::Value *condition = builder.CreateFCmpUNE(lhs, floatConstant(0));
  return builder.CreateSelect(condition, rhs, otherwise);
}

//===----------------------------------------------------------------------===//
// Elementwise kernels and reductions
//===----------------------------------------------------------------------===//

void KernelBodyEmitter::emitElementwise(const lower::ElementwiseKernel &kernel,
                                        llvm::ArrayRef<llvm::Value *> point) {
  bool isInt = !environment.elementType(kernel.store)->isFloatingPointTy();
  llvm::Value *value = kernel.reductionExtents.empty()
                           ? emitExpr(kernel.body, point, isInt)
                           : emitReducedExpr(kernel, point);
  storeTo(kernel.store, environment.address(kernel.store, point), value);
}

/// The sum of a float kernel's body over every point of its reduction
/// dimensions, which follow `point` among the kernel's dimensions.
llvm::Value *
KernelBodyEmitter::emitReducedExpr(const lower::ElementwiseKernel &kernel,
                                   llvm::ArrayRef<llvm::Value *> point) {
  llvm::Value *total = environment.scratch(floatType, "sum");
  builder.CreateStore(floatConstant(0), total);
  std::vector<llvm::Value *> fullPoint(point.begin(), point.end());
  std::function<void(size_t)> level = [&](size_t depth) {
    if (depth == kernel.reductionExtents.size()) {
      llvm::Value *term = emitExpr(kernel.body, fullPoint, false);
      builder.CreateStore(
          addReassociable(builder.CreateLoad(floatType, total), term), total);
      return;
    }
    environment.loop(environment.size(kernel.reductionExtents[depth]),
                     [&](llvm::Value *r) {
                       fullPoint.push_back(r);
                       level(depth + 1);
                       fullPoint.pop_back();
                     });
  };
  level(0);
  return builder.CreateLoad(floatType, total);
}

void KernelBodyEmitter::emitReduce(const lower::Reduce &reduce,
                                   llvm::ArrayRef<llvm::Value *> point) {
  llvm::Value *total = environment.scratch(floatType, "total");
  builder.CreateStore(floatConstant(0), total);
  llvm::Value *count = environment.size(reduce.count);
  llvm::Value *stride = environment.size(reduce.stride);
  environment.loop(count, [&](llvm::Value *r) {
    llvm::Value *x = load(reduce.source, point, builder.CreateMul(r, stride));
    builder.CreateStore(
        addReassociable(builder.CreateLoad(floatType, total), x), total);
  });
  llvm::Value *result = builder.CreateLoad(floatType, total);
  if (reduce.divideByBatch)
    result = builder.CreateFDiv(
        result, builder.CreateSIToFP(environment.batchSize(), floatType));
  storeTo(reduce.destination, environment.address(reduce.destination, point),
          result);
}

//===----------------------------------------------------------------------===//
// Row kernels
//===----------------------------------------------------------------------===//

/// Whether mask row element j is nonzero (kept); true without a mask.
llvm::Value *KernelBodyEmitter::isKept(const Access *mask,
                                       llvm::ArrayRef<llvm::Value *> point,
                                       llvm::Value *j) {
  if (!mask)
    return builder.getTrue();
  return builder.CreateFCmpUNE(load(*mask, point, j), floatConstant(0));
}

/// The largest element of a row (over the kept ones, with a mask).
llvm::Value *KernelBodyEmitter::rowMax(const Access &row,
                                       llvm::ArrayRef<llvm::Value *> point,
                                       int64_t width, const Access *mask) {
  llvm::Value *largest = environment.scratch(floatType, "largest");
  builder.CreateStore(floatConstant(-std::numeric_limits<double>::infinity()),
                      largest);
  environment.loop(builder.getInt64(width), [&](llvm::Value *j) {
    llvm::Value *x = load(row, point, j);
    llvm::Value *current = builder.CreateLoad(floatType, largest);
    llvm::Value *larger = builder.CreateFCmpOGT(x, current);
    if (mask)
      larger = builder.CreateAnd(larger, isKept(mask, point, j));
    builder.CreateStore(builder.CreateSelect(larger, x, current), largest);
  });
  return builder.CreateLoad(floatType, largest);
}

/// lhs + rhs, marked as free to reassociate with other such sums.
llvm::Value *KernelBodyEmitter::addReassociable(llvm::Value *lhs,
                                                llvm::Value *rhs) {
  llvm::IRBuilder<>::FastMathFlagGuard guard(builder);
  llvm::FastMathFlags flags;
  flags.setAllowReassoc();
  builder.setFastMathFlags(flags);
  return builder.CreateFAdd(lhs, rhs);
}

/// sum_j exp(row[j] - max); with `store`, also writes each exp there.
/// With a mask, masked terms are 0.
llvm::Value *KernelBodyEmitter::rowSumExp(const Access &row,
                                          llvm::ArrayRef<llvm::Value *> point,
                                          int64_t width, llvm::Value *max,
                                          const Access *store,
                                          const Access *mask) {
  llvm::Value *total = environment.scratch(floatType, "total");
  builder.CreateStore(floatConstant(0), total);
  environment.loop(builder.getInt64(width), [&](llvm::Value *j) {
    llvm::Value *shifted = builder.CreateFSub(load(row, point, j), max);
    llvm::Value *exp = math.exp(shifted);
    if (mask)
      exp = builder.CreateSelect(isKept(mask, point, j), exp, floatConstant(0));
    if (store)
      storeTo(*store, elementAddress(*store, point, j), exp);
    // The terms are positive, so summing them in any order is as accurate;
    // allowing that lets the loop vectorise.
    builder.CreateStore(
        addReassociable(builder.CreateLoad(floatType, total), exp), total);
  });
  return builder.CreateLoad(floatType, total);
}

/// Whether an int64 target or id lies in [0, rows).
llvm::Value *KernelBodyEmitter::targetInRange(llvm::Value *target,
                                              int64_t rows) {
  return builder.CreateICmpULT(target, builder.getInt64(rows));
}

/// y = exp(x - max) / sum exp(x - max). With a mask, over the kept entries
/// only: the others are 0, and a row with none kept is all 0 (its total is
/// 0, so it is divided by 1 instead).
void KernelBodyEmitter::emitSoftmaxRow(const lower::RowKernel &kernel,
                                       llvm::ArrayRef<llvm::Value *> point) {
  const Access &x = kernel.operands[0];
  const Access *mask =
      kernel.operands.size() > 1 ? &kernel.operands[1] : nullptr;
  llvm::Value *max = rowMax(x, point, kernel.width, mask);
  llvm::Value *total =
      rowSumExp(x, point, kernel.width, max, &kernel.result, mask);
  if (mask)
    total = builder.CreateSelect(builder.CreateFCmpOGT(total, floatConstant(0)),
                                 total, floatConstant(1));
  environment.loop(builder.getInt64(kernel.width), [&](llvm::Value *j) {
    llvm::Value *address = elementAddress(kernel.result, point, j);
    llvm::Value *exp = loadFrom(kernel.result, address);
    storeTo(kernel.result, address, builder.CreateFDiv(exp, total));
  });
}

/// dx = y * (g - sum(g * y)).
void KernelBodyEmitter::emitSoftmaxGradRow(
    const lower::RowKernel &kernel, llvm::ArrayRef<llvm::Value *> point) {
  const Access &y = kernel.operands[0];
  const Access &g = kernel.operands[1];
  llvm::Value *dot = environment.scratch(floatType, "dot");
  builder.CreateStore(floatConstant(0), dot);
  environment.loop(builder.getInt64(kernel.width), [&](llvm::Value *j) {
    llvm::Value *product =
        builder.CreateFMul(load(g, point, j), load(y, point, j));
    builder.CreateStore(
        addReassociable(builder.CreateLoad(floatType, dot), product), dot);
  });
  llvm::Value *sum = builder.CreateLoad(floatType, dot);
  environment.loop(builder.getInt64(kernel.width), [&](llvm::Value *j) {
    llvm::Value *difference = builder.CreateFSub(load(g, point, j), sum);
    storeTo(kernel.result, elementAddress(kernel.result, point, j),
            builder.CreateFMul(load(y, point, j), difference));
  });
}

/// loss = max + log(sum exp(logits - max)) - logits[target]; NaN when the
/// target is outside the row.
void KernelBodyEmitter::emitCrossEntropyRow(
    const lower::RowKernel &kernel, llvm::ArrayRef<llvm::Value *> point) {
  const Access &logits = kernel.operands[0];
  llvm::Value *max = rowMax(logits, point, kernel.width);
  llvm::Value *total = rowSumExp(logits, point, kernel.width, max, nullptr);
  llvm::Value *logSumExp =
      builder.CreateFAdd(max, environment.logarithm(builder, total));
  llvm::Value *target = load(kernel.operands[1], point);
  llvm::Value *inRange = targetInRange(target, kernel.width);
  llvm::Value *safeTarget =
      builder.CreateSelect(inRange, target, builder.getInt64(0));
  llvm::Value *loss =
      builder.CreateFSub(logSumExp, load(logits, point, safeTarget));
  loss = builder.CreateSelect(
      inRange, loss, floatConstant(std::numeric_limits<double>::quiet_NaN()));
  storeTo(kernel.result, environment.address(kernel.result, point), loss);
}

/// dlogits = g * (softmax(logits) - onehot(target)).
void KernelBodyEmitter::emitCrossEntropyGradRow(
    const lower::RowKernel &kernel, llvm::ArrayRef<llvm::Value *> point) {
  const Access &logits = kernel.operands[0];
  llvm::Value *max = rowMax(logits, point, kernel.width);
  llvm::Value *total = rowSumExp(logits, point, kernel.width, max, nullptr);
  llvm::Value *target = load(kernel.operands[1], point);
  llvm::Value *g = load(kernel.operands[2], point);
  environment.loop(builder.getInt64(kernel.width), [&](llvm::Value *j) {
    llvm::Value *shifted = builder.CreateFSub(load(logits, point, j), max);
    llvm::Value *probability = builder.CreateFDiv(math.exp(shifted), total);
    llvm::Value *oneHot = builder.CreateSelect(
        builder.CreateICmpEQ(j, target), floatConstant(1), floatConstant(0));
    storeTo(kernel.result, elementAddress(kernel.result, point, j),
            builder.CreateFMul(g, builder.CreateFSub(probability, oneHot)));
  });
}

/// y = x - max - log(sum exp(x - max)).
void KernelBodyEmitter::emitLogSoftmaxRow(const lower::RowKernel &kernel,
                                          llvm::ArrayRef<llvm::Value *> point) {
  const Access &x = kernel.operands[0];
  llvm::Value *max = rowMax(x, point, kernel.width);
  llvm::Value *total = rowSumExp(x, point, kernel.width, max, nullptr);
  llvm::Value *logTotal = environment.logarithm(builder, total);
  environment.loop(builder.getInt64(kernel.width), [&](llvm::Value *j) {
    llvm::Value *shifted = builder.CreateFSub(load(x, point, j), max);
    storeTo(kernel.result, elementAddress(kernel.result, point, j),
            builder.CreateFSub(shifted, logTotal));
  });
}

/// dx = g - exp(y) * sum(g).
void KernelBodyEmitter::emitLogSoftmaxGradRow(
    const lower::RowKernel &kernel, llvm::ArrayRef<llvm::Value *> point) {
  const Access &y = kernel.operands[0];
  const Access &g = kernel.operands[1];
  llvm::Value *sum = environment.scratch(floatType, "sum");
  builder.CreateStore(floatConstant(0), sum);
  environment.loop(builder.getInt64(kernel.width), [&](llvm::Value *j) {
    builder.CreateStore(builder.CreateFAdd(builder.CreateLoad(floatType, sum),
                                           load(g, point, j)),
                        sum);
  });
  llvm::Value *total = builder.CreateLoad(floatType, sum);
  environment.loop(builder.getInt64(kernel.width), [&](llvm::Value *j) {
    llvm::Value *scaled =
        builder.CreateFMul(math.exp(load(y, point, j)), total);
    storeTo(kernel.result, elementAddress(kernel.result, point, j),
            builder.CreateFSub(load(g, point, j), scaled));
  });
}

void KernelBodyEmitter::emitRow(const lower::RowKernel &kernel,
                                llvm::ArrayRef<llvm::Value *> point) {
  switch (kernel.kind) {
  case lower::RowKernelKind::LogSoftmax:
    emitLogSoftmaxRow(kernel, point);
    return;
  case lower::RowKernelKind::LogSoftmaxGrad:
    emitLogSoftmaxGradRow(kernel, point);
    return;
  case lower::RowKernelKind::MaxLast:
    storeTo(kernel.result, environment.address(kernel.result, point),
            rowMax(kernel.operands[0], point, kernel.width));
    return;
  case lower::RowKernelKind::Softmax:
    emitSoftmaxRow(kernel, point);
    return;
  case lower::RowKernelKind::SoftmaxGrad:
    emitSoftmaxGradRow(kernel, point);
    return;
  case lower::RowKernelKind::CrossEntropy:
    emitCrossEntropyRow(kernel, point);
    return;
  case lower::RowKernelKind::CrossEntropyGrad:
    emitCrossEntropyGradRow(kernel, point);
    return;
  }
}

//===----------------------------------------------------------------------===//
// Gathers and scatters
//===----------------------------------------------------------------------===//

/// result = table row ids[point], or zeros for an id outside the table.
void KernelBodyEmitter::emitGatherRow(const lower::Gather &gather,
                                      llvm::ArrayRef<llvm::Value *> point) {
  llvm::Value *id = load(gather.ids, point);
  llvm::Value *inRange = targetInRange(id, gather.rows);
  llvm::Value *rowStart =
      builder.CreateMul(builder.CreateSelect(inRange, id, builder.getInt64(0)),
                        builder.getInt64(gather.width));
  environment.loop(builder.getInt64(gather.width), [&](llvm::Value *j) {
    llvm::Value *x = load(gather.table, point, builder.CreateAdd(rowStart, j));
    storeTo(gather.result, elementAddress(gather.result, point, j),
            builder.CreateSelect(inRange, x, floatConstant(0)));
  });
}

/// result row ids[point] += grad row; an id outside the table adds nothing.
void KernelBodyEmitter::emitScatterRow(const lower::ScatterAddRows &scatter,
                                       llvm::ArrayRef<llvm::Value *> point) {
  llvm::Value *id = load(scatter.ids, point);
  llvm::Function *function = builder.GetInsertBlock()->getParent();
  auto *addBlock =
      llvm::BasicBlock::Create(builder.getContext(), "scatter.add", function);
  auto *doneBlock =
      llvm::BasicBlock::Create(builder.getContext(), "scatter.done");
  builder.CreateCondBr(targetInRange(id, scatter.rows), addBlock, doneBlock);

  builder.SetInsertPoint(addBlock);
  llvm::Value *rowStart =
      builder.CreateMul(id, builder.getInt64(scatter.width));
  environment.loop(builder.getInt64(scatter.width), [&](llvm::Value *j) {
    llvm::Value *address =
        elementAddress(scatter.result, point, builder.CreateAdd(rowStart, j));
    llvm::Value *sum = builder.CreateFAdd(loadFrom(scatter.result, address),
                                          load(scatter.grad, point, j));
    storeTo(scatter.result, address, sum);
  });
  builder.CreateBr(doneBlock);
  function->insert(function->end(), doneBlock);
  builder.SetInsertPoint(doneBlock);
}

} // namespace weft::codegen
