// Checkpoints: takes a training step and named arrays, gives a folder
// `<dir>/step-<N>/` of `.npy` files and a link `<dir>/latest` that always
// names a complete checkpoint, so an interrupted run keeps its last one.
#pragma once

#include "runtime/Npy.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace weft::runtime {

using NamedArrays = std::vector<std::pair<std::string, NpyArray>>;

/// Writes the arrays into a fresh folder, renames it into place, then
/// renames a new link over `latest`; each rename is atomic. Keeps the
/// previous checkpoint too and removes older ones.
bool writeCheckpoint(const std::string &dir, int64_t step,
                     const NamedArrays &arrays, std::string *error);

} // namespace weft::runtime
