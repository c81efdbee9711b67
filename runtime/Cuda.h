// The CUDA driver, found at run time: Weft links against no part of CUDA,
// so a machine without a GPU runs everything else, and `--device=cuda`
// says in one line why it cannot be used.
#pragma once

#include "runtime/DeviceProgram.h"

#include <memory>
#include <optional>
#include <string>

namespace weft::runtime {

/// The number of CUDA devices the driver (libcuda.so.1) reports, or an
/// error saying why there is none: no driver, or no device.
std::optional<int> cudaDeviceCount(std::string *error);

/// cuBLAS, loaded from the folder that WEFT_CUBLAS_DIR names, else from the
/// library path: the library's handle, or null and an error that says
/// where it looked.
void *loadCublas(std::string *error);

/// The first GPU, with the PTX module `ptx` (whose kernels are
/// `weft_kernel0` .. `weft_kernel<kernelCount - 1>`) loaded and cuBLAS
/// started; or null and an error saying what is missing.
std::unique_ptr<Device> openCudaDevice(const std::string &ptx,
                                       unsigned kernelCount,
                                       std::string *error);

} // namespace weft::runtime
