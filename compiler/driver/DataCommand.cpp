// `weft data TASK --count N --seed S [--min-length A --max-length B]
// -o FOLDER`: generates a synthetic task (runtime/Tasks.h) and writes each
// of its arrays as FOLDER/<array>.npy, the layout `weft train --train-data`
// reads.
#include "compiler/driver/Commands.h"
#include "runtime/Npy.h"
#include "runtime/Tasks.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

namespace weft::driver {

int dataCommand(const DataOptions &options) {
  // Lengths mean something to `copy` only; elsewhere they would be ignored.
  runtime::TaskOptions taskOptions;
  if (options.minLength || options.maxLength) {
    if (options.task != "copy") {
      std::fprintf(stderr,
                   "weft: error: `--min-length` and `--max-length` are for "
                   "the `copy` task only\n");
      return 1;
    }
    taskOptions.minLength = options.minLength.value_or(taskOptions.minLength);
    taskOptions.maxLength = options.maxLength.value_or(taskOptions.maxLength);
  }

  std::string error;
  std::optional<runtime::NamedArrays> arrays = runtime::generateTask(
      options.task, options.count, options.seed, &error, taskOptions);
  if (!arrays) {
    std::fprintf(stderr, "weft: error: %s\n", error.c_str());
    return 1;
  }
  std::error_code code;
  std::filesystem::create_directories(options.output, code);
  if (code) {
    std::fprintf(stderr, "weft: error: cannot create the folder `%s`: %s\n",
                 options.output.c_str(), code.message().c_str());
    return 1;
  }

  std::vector<std::string> written;
  for (const auto &[name, array] : *arrays) {
    std::string path =
        (std::filesystem::path(options.output) / (name + ".npy")).string();
    if (!runtime::writeNpy(path, array, &error)) {
      std::fprintf(stderr, "weft: error: %s\n", error.c_str());
      return 1;
    }
    written.push_back(
        fmt::format("{}.npy [{}]", name, fmt::join(array.shape, ", ")));
  }
  std::printf("wrote %s (%lld %s examples, seed %llu) to %s\n",
              fmt::format("{}", fmt::join(written, ", ")).c_str(),
              static_cast<long long>(options.count), options.task.c_str(),
              static_cast<unsigned long long>(options.seed),
              options.output.c_str());
  return 0;
}

} // namespace weft::driver
