// The host CPU as a Device: see HostDevice.h.
#include "compiler/codegen/HostDevice.h"
#include "runtime/Threads.h"

#include <cstring>

namespace weft::codegen {

namespace {

template <typename Type> Type *pointer(runtime::Device::Address address) {
  return reinterpret_cast<Type *>(static_cast<uintptr_t>(address));
}

} // namespace

runtime::Device::Address HostDevice::allocate(size_t bytes) {
  // Uninitialised memory is what a GPU gives: fill it with NaNs' bytes so
  // that a plan that reads before it writes shows.
  std::vector<uint64_t> block((bytes + 7) / 8, ~uint64_t(0));
  auto address =
      static_cast<Address>(reinterpret_cast<uintptr_t>(block.data()));
  blocks.emplace(address, std::move(block));
  return address;
}

void HostDevice::release(Address address) {
  if (blocks.erase(address) == 0)
    throw runtime::DeviceError("release of memory that was not allocated");
}

void HostDevice::upload(Address destination, const void *source, size_t bytes) {
  std::memcpy(pointer<char>(destination), source, bytes);
}

void HostDevice::download(void *destination, Address source, size_t bytes) {
  std::memcpy(destination, pointer<char>(source), bytes);
}

void HostDevice::copy(Address destination, Address source, size_t bytes) {
  std::memmove(pointer<char>(destination), pointer<char>(source), bytes);
}

void HostDevice::launch(unsigned kernel, int64_t points, Address table,
                        int64_t batch, const std::vector<int64_t> &steps) {
  HostKernel function = code->kernels().at(kernel);
  // Past the last point, as the GPU's last block has threads that return.
  const int64_t threadsPerBlock = 256;
  int64_t threads =
      (points + threadsPerBlock - 1) / threadsPerBlock * threadsPerBlock;
  for (int64_t point = 0; point < threads; ++point)
    function(pointer<void *>(table), batch, steps.data(), point);
}

void HostDevice::gemm(const runtime::DeviceGemm &call) {
  weft_sgemm(call.transposeA, call.transposeB, static_cast<int>(call.m),
             static_cast<int>(call.n), static_cast<int>(call.k), call.alpha,
             pointer<const float>(call.a), static_cast<int>(call.lda),
             pointer<const float>(call.b), static_cast<int>(call.ldb),
             call.beta, pointer<float>(call.c), static_cast<int>(call.ldc));
}

} // namespace weft::codegen
