// Loading the CUDA driver at run time: see Cuda.h.
#include "runtime/Cuda.h"

#include <fmt/format.h>

#include <dlfcn.h>

namespace weft::runtime {

std::optional<int> cudaDeviceCount(std::string *error) {
  // The library stays loaded: the driver does not support unloading well.
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver) {
    *error = "no CUDA driver on this machine (libcuda.so.1 is not "
             "installed): `--device=cuda` needs an NVIDIA GPU and its driver";
    return std::nullopt;
  }
  // CUresult cuInit(unsigned flags); CUresult cuDeviceGetCount(int *count).
  using Init = int (*)(unsigned);
  using DeviceCount = int (*)(int *);
  auto init = reinterpret_cast<Init>(dlsym(driver, "cuInit"));
  auto deviceCount =
      reinterpret_cast<DeviceCount>(dlsym(driver, "cuDeviceGetCount"));
  if (!init || !deviceCount) {
    *error = "the CUDA driver (libcuda.so.1) lacks cuInit or cuDeviceGetCount";
    return std::nullopt;
  }
  int count = 0;
  if (int status = init(0); status != 0) {
    *error = fmt::format("the CUDA driver found no usable GPU (cuInit "
                         "returned {})",
                         status);
    return std::nullopt;
  }
  if (deviceCount(&count) != 0 || count == 0) {
    *error = "the CUDA driver reports no GPU on this machine";
    return std::nullopt;
  }
  return count;
}

} // namespace weft::runtime
