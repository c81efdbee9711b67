// The surface syntax of Weft: characters in, a parse tree of imports, cells
// and models out. compiler/syntax turns the tree into the AST; the tree
// itself never leaves that stage.
grammar Weft;

// `sum`, `mean` and `max` lex as NAME. Before parsing, compiler/syntax
// retypes one to REDUCER when it starts a reduction (`sum(t) x[t]`), so the
// parser can tell `sum(i) body` from the call `sum(x)` with one token.
tokens { REDUCER }

@lexer::members {
  /// How many `(` and `[` are open; line breaks inside them are skipped so
  /// that long expressions can wrap.
  int bracketDepth = 0;
}

@parser::members {
  /// The deepest nesting of expressions accepted: the parser and every
  /// later stage recurse once per level.
  static constexpr int maxNesting = 200;
  int nesting = 0;

  /// Counts one level of nesting; stops the parse with a located error when
  /// the input nests too deeply.
  void enterNested() {
    if (++nesting <= maxNesting)
      return;
    notifyErrorListeners(getCurrentToken(), "expression nested too deeply",
                         nullptr);
    throw antlr4::ParseCancellationException();
  }
  void exitNested() { --nesting; }
}

// ---------------------------------------------------------------------------
// Files and declarations

module : item? (sep item?)* EOF ;

item : importDecl | cellDecl | modelDecl ;

sep : NEWLINE | ';' ;

importDecl : 'import' name ('.' name)* ;

cellDecl
  : 'cell' name '(' (cellArg (',' cellArg)*)? ')' '->' cellResults body ;

cellArg : name ':' type ;

cellResults : type | '(' resultPart (',' resultPart)* ')' ;

resultPart : (name ':')? type ;

modelDecl : 'model' name ('(' (sizeParam (',' sizeParam)*)? ')')? body ;

sizeParam : name ('=' expr)? ;

body : NEWLINE* '{' stmt? (sep stmt?)* '}' ;

// ---------------------------------------------------------------------------
// Statements

stmt : paramStmt | inputStmt | timeStmt | equation | returnStmt ;

paramStmt : 'param' declared (',' declared)* ('=' initializer)? ;

declared : name ':' type ;

initializer : name ('(' (signedNumber (',' signedNumber)*)? ')')? ;

signedNumber : '-'? NUMBER ;

// `input x[t]: [I]` is a stream over the time index `t`; `input h0[L]: [H]`
// stacks L values (a size or a number), read as `h0[0]`, `h0[1]`, ...
inputStmt : 'input' name ('[' sumExpr ']')? ':' type ;

timeStmt : 'time' name '<' sumExpr ;

equation : 'output'? targets '=' expr ;

targets : target | '(' target (',' target)* ')' ;

// `h[t]`, `h[-1]`, or index notation `y[k]`, `a[i < T, j < T]`.
target : name ('[' expr (',' expr)* ']')? ;

returnStmt : 'return' expr ;

// `[M, W] token(V)` is a matrix of token ids.
// `length(t)` is an input's number of valid steps of the time index `t`.
type : '[' (expr (',' expr)*)? ']' ('token' '(' expr ')')?
     | 'token' '(' expr ')'
     | 'length' '(' name ')' ;

// ---------------------------------------------------------------------------
// Expressions, loosest first

// A comparison gives 1 where it holds and 0 elsewhere; it does not chain.
expr : sumExpr (compareOp sumExpr)? ;

compareOp : '<' | '<=' | '>' | '>=' | '==' | '!=' ;

sumExpr : mulExpr (addOp mulExpr)* ;

addOp : '+' | '-' ;

mulExpr : unaryExpr (mulOp unaryExpr)* ;

mulOp : '*' | '/' | '@' ;

unaryExpr
@init { enterNested(); }
@after { exitNested(); }
  : '-' unaryExpr
  | reduction
  | postfixExpr
  ;

// The body binds like a product and starts without a sign, so
// `sum(i) a * b + c` is `(sum(i) a * b) + c`.
reduction
@init { enterNested(); }
@after { exitNested(); }
  : REDUCER '(' binder (',' binder)* ')' reduceBody
  ;

binder : name ('<' sumExpr)? ;

reduceBody : reduction | postfixExpr (mulOp unaryExpr)* ;

postfixExpr : primary (callSuffix | indexSuffix)* ;

callSuffix : '(' (callArg (',' callArg)*)? ')' ;

callArg : name '=' expr | expr ;

indexSuffix : '[' indexArg (',' indexArg)* ']' ;

// `x[t]`, a slice `W[a:b]`, or the causal prefix `h[..t]` of a stream.
indexArg : expr (':' expr?)? | ':' expr? | '..' expr ;

primary : NUMBER | name | '(' expr (',' expr)* ')' ;

// `token` and `length` are keywords only inside a type; elsewhere they are
// plain names.
name : NAME | 'token' | 'length' ;

// ---------------------------------------------------------------------------
// Tokens

IMPORT : 'import' ;
CELL : 'cell' ;
MODEL : 'model' ;
PARAM : 'param' ;
INPUT : 'input' ;
TIME : 'time' ;
OUTPUT : 'output' ;
RETURN : 'return' ;
TOKEN : 'token' ;
LENGTH : 'length' ;

ARROW : '->' ;
LPAREN : '(' { ++bracketDepth; } ;
RPAREN : ')' { if (bracketDepth > 0) --bracketDepth; } ;
LBRACK : '[' { ++bracketDepth; } ;
RBRACK : ']' { if (bracketDepth > 0) --bracketDepth; } ;
LBRACE : '{' ;
RBRACE : '}' ;
COMMA : ',' ;
COLON : ':' ;
SEMI : ';' ;
DOTDOT : '..' ;
DOT : '.' ;
ASSIGN : '=' ;
LESS : '<' ;
LESS_EQUAL : '<=' ;
GREATER : '>' ;
GREATER_EQUAL : '>=' ;
EQUAL : '==' ;
NOT_EQUAL : '!=' ;
PLUS : '+' ;
MINUS : '-' ;
STAR : '*' ;
SLASH : '/' ;
AT : '@' ;

NUMBER : DIGIT+ ('.' DIGIT+)? ([eE] [+-]? DIGIT+)? ;
NAME : [a-zA-Z_] [a-zA-Z_0-9]* ;

NEWLINE : '\r'? '\n' { if (bracketDepth > 0) skip(); } ;
SPACE : [ \t\r\f]+ -> skip ;
COMMENT : '#' ~[\r\n]* -> skip ;

fragment DIGIT : [0-9] ;
