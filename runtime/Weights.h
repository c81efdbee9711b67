// Weight files: NumPy's `.npz` (a zip archive of `.npy` files, as
// numpy.savez writes them; savez_compressed's deflated entries read too)
// and safetensors (an 8-byte header length, a JSON header giving each
// tensor's dtype, shape and byte range, then the raw little-endian data),
// so weights move to and from PyTorch. Both take and give NamedArrays.
#pragma once

#include "runtime/Checkpoint.h"

#include <optional>
#include <string>

namespace weft::runtime {

/// Writes `arrays` as `name.npy` entries of a zip archive at `path`,
/// through a temporary file renamed into place.
bool writeNpz(const std::string &path, const NamedArrays &arrays,
              std::string *error);
std::optional<NamedArrays> readNpz(const std::string &path, std::string *error);

/// Writes `arrays` in the safetensors format (dtypes F32, F64, I64),
/// through a temporary file renamed into place.
bool writeSafetensors(const std::string &path, const NamedArrays &arrays,
                      std::string *error);
std::optional<NamedArrays> readSafetensors(const std::string &path,
                                           std::string *error);

/// Whether `path` names a weights file by its extension: `.npz` or
/// `.safetensors`.
bool isWeightsFile(const std::string &path);
/// Reads or writes by extension; other extensions are an error.
std::optional<NamedArrays> readWeights(const std::string &path,
                                       std::string *error);
bool writeWeights(const std::string &path, const NamedArrays &arrays,
                  std::string *error);

} // namespace weft::runtime
