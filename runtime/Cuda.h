// The CUDA driver, found at run time: Weft links against no part of CUDA,
// so a machine without a GPU runs everything else, and `--device=cuda`
// says in one line why it cannot be used.
#pragma once

#include <optional>
#include <string>

namespace weft::runtime {

/// The number of CUDA devices the driver (libcuda.so.1) reports, or an
/// error saying why there is none: no driver, or no device.
std::optional<int> cudaDeviceCount(std::string *error);

} // namespace weft::runtime
