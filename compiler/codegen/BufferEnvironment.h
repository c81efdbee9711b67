// What the CPU and GPU code generators share around kernel bodies: a
// function under construction whose buffers are pointers into one table,
// sizes scaled by the batch, element addresses with their time terms, and
// counted loops. ModuleEmitter builds weft_step and its CPU kernels on it,
// PtxEmitter one GPU kernel per lowered kernel.
#pragma once

#include "compiler/codegen/Executable.h"
#include "compiler/codegen/KernelBody.h"

#include <llvm/IR/Module.h>

#include <vector>

namespace weft::codegen {

class BufferEnvironment : public KernelEnvironment {
public:
  BufferEnvironment(const lower::LoweredProgram &program, FloatType floatType,
                    llvm::Module &module);

  // KernelEnvironment.
  llvm::Value *address(const lower::Access &access,
                       llvm::ArrayRef<llvm::Value *> point) override;
  llvm::Type *elementType(const lower::Access &access) override;
  llvm::Value *batchSize() override { return batch; }
  llvm::Value *size(lower::Size size) override;
  void loop(llvm::Value *count,
            const std::function<void(llvm::Value *)> &body) override {
    emitLoop(count, false, body, "i");
  }
  llvm::Value *scratch(llvm::Type *type, const llvm::Twine &name) override;

protected:
  /// A counted loop from 0 to count - 1 (downwards when `reverse`) around
  /// `body`, which sees the index.
  void emitLoop(llvm::Value *count, bool reverse,
                const std::function<void(llvm::Value *)> &body,
                const llvm::Twine &name);
  /// The loops over `extents` that `point` does not give yet, around
  /// `body`.
  void emitNest(const std::vector<lower::Size> &extents,
                const std::function<void(llvm::ArrayRef<llvm::Value *>)> &body,
                std::vector<llvm::Value *> point = {});
  /// Loads every buffer's pointer from `table`, a pointer to pointers.
  void loadBufferPointers(llvm::Value *table);
  llvm::Value *index(const lower::Index &index,
                     llvm::ArrayRef<llvm::Value *> point);

  const lower::LoweredProgram &program;
  FloatType floatKind;
  llvm::Module &module;
  llvm::LLVMContext &context;
  llvm::IRBuilder<> builder;
  llvm::Type *floatType;
  llvm::Function *function = nullptr; ///< The function being emitted.
  llvm::Value *batch = nullptr;
  std::vector<llvm::Value *> bufferPointers;
  std::vector<llvm::Value *> timeSteps; ///< By TimeLoop number.
  KernelBodyEmitter bodies;
};

} // namespace weft::codegen
