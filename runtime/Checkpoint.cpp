// Writing checkpoints so that a crash at any moment leaves a whole one.
#include "runtime/Checkpoint.h"

#include "runtime/Error.h"
#include "runtime/Weights.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace weft::runtime {

namespace fs = std::filesystem;

namespace {

/// The complete `step-*` folders of `dir`, oldest first.
std::vector<fs::path> checkpointFolders(const fs::path &dir) {
  std::vector<fs::path> steps;
  std::error_code ignored;
  for (const auto &entry : fs::directory_iterator(dir, ignored)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) == 0 && entry.path().extension().empty() &&
        entry.is_directory(ignored))
      steps.push_back(entry.path());
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

/// Removes every `step-*` folder but the newest `keep`, and what runs that
/// were killed while writing left half-written.
void removeOldCheckpoints(const fs::path &dir, size_t keep) {
  std::vector<fs::path> steps = checkpointFolders(dir);
  std::error_code ignored;
  for (size_t i = 0; i + keep < steps.size(); ++i)
    fs::remove_all(steps[i], ignored);
  for (const auto &entry : fs::directory_iterator(dir, ignored))
    if (entry.path().extension() == ".partial")
      fs::remove_all(entry.path(), ignored);
}

} // namespace

bool writeCheckpoint(const std::string &dir, int64_t step,
                     const NamedArrays &arrays, std::string *error,
                     const NamedArrays *state) {
  std::error_code failure;
  fs::path root(dir);
  fs::create_directories(root, failure);
  if (failure)
    return fail(error, fmt::format("cannot create the checkpoint folder "
                                   "`{}`: {}",
                                   dir, failure.message()));
  // Zero-padded so that the names sort by step.
  std::string name = fmt::format("step-{:09d}", step);
  fs::path partial = root / (name + ".partial");
  fs::remove_all(partial, failure);
  fs::create_directories(partial, failure);
  for (const auto &[arrayName, array] : arrays)
    if (!writeNpy((partial / (arrayName + ".npy")).string(), array, error))
      return false;
  if (state && !writeSafetensors((partial / "state.safetensors").string(),
                                 *state, error))
    return false;

  fs::path complete = root / name;
  fs::remove_all(complete, failure);
  fs::rename(partial, complete, failure);
  fs::path link = root / "latest.new";
  fs::remove(link, failure);
  fs::create_directory_symlink(name, link, failure);
  if (!failure)
    fs::rename(link, root / "latest", failure);
  if (failure)
    return fail(error, fmt::format("cannot write the checkpoint `{}`: {}",
                                   complete.string(), failure.message()));
  removeOldCheckpoints(root, 2);
  return true;
}

std::optional<NamedArrays> readNpyFolder(const std::string &dir,
                                         std::string *error) {
  std::error_code failure;
  if (!fs::is_directory(dir, failure)) {
    fail(error, fmt::format("`{}` is not a folder", dir));
    return std::nullopt;
  }
  NamedArrays arrays;
  for (const auto &entry : fs::directory_iterator(dir, failure)) {
    if (entry.path().extension() != ".npy")
      continue;
    std::optional<NpyArray> array = readNpy(entry.path().string(), error);
    if (!array)
      return std::nullopt;
    arrays.push_back({entry.path().stem().string(), std::move(*array)});
  }
  return arrays;
}

bool hasCheckpoint(const std::string &dir) {
  std::error_code ignored;
  return fs::exists(fs::path(dir) / "latest", ignored) ||
         !checkpointFolders(dir).empty();
}

bool readLatestCheckpoint(const std::string &dir, NamedArrays &arrays,
                          NamedArrays &state, std::string *error) {
  fs::path latest = fs::path(dir) / "latest";
  std::error_code failure;
  if (!fs::is_directory(latest, failure)) {
    // Killed between renaming a checkpoint into place and linking it: the
    // newest `step-*` folder is complete (a partial one has a suffix).
    std::vector<fs::path> steps = checkpointFolders(dir);
    if (steps.empty())
      return fail(error, fmt::format("`{}` has no checkpoint to resume from "
                                     "(no `latest`)",
                                     dir));
    latest = steps.back();
  }
  std::optional<NamedArrays> parameters = readNpyFolder(latest.string(), error);
  if (!parameters)
    return false;
  arrays = std::move(*parameters);
  std::optional<NamedArrays> read =
      readSafetensors((latest / "state.safetensors").string(), error);
  if (!read)
    return false;
  state = std::move(*read);
  return true;
}

const NpyArray *findArray(const NamedArrays &arrays, const std::string &name) {
  for (const auto &[arrayName, array] : arrays)
    if (arrayName == name)
      return &array;
  return nullptr;
}

} // namespace weft::runtime
