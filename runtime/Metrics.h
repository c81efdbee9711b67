// Training metrics as JSON lines: takes one JSON object per event (a step's
// loss, an evaluation) and appends it to a file as one flushed line, so a
// plotting script can follow the run while it trains.
#pragma once

#include <fstream>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace weft::runtime {

class JsonLinesWriter {
public:
  /// Opens `path` for writing, truncating it unless `append`; fails with a
  /// message naming the path when it cannot be opened.
  static std::optional<JsonLinesWriter>
  open(const std::string &path, std::string *error, bool append = false);

  /// Writes `record` compactly on one line and flushes it. Invalid UTF-8 in
  /// strings is replaced rather than thrown.
  bool write(const nlohmann::json &record, std::string *error);

  const std::string &path() const { return filePath; }

private:
  JsonLinesWriter(std::string path, std::ofstream stream)
      : filePath(std::move(path)), stream(std::move(stream)) {}

  std::string filePath;
  std::ofstream stream;
};

} // namespace weft::runtime
