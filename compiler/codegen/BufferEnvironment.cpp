// The shared part of the code generators: see BufferEnvironment.h.
#include "compiler/codegen/BufferEnvironment.h"

namespace weft::codegen {

using namespace lower;

BufferEnvironment::BufferEnvironment(const LoweredProgram &program,
                                     FloatType floatType, llvm::Module &module)
    : program(program), floatKind(floatType), module(module),
      context(module.getContext()), builder(context),
      floatType(floatType == FloatType::F32 ? builder.getFloatTy()
                                            : builder.getDoubleTy()),
      timeSteps(program.loopCount, nullptr),
      bodies(builder, this->floatType, *this) {}

llvm::Value *BufferEnvironment::size(Size size) {
  llvm::Value *fixed = builder.getInt64(size.fixed);
  if (size.isFixed())
    return fixed;
  llvm::Value *scaled = size.perBatch == 1
                            ? batch
                            : builder.CreateMul(builder.getInt64(size.perBatch),
                                                batch, "", true, true);
  return size.fixed == 0 ? scaled
                         : builder.CreateAdd(fixed, scaled, "", true, true);
}

/// base + sum of stride * variable, leaving out zero terms and unit strides.
llvm::Value *BufferEnvironment::index(const Index &index,
                                      llvm::ArrayRef<llvm::Value *> point) {
  llvm::Value *sum = index.base.isZero() ? nullptr : size(index.base);
  auto addTerm = [&](Size stride, llvm::Value *variable) {
    if (stride.isZero())
      return;
    llvm::Value *term =
        stride == Size{1, 0}
            ? variable
            : builder.CreateMul(size(stride), variable, "", true, true);
    sum = sum ? builder.CreateAdd(sum, term, "", true, true) : term;
  };
  for (size_t d = 0; d < index.dimStrides.size() && d < point.size(); ++d)
    addTerm(index.dimStrides[d], point[d]);
  for (const TimeTerm &term : index.timeTerms)
    addTerm(term.stride, timeSteps[term.loop]);
  return sum ? sum : builder.getInt64(0);
}

llvm::Type *BufferEnvironment::elementType(const Access &access) {
  return program.buffers[access.buffer].element == ElementKind::Int
             ? builder.getInt64Ty()
             : floatType;
}

llvm::Value *BufferEnvironment::address(const Access &access,
                                        llvm::ArrayRef<llvm::Value *> point) {
  return builder.CreateInBoundsGEP(elementType(access),
                                   bufferPointers[access.buffer],
                                   index(access.index, point));
}

llvm::Value *BufferEnvironment::scratch(llvm::Type *type,
                                        const llvm::Twine &name) {
  llvm::BasicBlock &entry = function->getEntryBlock();
  llvm::IRBuilder<> entryBuilder(&entry, entry.begin());
  return entryBuilder.CreateAlloca(type, nullptr, name);
}

/// A counted loop: a counter from 0 to count - 1 in a header block; the
/// body sees it, or count - 1 - it when `reverse`. Blocks join the function
/// as they are filled, so the printed IR reads in program order.
void BufferEnvironment::emitLoop(llvm::Value *count, bool reverse,
                                 const std::function<void(llvm::Value *)> &body,
                                 const llvm::Twine &name) {
  llvm::BasicBlock *preheader = builder.GetInsertBlock();
  auto *header = llvm::BasicBlock::Create(context, name + ".header");
  auto *bodyBlock = llvm::BasicBlock::Create(context, name + ".body");
  auto *exit = llvm::BasicBlock::Create(context, name + ".exit");
  builder.CreateBr(header);

  function->insert(function->end(), header);
  builder.SetInsertPoint(header);
  llvm::PHINode *counter = builder.CreatePHI(builder.getInt64Ty(), 2, name);
  counter->addIncoming(builder.getInt64(0), preheader);
  builder.CreateCondBr(builder.CreateICmpSLT(counter, count), bodyBlock, exit);

  function->insert(function->end(), bodyBlock);
  builder.SetInsertPoint(bodyBlock);
  llvm::Value *step =
      reverse ? builder.CreateSub(builder.CreateSub(count, builder.getInt64(1)),
                                  counter)
              : counter;
  body(step);
  llvm::Value *next =
      builder.CreateAdd(counter, builder.getInt64(1), "", true, true);
  counter->addIncoming(next, builder.GetInsertBlock());
  builder.CreateBr(header);
  function->insert(function->end(), exit);
  builder.SetInsertPoint(exit);
}

/// The loops over `extents` that `point` does not give yet, around `body`.
void BufferEnvironment::emitNest(
    const std::vector<Size> &extents,
    const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body,
    std::vector<llvm::Value *> point) {
  std::function<void(size_t)> level = [&](size_t depth) {
    if (depth == extents.size()) {
      body(point);
      return;
    }
    emitLoop(
        size(extents[depth]), false,
        [&](llvm::Value *i) {
          point.push_back(i);
          level(depth + 1);
          point.pop_back();
        },
        "k" + llvm::Twine(depth));
  };
  level(point.size());
}

void BufferEnvironment::loadBufferPointers(llvm::Value *table) {
  bufferPointers.clear();
  for (size_t i = 0; i < program.buffers.size(); ++i) {
    llvm::Value *slot =
        builder.CreateConstInBoundsGEP1_64(builder.getPtrTy(), table, i);
    bufferPointers.push_back(builder.CreateLoad(builder.getPtrTy(), slot,
                                                "buffer" + llvm::Twine(i)));
  }
}

} // namespace weft::codegen
