#include "CommandSupport.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace weft::test {

CommandResult runCommand(const std::string &command) {
  CommandResult result;
  FILE *pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe)
    return result;
  char chunk[4096];
  size_t count;
  while ((count = fread(chunk, 1, sizeof chunk, pipe)) > 0)
    result.output.append(chunk, count);
  int raw = pclose(pipe);
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return result;
}

std::string readFile(const fs::path &path) {
  std::ifstream stream(path);
  std::stringstream contents;
  contents << stream.rdbuf();
  return contents.str();
}

fs::path freshDir(const std::string &name) {
  fs::path dir = fs::temp_directory_path() /
                 fmt::format("weft-driver-{}-{}", name, getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::filesystem::path writeSampleText(const std::filesystem::path &dir) {
  std::filesystem::path text = dir / "text.txt";
  std::ofstream out(text);
  for (int line = 0; line < 500; ++line)
    out << "note " << line % 17 << ": keep " << line % 5
        << " lamps lit by the quay.\n";
  return text;
}

} // namespace weft::test
