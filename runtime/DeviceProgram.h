// Running a step on a device: a Device is a GPU seen through five verbs
// (memory, copies, kernel launches, GEMMs); a DeviceProgram runs a launch
// plan on one, behind the same Program interface as the CPU's code, so
// that the trainer and `weft run` use a GPU without knowing it.
#pragma once

#include "runtime/DevicePlan.h"
#include "runtime/Program.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace weft::runtime {

/// A device call that failed: the message says which and why.
class DeviceError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// c = alpha op(a) op(b) + beta c on float32 row-major matrices, op(a)
/// m x k and op(b) k x n, as cblas_sgemm takes them.
struct DeviceGemm {
  bool transposeA = false, transposeB = false;
  int64_t m = 0, n = 0, k = 0;
  uint64_t a = 0, b = 0, c = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  float alpha = 1, beta = 0;
};

/// A GPU as a DeviceProgram drives it. Addresses are the device's; every
/// call is ordered after the ones before it. A call that fails throws a
/// DeviceError.
class Device {
public:
  using Address = uint64_t;
  virtual ~Device() = default;
  virtual Address allocate(size_t bytes) = 0;
  virtual void release(Address address) = 0;
  virtual void upload(Address destination, const void *source,
                      size_t bytes) = 0;
  virtual void download(void *destination, Address source, size_t bytes) = 0;
  virtual void copy(Address destination, Address source, size_t bytes) = 0;
  /// Runs `weft_kernel<kernel>(table, batch, steps...)` once for each of
  /// `points` threads.
  virtual void launch(unsigned kernel, int64_t points, Address table,
                      int64_t batch, const std::vector<int64_t> &steps) = 0;
  virtual void gemm(const DeviceGemm &call) = 0;
  /// Waits until every call so far has finished.
  virtual void synchronize() = 0;
};

/// A launch plan on a device. `run` uploads the params and inputs, runs
/// the plan and downloads the outputs; temps live on the device only.
/// Device buffers are kept from one run to the next while the batch size
/// stays the same.
class DeviceProgram final : public Program {
public:
  DeviceProgram(std::vector<BufferSpec> buffers, DevicePlan plan,
                std::unique_ptr<Device> device);
  ~DeviceProgram() override;

  const std::vector<BufferSpec> &buffers() const override { return table; }
  size_t floatBytes() const override { return 4; }
  void run(void **buffers, int64_t batch) const override;

private:
  void allocate(int64_t batch) const;
  void release() const;
  void runSteps(const std::vector<PlanStep> &steps, int64_t batch,
                std::vector<int64_t> &loopSteps) const;
  size_t elementBytes(int buffer) const;
  Device::Address address(const PlanElement &element, int64_t batch,
                          const std::vector<int64_t> &loopSteps) const;

  std::vector<BufferSpec> table;
  DevicePlan plan;
  std::unique_ptr<Device> device;
  mutable int64_t allocatedBatch = -1;
  mutable std::vector<Device::Address> deviceBuffers;
  mutable Device::Address deviceTable = 0;
};

} // namespace weft::runtime
