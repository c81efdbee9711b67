// Checkpoints: takes a training step and named arrays, gives a folder
// `<dir>/step-<N>/` of `.npy` files and a link `<dir>/latest` that always
// names a complete checkpoint, so an interrupted run keeps its last one.
#pragma once

#include "runtime/Npy.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace weft::runtime {

using NamedArrays = std::vector<std::pair<std::string, NpyArray>>;

/// The array of `arrays` named `name`, or null.
const NpyArray *findArray(const NamedArrays &arrays, const std::string &name);

/// Every `.npy` file of a folder, by file stem; an error names the folder
/// or the file.
std::optional<NamedArrays> readNpyFolder(const std::string &dir,
                                         std::string *error);

/// Writes the arrays into a fresh folder, renames it into place, then
/// renames a new link over `latest`; each rename is atomic. Keeps the
/// previous checkpoint too and removes older ones. `state`, when given, is
/// what resuming needs besides the parameters (optimiser buffers, carried
/// state, the step), written beside them as `state.safetensors`.
bool writeCheckpoint(const std::string &dir, int64_t step,
                     const NamedArrays &arrays, std::string *error,
                     const NamedArrays *state = nullptr);

/// Whether `dir` holds a checkpoint: `latest`, or a complete `step-*`
/// folder that a run killed before linking it left.
bool hasCheckpoint(const std::string &dir);

/// The arrays of `<dir>/latest` (every `.npy` by file stem) and its
/// `state.safetensors`; an error names what is missing or damaged.
bool readLatestCheckpoint(const std::string &dir, NamedArrays &arrays,
                          NamedArrays &state, std::string *error);

} // namespace weft::runtime
