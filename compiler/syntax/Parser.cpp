// The parsing stage: source text in, AST out. Lexes the whole file, marks
// the names that start reductions, parses with an error strategy that stops
// at the first mistake, then hands the parse tree to the AstBuilder.
#include "compiler/syntax/Parser.h"

#include "compiler/syntax/AstBuilder.h"
#include "compiler/syntax/SyntaxErrors.h"

#include "WeftLexer.h"
#include "WeftParser.h"

#include <antlr4-runtime.h>

#include <vector>

namespace weft::syntax {

using weft::grammar::WeftLexer;
using weft::grammar::WeftParser;

namespace {

/// Feeds the lexer one symbol per byte. ANTLR's own stream decodes UTF-8
/// and throws on invalid input; byte symbols never fail, and keep token
/// columns in bytes as the DiagnosticEngine counts them. Only comments may
/// hold bytes above 127; anywhere else they are reported as unexpected.
class ByteStream : public antlr4::ANTLRInputStream {
public:
  explicit ByteStream(const std::string &text) {
    _data.reserve(text.size() + 1);
    for (unsigned char byte : text)
      _data.push_back(byte);
    // A final line break lets the last line end like every other line.
    if (text.empty() || text.back() != '\n')
      _data.push_back('\n');
  }
};

/// For each `(` or `[`, the index of the token that closes it, or none.
std::vector<size_t> matchBrackets(const std::vector<antlr4::Token *> &tokens) {
  std::vector<size_t> closer(tokens.size(), INVALID_INDEX);
  std::vector<size_t> open;
  for (size_t i = 0; i < tokens.size(); ++i) {
    size_t type = tokens[i]->getType();
    if (type == WeftParser::LPAREN || type == WeftParser::LBRACK)
      open.push_back(i);
    else if ((type == WeftParser::RPAREN || type == WeftParser::RBRACK) &&
             !open.empty()) {
      closer[open.back()] = i;
      open.pop_back();
    }
  }
  return closer;
}

bool startsPrimary(size_t type) {
  return type == WeftParser::NAME || type == WeftParser::TOKEN ||
         type == WeftParser::NUMBER || type == WeftParser::LPAREN;
}

/// Retypes `sum`, `mean` and `max` to REDUCER where they start a reduction:
/// followed by a parenthesised list and then something that starts an
/// operand. `sum(i, j) w[i, j]` reduces; `sum(x) + 1` calls `sum`.
void markReductions(const std::vector<antlr4::Token *> &tokens) {
  std::vector<size_t> closer = matchBrackets(tokens);
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    antlr4::Token *token = tokens[i];
    if (token->getType() != WeftParser::NAME ||
        tokens[i + 1]->getType() != WeftParser::LPAREN)
      continue;
    std::string text = token->getText();
    if (text != "sum" && text != "mean" && text != "max")
      continue;
    size_t close = closer[i + 1];
    if (close == INVALID_INDEX || close + 1 >= tokens.size() ||
        !startsPrimary(tokens[close + 1]->getType()))
      continue;
    if (auto *writable = dynamic_cast<antlr4::WritableToken *>(token))
      writable->setType(WeftParser::REDUCER);
  }
}

} // namespace

std::unique_ptr<ast::Module> parseModule(const SourceManager &sources,
                                         uint32_t fileId,
                                         DiagnosticEngine &diags) {
  unsigned errorsBefore = diags.errorCount();
  SyntaxErrorListener listener(sources, fileId, diags);

  // Lex everything first: reductions are told from calls by looking past
  // the closing parenthesis, and a stray character stops the file here.
  ByteStream input(sources.text(fileId));
  WeftLexer lexer(&input);
  lexer.removeErrorListeners();
  lexer.addErrorListener(&listener);
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();
  if (listener.hasReported())
    return nullptr;
  markReductions(tokens.getTokens());

  WeftParser parser(&tokens);
  parser.removeErrorListeners();
  parser.addErrorListener(&listener);
  parser.setErrorHandler(std::make_shared<SyntaxErrorStrategy>(listener));
  listener.setTokens(&tokens);
  WeftParser::ModuleContext *tree = nullptr;
  try {
    tree = parser.module();
  } catch (const antlr4::ParseCancellationException &) {
    return nullptr; // The error strategy has reported why.
  } catch (const std::exception &error) {
    diags.errorWithoutLocation(std::string("internal error in the parser: ") +
                               error.what());
    return nullptr;
  }

  std::unique_ptr<ast::Module> module = AstBuilder(fileId, diags).build(tree);
  if (diags.errorCount() != errorsBefore)
    return nullptr;
  return module;
}

} // namespace weft::syntax
