// What the end-to-end tests of the `weft` command share: running a shell
// command, reading a file whole, a fresh scratch folder, and a small text
// to train on.
#pragma once

#include <filesystem>
#include <string>

namespace weft::test {

struct CommandResult {
  int status = -1;
  std::string output; ///< Standard output and error together.
};

/// Runs `command` with the shell and waits for it.
CommandResult runCommand(const std::string &command);

std::string readFile(const std::filesystem::path &path);

/// An empty folder under the temporary directory, named after `name` and
/// this process.
std::filesystem::path freshDir(const std::string &name);

/// Writes `dir`/text.txt, a small text of 30-odd distinct bytes for the
/// character model, and returns its path.
std::filesystem::path writeSampleText(const std::filesystem::path &dir);

} // namespace weft::test
