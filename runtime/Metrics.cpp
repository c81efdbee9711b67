// The JSON-lines writer: one `dump()` per record, a newline, a flush.

#include "runtime/Metrics.h"
#include "runtime/Error.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace weft::runtime {

std::optional<JsonLinesWriter> JsonLinesWriter::open(const std::string &path,
                                                     std::string *error,
                                                     bool append) {
  std::ofstream stream(path, append ? std::ios::app : std::ios::trunc);
  if (!stream) {
    fail(error, fmt::format("{}: cannot open metrics file for writing: {}",
                            path, std::strerror(errno)));
    return std::nullopt;
  }
  return JsonLinesWriter(path, std::move(stream));
}

bool JsonLinesWriter::write(const nlohmann::json &record, std::string *error) {
  // `replace` keeps dump() from throwing on strings that are not UTF-8.
  std::string line =
      record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  stream << line << '\n';
  stream.flush();
  if (!stream)
    return fail(error, fmt::format("{}: writing metrics failed", filePath));
  return true;
}

} // namespace weft::runtime
