// The data files of training on examples: each holds one array whose first
// axis is the example. Three formats are read: NumPy `.npy`; IDX, the
// format of MNIST and Fashion-MNIST (`*-idx3-ubyte`), plain or gzip
// compressed; and `.ids`, text with one example per line of
// whitespace-separated integer token ids.
#pragma once

#include "runtime/Npy.h"

#include <optional>
#include <string>

namespace weft::runtime {

/// An array read from a data file.
struct ArrayFile {
  NpyArray array;
  /// The file held unsigned bytes (IDX `ubyte`), widened to int64: as
  /// float inputs they are pixels, scaled to [0, 1].
  bool bytes = false;
};

/// Reads `path` by its name: `.npy`, `.ids`, else IDX (gzip or not). An
/// error names the file and what is wrong with it.
std::optional<ArrayFile> readArrayFile(const std::string &path,
                                       std::string *error);

} // namespace weft::runtime
