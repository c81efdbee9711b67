// A Device (runtime/DeviceProgram.h) made of the host CPU: memory is the
// process's, a launch calls the kernel's host version once per point, and
// a GEMM is the CPU's. It runs a GPU launch plan exactly as a GPU would,
// in order, so tests check the plan, the kernels' point decomposition and
// the buffer table without a GPU.
#pragma once

#include "compiler/codegen/Jit.h"
#include "runtime/DeviceProgram.h"

#include <map>
#include <memory>
#include <vector>

namespace weft::codegen {

class HostDevice final : public runtime::Device {
public:
  explicit HostDevice(std::unique_ptr<HostKernels> kernels)
      : code(std::move(kernels)) {}

  Address allocate(size_t bytes) override;
  void release(Address address) override;
  void upload(Address destination, const void *source, size_t bytes) override;
  void download(void *destination, Address source, size_t bytes) override;
  void copy(Address destination, Address source, size_t bytes) override;
  void launch(unsigned kernel, int64_t points, Address table, int64_t batch,
              const std::vector<int64_t> &steps) override;
  void gemm(const runtime::DeviceGemm &call) override;
  void synchronize() override {}

private:
  std::unique_ptr<HostKernels> code;
  std::map<Address, std::vector<uint64_t>> blocks;
};

} // namespace weft::codegen
