// Source text bookkeeping and the formatting of located diagnostics.
#include "compiler/support/Diagnostics.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace weft {

int SourceManager::addFile(const std::string &path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream)
    return -1;
  std::ostringstream contents;
  contents << stream.rdbuf();
  if (stream.bad())
    return -1;
  return addBuffer(path, contents.str());
}

int SourceManager::addBuffer(const std::string &name, std::string text) {
  File file{name, std::move(text), {0}};
  for (size_t i = 0; i < file.text.size(); ++i)
    if (file.text[i] == '\n')
      file.lineStarts.push_back(i + 1);
  files.push_back(std::move(file));
  return static_cast<int>(files.size() - 1);
}

const std::string &SourceManager::path(uint32_t fileId) const {
  return files.at(fileId).path;
}

const std::string &SourceManager::text(uint32_t fileId) const {
  return files.at(fileId).text;
}

std::string_view SourceManager::lineText(uint32_t fileId, uint32_t line) const {
  const File &file = files.at(fileId);
  if (line == 0 || line > file.lineStarts.size())
    return {};
  size_t start = file.lineStarts[line - 1];
  size_t stop = file.text.find('\n', start);
  if (stop == std::string::npos)
    stop = file.text.size();
  if (stop > start && file.text[stop - 1] == '\r')
    --stop;
  return std::string_view(file.text).substr(start, stop - start);
}

void DiagnosticEngine::error(SourceRange range, std::string message) {
  report(Severity::Error, range, std::move(message));
}

void DiagnosticEngine::warning(SourceRange range, std::string message) {
  report(Severity::Warning, range, std::move(message));
}

void DiagnosticEngine::note(SourceRange range, std::string message) {
  report(Severity::Note, range, std::move(message));
}

void DiagnosticEngine::errorWithoutLocation(std::string message) {
  report(Severity::Error, SourceRange{}, std::move(message));
}

void DiagnosticEngine::report(Severity severity, SourceRange range,
                              std::string message) {
  // A repeated diagnostic is dropped with its notes.
  if (severity == Severity::Note) {
    if (skippingNotes)
      return;
  } else {
    std::string key =
        fmt::format("{}:{}:{}:{}:{}", range.begin.fileId, range.begin.line,
                    range.begin.column, static_cast<int>(severity), message);
    skippingNotes = !reported.insert(key).second;
    if (skippingNotes)
      return;
  }
  if (severity == Severity::Error)
    ++errors;
  diagnostics.push_back({severity, range, std::move(message)});
  if (printImmediately)
    std::fputs(format(diagnostics.back()).c_str(), stderr);
}

static const char *severityName(Severity severity) {
  switch (severity) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "error";
}

std::string DiagnosticEngine::format(const Diagnostic &diagnostic) const {
  const SourceRange &range = diagnostic.range;
  if (!range.isValid())
    return fmt::format("weft: {}: {}\n", severityName(diagnostic.severity),
                       diagnostic.message);

  const SourceLocation &begin = range.begin;
  std::string text = fmt::format(
      "{}:{}:{}: {}: {}\n", sources.path(begin.fileId), begin.line,
      begin.column, severityName(diagnostic.severity), diagnostic.message);

  // Show the line, then a caret under the first character of the span and
  // tildes under the rest of it when it stays on this line.
  // Control bytes (as in a binary file) would garble the terminal.
  std::string line(sources.lineText(begin.fileId, begin.line));
  for (char &c : line)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
      c = '?';
  text += line + "\n";
  std::string marker;
  for (uint32_t col = 1; col < begin.column && col <= line.size(); ++col)
    marker += line[col - 1] == '\t' ? '\t' : ' ';
  marker += '^';
  if (range.end.line == begin.line && range.end.column > begin.column + 1)
    marker.append(range.end.column - begin.column - 1, '~');
  text += marker + "\n";
  return text;
}

std::string DiagnosticEngine::formatAll() const {
  std::string text;
  for (const Diagnostic &diagnostic : diagnostics)
    text += format(diagnostic);
  return text;
}

} // namespace weft
