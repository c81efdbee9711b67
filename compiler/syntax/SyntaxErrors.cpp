// Syntax errors in the project's words: the grammar rule that failed and the
// tokens it would have accepted in, one located diagnostic out.
#include "compiler/syntax/SyntaxErrors.h"

#include "WeftParser.h"

#include <fmt/format.h>

#include <vector>

namespace weft::syntax {

using antlr4::Token;
using weft::grammar::WeftParser;

SourceRange tokenRange(const Token &token, uint32_t fileId) {
  // The character stream holds one symbol per byte, so ANTLR's positions
  // are byte columns, as the DiagnosticEngine expects.
  auto line = static_cast<uint32_t>(token.getLine());
  auto column = static_cast<uint32_t>(token.getCharPositionInLine()) + 1;
  size_t length = 1;
  if (token.getType() != Token::EOF &&
      token.getStopIndex() >= token.getStartIndex())
    length = token.getStopIndex() - token.getStartIndex() + 1;
  return {{fileId, line, column},
          {fileId, line, column + static_cast<uint32_t>(length)}};
}

namespace {

/// How a token reads in a message: its text in backticks, or words for the
/// tokens a reader cannot see.
std::string describeFound(const Token &token) {
  if (token.getType() == Token::EOF)
    return "end of file";
  if (token.getType() == WeftParser::NEWLINE)
    return "end of line";
  return fmt::format("`{}`", token.getText());
}

/// How an expected token type reads in a list of alternatives.
std::string describeExpected(size_t type, const antlr4::dfa::Vocabulary &v) {
  switch (type) {
  case Token::EOF:
    return "end of file";
  case WeftParser::NEWLINE:
    return "end of line";
  case WeftParser::NAME:
    return "a name";
  case WeftParser::NUMBER:
    return "a number";
  }
  std::string literal = v.getLiteralName(type); // quoted: "'('"
  if (literal.size() >= 2)
    return fmt::format("`{}`", literal.substr(1, literal.size() - 2));
  return v.getSymbolicName(type);
}

/// "a", "a or b", "a, b or c".
std::string joinAlternatives(const std::vector<std::string> &items) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      text += i + 1 == items.size() ? " or " : ", ";
    text += items[i];
  }
  return text;
}

/// The tokens the parser could have accepted, as words. REDUCER and the
/// `token` and `length` keywords are all spelt as names, so they fold into
/// "a name".
std::vector<std::string> expectedWords(const antlr4::misc::IntervalSet &set,
                                       const antlr4::dfa::Vocabulary &v) {
  std::vector<std::string> words;
  bool hasName = set.contains(size_t{WeftParser::NAME});
  for (ssize_t type : set.toList()) {
    bool keywordName = type == WeftParser::TOKEN || type == WeftParser::LENGTH;
    if (type == WeftParser::REDUCER || (hasName && keywordName))
      continue;
    words.push_back(describeExpected(static_cast<size_t>(type), v));
  }
  return words;
}

/// A token that reads like an operator: at the start of an expression it is
/// unexpected rather than missing something.
bool isOperator(size_t type) {
  switch (type) {
  case WeftParser::AT:
  case WeftParser::STAR:
  case WeftParser::SLASH:
  case WeftParser::PLUS:
  case WeftParser::ASSIGN:
  case WeftParser::LESS:
  case WeftParser::COLON:
  case WeftParser::DOT:
  case WeftParser::ARROW:
    return true;
  }
  return false;
}

/// What a closing bracket would have closed, by the rule that wanted it.
const char *closerPurpose(size_t closer, size_t rule) {
  if (closer == WeftParser::RPAREN) {
    switch (rule) {
    case WeftParser::RuleCallSuffix:
      return "to close the call";
    case WeftParser::RulePrimary:
      return "to close the parentheses";
    case WeftParser::RuleReduction:
      return "to close the reduction's index list";
    case WeftParser::RuleCellDecl:
      return "to close the argument list";
    case WeftParser::RuleModelDecl:
      return "to close the size parameters";
    case WeftParser::RuleCellResults:
      return "to close the result list";
    case WeftParser::RuleType:
      return "to close `token(`";
    case WeftParser::RuleInitializer:
      return "to close the initializer's arguments";
    case WeftParser::RuleTargets:
      return "to close the targets";
    }
  }
  if (closer == WeftParser::RBRACK) {
    switch (rule) {
    case WeftParser::RuleIndexSuffix:
      return "to close the index";
    case WeftParser::RuleType:
      return "to close the shape";
    case WeftParser::RuleTarget:
      return "to close the time index";
    case WeftParser::RuleInputStmt:
      return "to close the stream index";
    }
  }
  if (closer == WeftParser::RBRACE && rule == WeftParser::RuleBody)
    return "to close the body";
  return nullptr;
}

size_t openerOf(size_t closer) {
  switch (closer) {
  case WeftParser::RPAREN:
    return WeftParser::LPAREN;
  case WeftParser::RBRACK:
    return WeftParser::LBRACK;
  case WeftParser::RBRACE:
    return WeftParser::LBRACE;
  }
  return Token::INVALID_TYPE;
}

/// The first token of type `type` matched directly by `ctx`, if any.
Token *childToken(antlr4::ParserRuleContext *ctx, size_t type) {
  for (antlr4::tree::ParseTree *child : ctx->children)
    if (auto *terminal = dynamic_cast<antlr4::tree::TerminalNode *>(child))
      if (terminal->getSymbol()->getType() == type)
        return terminal->getSymbol();
  return nullptr;
}

/// The token before `token` in the stream, or null at the start.
Token *tokenBefore(antlr4::Parser *parser, const Token &token) {
  size_t index = token.getTokenIndex();
  if (index == 0 || index == INVALID_INDEX)
    return nullptr;
  return parser->getTokenStream()->get(index - 1);
}

bool endsLine(const Token *token) {
  return !token || token->getType() == WeftParser::NEWLINE ||
         token->getType() == WeftParser::SEMI;
}

/// The name of the cell or model whose body `body` is.
std::string ownerName(antlr4::ParserRuleContext *body) {
  auto *parent = body->parent;
  if (auto *cell = dynamic_cast<WeftParser::CellDeclContext *>(parent))
    return cell->name()->getText();
  if (auto *model = dynamic_cast<WeftParser::ModelDeclContext *>(parent))
    return model->name()->getText();
  return "";
}

/// A message, and the opening bracket a missing closer would have matched.
struct SyntaxMessage {
  std::string text;
  Token *opener = nullptr;
};

SyntaxMessage missingCloser(antlr4::ParserRuleContext *ctx, size_t closer,
                            const Token &found,
                            const antlr4::dfa::Vocabulary &v) {
  size_t rule = ctx->getRuleIndex();
  std::string purpose;
  if (const char *words = closerPurpose(closer, rule))
    purpose = std::string(" ") + words;
  if (rule == WeftParser::RuleBody && !ownerName(ctx).empty())
    purpose += fmt::format(" of `{}`", ownerName(ctx));
  return {fmt::format("expected {}{}, found {}", describeExpected(closer, v),
                      purpose, describeFound(found)),
          childToken(ctx, openerOf(closer))};
}

/// Errors between the braces of a body: a missing `{`, something that does
/// not start a statement, or a statement that runs on.
SyntaxMessage bodyError(antlr4::Parser *parser, antlr4::ParserRuleContext *ctx,
                        const Token &found) {
  std::string owner = ownerName(ctx);
  if (!childToken(ctx, WeftParser::LBRACE))
    return {fmt::format("expected `{{` to start the body of `{}`, found {}",
                        owner, describeFound(found))};
  if (found.getType() == Token::EOF)
    return missingCloser(ctx, WeftParser::RBRACE, found,
                         parser->getVocabulary());
  Token *previous = tokenBefore(parser, found);
  if (endsLine(previous) || previous->getType() == WeftParser::LBRACE)
    return {
        fmt::format("expected a statement, found {}", describeFound(found))};
  return {fmt::format("expected end of line after the statement, found {}",
                      describeFound(found))};
}

/// Errors between declarations at the top level of a file.
SyntaxMessage moduleError(antlr4::Parser *parser,
                          antlr4::ParserRuleContext *ctx, const Token &found) {
  Token *previous = tokenBefore(parser, found);
  if (endsLine(previous))
    return {fmt::format("expected `cell`, `model` or `import`, found {}",
                        describeFound(found))};
  auto *module = static_cast<WeftParser::ModuleContext *>(ctx);
  bool afterImport =
      !module->item().empty() && module->item().back()->importDecl();
  return {fmt::format("expected end of line after the {}, found {}",
                      afterImport ? "import" : "declaration",
                      describeFound(found))};
}

/// The tokens that start an expression are all expected: nothing of it has
/// been read yet.
bool wantsExpression(const antlr4::misc::IntervalSet &expected) {
  return expected.contains(size_t{WeftParser::NUMBER}) &&
         expected.contains(size_t{WeftParser::LPAREN});
}

SyntaxMessage expressionError(const Token &found) {
  if (isOperator(found.getType()))
    return {fmt::format("unexpected {} at the start of an expression",
                        describeFound(found))};
  return {
      fmt::format("expected an expression, found {}", describeFound(found))};
}

/// What the first item of a bracketed list in `rule` is, for an error right
/// after its opening bracket; null where the list has no optional items.
const char *firstListItem(size_t rule) {
  switch (rule) {
  case WeftParser::RuleCallSuffix:
    return "an expression";
  case WeftParser::RuleInitializer:
    return "a number";
  case WeftParser::RuleCellDecl:
  case WeftParser::RuleModelDecl:
    return "a name";
  case WeftParser::RuleType:
    return "a size";
  }
  return nullptr;
}

/// An error just after an opening bracket whose list may be empty: the
/// reader most likely began an item, not forgot to close the list.
bool atListStart(antlr4::Parser *parser, antlr4::ParserRuleContext *ctx,
                 const Token &found) {
  Token *previous = tokenBefore(parser, found);
  return previous && firstListItem(ctx->getRuleIndex()) &&
         (previous->getType() == WeftParser::LPAREN ||
          previous->getType() == WeftParser::LBRACK) &&
         previous->getTokenIndex() >= ctx->start->getTokenIndex();
}

SyntaxMessage describeError(antlr4::Parser *parser, const Token &found) {
  antlr4::ParserRuleContext *ctx = parser->getContext();
  size_t rule = ctx->getRuleIndex();
  const antlr4::dfa::Vocabulary &vocabulary = parser->getVocabulary();
  antlr4::misc::IntervalSet expected = parser->getExpectedTokens();
  bool atRuleStart = ctx->start == &found;

  if (rule == WeftParser::RuleBody)
    return bodyError(parser, ctx, found);
  if (rule == WeftParser::RuleModule)
    return moduleError(parser, ctx, found);
  if (atRuleStart && wantsExpression(expected))
    return expressionError(found);
  if (rule == WeftParser::RuleName &&
      dynamic_cast<WeftParser::InitializerContext *>(ctx->parent))
    return {fmt::format("expected an initializer such as `glorot` or "
                        "`normal(0, 0.1)`, found {}",
                        describeFound(found))};
  if (atListStart(parser, ctx, found)) {
    if (rule == WeftParser::RuleCallSuffix && isOperator(found.getType()))
      return expressionError(found);
    return {fmt::format("expected {}, found {}", firstListItem(rule),
                        describeFound(found))};
  }
  if (atRuleStart &&
      (rule == WeftParser::RuleType || rule == WeftParser::RuleCellResults))
    return {fmt::format("expected a type such as `[H]` or `token(V)`, "
                        "found {}",
                        describeFound(found))};

  std::vector<std::string> words = expectedWords(expected, vocabulary);
  if (expected.size() == 1 &&
      openerOf(expected.getSingleElement()) != Token::INVALID_TYPE)
    return missingCloser(ctx, expected.getSingleElement(), found, vocabulary);
  if (words.size() == 1)
    return {
        fmt::format("expected {}, found {}", words[0], describeFound(found))};
  if (words.empty())
    return {fmt::format("unexpected {}", describeFound(found))};
  return {fmt::format("unexpected {}; expected {}", describeFound(found),
                      joinAlternatives(words))};
}

/// How a stray byte reads in a message: itself when printable, a whole
/// UTF-8 character when it starts one, `\xNN` otherwise.
std::string describeCharacter(std::string_view text) {
  auto lead = static_cast<unsigned char>(text[0]);
  if (lead > 0x20 && lead < 0x7f)
    return std::string(1, text[0]);
  size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
  bool validUtf8 = length != 0 && length <= text.size() && lead < 0xf5;
  for (size_t i = 1; validUtf8 && i < length; ++i)
    validUtf8 = (static_cast<unsigned char>(text[i]) & 0xc0) == 0x80;
  if (validUtf8 && text.substr(0, length) == "\xEF\xBB\xBF")
    return "U+FEFF, a byte-order mark";
  if (validUtf8)
    return std::string(text.substr(0, length));
  return fmt::format("\\x{:02X}", lead);
}

} // namespace

void SyntaxErrorListener::syntaxError(antlr4::Recognizer *recognizer,
                                      Token *offendingSymbol, size_t line,
                                      size_t charPositionInLine,
                                      const std::string &message,
                                      std::exception_ptr error) {
  if (reported)
    return;
  reported = true;
  // The lexer names no token: the error is a character no token starts with.
  if (!offendingSymbol)
    return reportBadCharacter(line, charPositionInLine);
  diags.error(errorRange(*offendingSymbol), message);
}

void SyntaxErrorListener::note(const Token &token, std::string message) {
  if (reported)
    diags.note(tokenRange(token, fileId), std::move(message));
}

SourceRange SyntaxErrorListener::errorRange(const Token &token) const {
  size_t type = token.getType();
  if ((type != WeftParser::NEWLINE && type != Token::EOF) || !tokens)
    return tokenRange(token, fileId);

  // A missing thing at the end of a line is shown just after the last
  // visible token, not after any trailing comment or blank lines.
  for (size_t index = token.getTokenIndex(); index-- > 0;) {
    const Token *previous = tokens->get(index);
    if (previous->getType() == WeftParser::NEWLINE)
      continue;
    SourceLocation end = tokenRange(*previous, fileId).end;
    return {end, {fileId, end.line, end.column + 1}};
  }
  return {{fileId, 1, 1}, {fileId, 1, 2}};
}

void SyntaxErrorListener::reportBadCharacter(size_t line, size_t column) {
  std::string_view text = sources.lineText(fileId, static_cast<uint32_t>(line));
  SourceLocation begin{fileId, static_cast<uint32_t>(line),
                       static_cast<uint32_t>(column) + 1};
  SourceRange range{begin, {fileId, begin.line, begin.column + 1}};
  if (column >= text.size())
    return diags.error(range, "unexpected character");
  if (text[column] == '`')
    return diags.error(range, "unexpected backtick");
  diags.error(range, fmt::format("unexpected character `{}`",
                                 describeCharacter(text.substr(column))));
}

void SyntaxErrorStrategy::reportError(
    antlr4::Parser *parser, const antlr4::RecognitionException &error) {
  Token *found = error.getOffendingToken();
  reportAt(parser, found ? found : parser->getCurrentToken());
}

void SyntaxErrorStrategy::recover(antlr4::Parser *parser,
                                  std::exception_ptr error) {
  throw antlr4::ParseCancellationException();
}

Token *SyntaxErrorStrategy::recoverInline(antlr4::Parser *parser) {
  reportAt(parser, parser->getCurrentToken());
  throw antlr4::ParseCancellationException();
}

void SyntaxErrorStrategy::reportAt(antlr4::Parser *parser, Token *found) {
  SyntaxMessage message = describeError(parser, *found);
  parser->notifyErrorListeners(found, message.text, nullptr);

  // Point at the bracket left open when it is on an earlier line.
  if (message.opener && message.opener->getLine() != found->getLine())
    listener.note(*message.opener,
                  fmt::format("to match this `{}`", message.opener->getText()));
}

} // namespace weft::syntax
