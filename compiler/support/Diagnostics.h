// Source files and located diagnostics. Every stage reports problems through
// one DiagnosticEngine, which prints `file:line:col: error: message`, the
// source line, a caret under the span, and any notes.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

/// A position in a source file; lines and columns count from 1.
struct SourceLocation {
  uint32_t fileId = 0;
  uint32_t line = 0;
  uint32_t column = 0;

  bool isValid() const { return line != 0; }
};

/// A half-open span of source text on one or more lines.
struct SourceRange {
  SourceLocation begin;
  SourceLocation end; ///< One past the last character.

  bool isValid() const { return begin.isValid(); }
};

/// Owns the text of every file read during one compilation.
class SourceManager {
public:
  /// Reads a file from disk; returns its id, or -1 if it cannot be read.
  int addFile(const std::string &path);
  /// Registers text that did not come from disk (tests, fuzzing).
  int addBuffer(const std::string &name, std::string text);

  const std::string &path(uint32_t fileId) const;
  const std::string &text(uint32_t fileId) const;
  /// The text of one line, without its line break.
  std::string_view lineText(uint32_t fileId, uint32_t line) const;

private:
  struct File {
    std::string path;
    std::string text;
    std::vector<size_t> lineStarts;
  };
  std::vector<File> files;
};

enum class Severity { Error, Warning, Note };

struct Diagnostic {
  Severity severity;
  SourceRange range;
  std::string message;
};

/// Collects and prints diagnostics. A stage that reports an error returns a
/// failure result; the driver stops after the stage and exits with status 1.
class DiagnosticEngine {
public:
  explicit DiagnosticEngine(const SourceManager &sources) : sources(sources) {}

  void error(SourceRange range, std::string message);
  void warning(SourceRange range, std::string message);
  /// A note attached to the diagnostic reported just before it.
  void note(SourceRange range, std::string message);
  /// An error with no source position (a missing file, a bad option).
  void errorWithoutLocation(std::string message);

  unsigned errorCount() const { return errors; }
  bool hasErrors() const { return errors != 0; }

  /// Formats one diagnostic with its source line and caret.
  std::string format(const Diagnostic &diagnostic) const;
  /// Every diagnostic reported so far, formatted, in order.
  std::string formatAll() const;
  const std::vector<Diagnostic> &all() const { return diagnostics; }
  /// Writes each diagnostic to stderr as it is reported (the default).
  void setPrintImmediately(bool value) { printImmediately = value; }

private:
  void report(Severity severity, SourceRange range, std::string message);

  const SourceManager &sources;
  std::vector<Diagnostic> diagnostics;
  /// Errors and warnings already reported, as `file:line:col:message`: a
  /// cell checked on its own and again where it is called would otherwise
  /// report the same problem twice.
  std::set<std::string> reported;
  bool skippingNotes = false;
  unsigned errors = 0;
  bool printImmediately = true;
};

} // namespace weft
