// ANTLR's error callbacks in, located diagnostics in the project's words out.
// Parsing stops at the first syntax error of a file, so one mistake never
// turns into a cascade of follow-up errors. Private to compiler/syntax.
#pragma once

#include "compiler/support/Diagnostics.h"

#include <antlr4-runtime.h>

#include <cstdint>
#include <string>

namespace weft::syntax {

/// The source range `token` covers.
SourceRange tokenRange(const antlr4::Token &token, uint32_t fileId);

/// Reports lexer and parser errors to the DiagnosticEngine. Only the first
/// error of a file is reported; later ones are dropped as likely cascades.
class SyntaxErrorListener : public antlr4::BaseErrorListener {
public:
  SyntaxErrorListener(const SourceManager &sources, uint32_t fileId,
                      DiagnosticEngine &diags)
      : sources(sources), fileId(fileId), diags(diags) {}

  /// The parser's tokens, to place an error about a line break or the end of
  /// the file right after the last token the reader can see.
  void setTokens(const antlr4::TokenStream *stream) { tokens = stream; }

  void syntaxError(antlr4::Recognizer *recognizer,
                   antlr4::Token *offendingSymbol, size_t line,
                   size_t charPositionInLine, const std::string &message,
                   std::exception_ptr error) override;

  /// Attaches a note to the error just reported, if one was.
  void note(const antlr4::Token &token, std::string message);

  bool hasReported() const { return reported; }

private:
  SourceRange errorRange(const antlr4::Token &token) const;
  void reportBadCharacter(size_t line, size_t column);

  const SourceManager &sources;
  uint32_t fileId;
  DiagnosticEngine &diags;
  const antlr4::TokenStream *tokens = nullptr;
  bool reported = false;
};

/// Stops the parse at the first mismatch and describes it from the grammar
/// rule and the tokens that could have come next, instead of ANTLR's
/// "mismatched input" wording and its token-by-token recovery.
class SyntaxErrorStrategy : public antlr4::DefaultErrorStrategy {
public:
  explicit SyntaxErrorStrategy(SyntaxErrorListener &listener)
      : listener(listener) {}

  void reportError(antlr4::Parser *parser,
                   const antlr4::RecognitionException &error) override;
  void recover(antlr4::Parser *parser, std::exception_ptr error) override;
  antlr4::Token *recoverInline(antlr4::Parser *parser) override;
  void sync(antlr4::Parser *parser) override {}

private:
  void reportAt(antlr4::Parser *parser, antlr4::Token *found);

  SyntaxErrorListener &listener;
};

} // namespace weft::syntax
