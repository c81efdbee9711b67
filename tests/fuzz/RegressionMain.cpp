// Replays saved inputs through the fuzz target's entry function without
// libFuzzer, so the normal build checks that none of them crashes again.
// Arguments are files or folders (searched recursively); an input passes
// when the entry function returns.
//
//   fuzz_regressions [--only-weft] [--exclude FOLDER]... FILE_OR_FOLDER...
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

namespace fs = std::filesystem;

/// Which files of a folder are inputs.
struct InputFilter {
  /// Only files with this extension, when not empty; a folder of saved
  /// fuzzer findings holds inputs of any name.
  std::string suffix;
  /// Folders whose files are left out.
  std::vector<fs::path> excluded;

  bool accepts(const fs::directory_entry &entry) const {
    if (!entry.is_regular_file() ||
        entry.path().filename().string().front() == '.')
      return false;
    if (!suffix.empty() && entry.path().extension() != suffix)
      return false;
    fs::path folder = fs::weakly_canonical(entry.path().parent_path());
    return std::none_of(
        excluded.begin(), excluded.end(), [&](const fs::path &excludedFolder) {
          auto [mismatch, _] =
              std::mismatch(excludedFolder.begin(), excludedFolder.end(),
                            folder.begin(), folder.end());
          return mismatch == excludedFolder.end();
        });
  }
};

/// The file named on the command line, or a folder's inputs, in a stable
/// order.
std::vector<fs::path> collectInputs(const fs::path &argument,
                                    const InputFilter &filter) {
  std::vector<fs::path> inputs;
  if (!fs::is_directory(argument)) {
    inputs.push_back(argument);
    return inputs;
  }
  for (const fs::directory_entry &entry :
       fs::recursive_directory_iterator(argument))
    if (filter.accepts(entry))
      inputs.push_back(entry.path());
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

bool readBytes(const fs::path &path, std::string &bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  bytes.assign(std::istreambuf_iterator<char>(in),
               std::istreambuf_iterator<char>());
  return !in.bad();
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s [--only-weft] [--exclude FOLDER]... "
                 "FILE_OR_FOLDER...\n"
                 "runs every input through the front-end fuzz target\n",
                 argv[0]);
    return 1;
  }
  InputFilter filter;
  int replayed = 0;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--only-weft") {
      filter.suffix = ".weft";
      continue;
    }
    if (argument == "--exclude" && i + 1 < argc) {
      filter.excluded.push_back(fs::weakly_canonical(argv[++i]));
      continue;
    }
    if (!fs::exists(argument)) {
      std::fprintf(stderr, "error: `%s` does not exist\n", argument.c_str());
      return 1;
    }
    for (const fs::path &input : collectInputs(argument, filter)) {
      std::string bytes;
      if (!readBytes(input, bytes)) {
        std::fprintf(stderr, "error: cannot read `%s`\n", input.c_str());
        return 1;
      }
      // Named before it runs, so a crash shows which input caused it.
      std::fprintf(stderr, "replaying %s\n", input.c_str());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.data()),
                             bytes.size());
      ++replayed;
    }
  }
  std::printf("%d inputs replayed without a crash\n", replayed);
  return 0;
}
