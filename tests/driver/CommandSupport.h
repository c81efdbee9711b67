// What the end-to-end tests of the `weft` command share: running a shell
// command, reading a file whole, and a fresh scratch folder.
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

} // namespace weft::test
