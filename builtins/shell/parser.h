// Internals of the shell analyzer, shared by lexer.cc (characters to tokens),
// expand.cc (quoting and expansions inside words), parser.cc and compound.cc
// (tokens to commands: lists, pipelines, compound commands), unwrap.cc (a
// simple command's words to SimpleCommands: wrappers, sh -c, eval, env -S,
// xargs, find -exec) and invocation.cc (IsInvocation). Not part of the public
// interface.
//
// One Parser reads one text. Substitutions written in that text ($(..),
// <(..), ${..}, $((..))) are parsed by the same Parser, recursively; texts
// derived from it (backquote bodies, sh -c scripts, eval arguments, unquoted
// here-document bodies) get a new Parser over the derived text. All Parsers of
// one Analyze() call share a Context that holds the errors and the limits.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "builtins/shell/shell.h"

namespace reins::shell::internal {

using Commands = std::vector<SimpleCommand>;

// One shell word.
struct Word {
  std::string value;      // quote-removed; expansions kept as written ("$HOME", "$(id)")
  std::string raw;        // the text as it appears in the source
  size_t offset = 0;      // of raw in the source
  bool quoted = false;    // contains quoting (', ", \, $'..', $"..")
  bool expanded = false;  // contains a parameter, command or arithmetic expansion
  bool dynamic = false;   // expanded, or an unquoted glob or brace pattern
  std::string error;      // the first unterminated construct inside it, if any
  Commands nested;        // commands found in its substitutions, in order

  // Eligible to be a reserved word ("if", "{", ...): no quoting, no expansion.
  bool plain() const { return !quoted && !expanded; }
};

enum class TokenKind { kWord, kOp, kRedirect, kNewline, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string op;  // kOp: ";" "&" "&&" "||" "|" "|&" "(" ")" ";;" ";&" ";;&"; kRedirect: the op
  int fd = -1;     // kRedirect: explicit fd number
  Word word;       // kWord: the word; kRedirect: the target; kNewline: commands found in unquoted
                   // here-document bodies read after this newline
  size_t offset = 0;
};

// State shared by every Parser of one Analyze() call.
struct Context {
  Options options;
  std::vector<std::string> errors;
  int nesting = 0;        // current syntactic nesting, across all Parsers
  int next_pipeline = 0;  // the next SimpleCommand::pipeline id
  bool aborted = false;   // a hard limit stopped the analysis; every Parser winds down
};

// Counts one level of nesting for its lifetime; ok() is false past the limit.
class NestGuard {
 public:
  explicit NestGuard(Context* ctx) : ctx_(ctx) { ++ctx_->nesting; }
  ~NestGuard() { --ctx_->nesting; }
  NestGuard(const NestGuard&) = delete;
  NestGuard& operator=(const NestGuard&) = delete;
  bool ok() const { return ctx_->nesting <= ctx_->options.max_nesting; }

 private:
  Context* ctx_;
};

// A simple command as parsed, before wrappers are stripped.
struct RawCommand {
  std::vector<Word> words;  // after the assignment prefix
  std::vector<std::string> assignments;
  std::vector<Redirect> redirects;
  std::vector<std::string> wrappers;  // inherited and keyword ("time", "coproc") wrappers
  Commands nested;                    // from substitutions in any of its words, in order
  std::string error;                  // first unterminated construct in any of its words
  std::string where;                  // error-message prefix of the text it came from
};

// Appends to `out` the SimpleCommand for `raw`, then the commands nested in
// its words, then the commands it runs through sh -c, eval, env -S, xargs or
// find -exec (at depth + 1). Defined in unwrap.cc.
void EmitCommand(Context* ctx, RawCommand raw, int depth, const std::string& source, Commands* out);

// Parses a derived text (an sh -c script, a backquote body, ...) at `depth`,
// appending its commands to `out`. Returns false, parsing nothing, when
// `depth` exceeds Options::max_depth. Defined in parser.cc.
bool AnalyzeNested(Context* ctx, std::string_view text, int depth, const std::string& source,
                   const std::vector<std::string>& inherited_wrappers, std::string where,
                   Commands* out);

inline bool IsMeta(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' ||
         c == ')' || c == '<' || c == '>';
}
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsNameStart(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c); }
inline bool IsName(std::string_view s) {
  if (s.empty() || !IsNameStart(s[0])) return false;
  for (char c : s) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

// Whether `name` is one of the space-separated words of `list`.
inline bool InList(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    size_t sp = list.find(' ');
    if (list.substr(0, sp) == name) return true;
    if (sp == std::string_view::npos) break;
    list.remove_prefix(sp + 1);
  }
  return false;
}

// Moves the commands nested in `from` to `w`, and its error if `w` has none.
inline void MergeInto(Word* w, Word* from) {
  for (SimpleCommand& c : from->nested) w->nested.push_back(std::move(c));
  from->nested.clear();
  if (w->error.empty()) w->error = from->error;
}

// NAME=..., NAME+=..., NAME[SUBSCRIPT]=... as written (the name unquoted).
bool IsAssignmentWord(const Word& w);

// `s` for a message: at most 60 bytes, with "..." when cut.
inline std::string Abbrev(std::string_view s) {
  constexpr size_t kMax = 60;
  return s.size() <= kMax ? std::string(s) : std::string(s.substr(0, kMax - 3)) + "...";
}

// Builds a Redirect from a redirection token (op, fd and target word).
Redirect MakeRedirect(const Token& token);
// Adds `r` to `cmd`: its redirects and its written or read paths.
void AddRedirect(SimpleCommand* cmd, const Redirect& r);

class Parser {
 public:
  // `where` prefixes every error message ("in sh -c script at offset 12: ").
  Parser(Context* ctx, std::string_view src, int depth, std::string source,
         std::vector<std::string> inherited_wrappers, std::string where);

  // Parses the whole text as a script.
  void ParseScript(Commands* out);
  // Treats the whole text as an unquoted here-document body: only its
  // substitutions run.
  void ParseHeredocBody(Commands* out);
  // Records "WHERE WHAT at offset N" (up to a cap).
  void Error(size_t offset, const std::string& what);
  // Records that nesting is too deep and stops every Parser of the Context.
  void Abort(size_t offset);

 private:
  struct Heredoc {
    std::string delimiter;
    bool strip_tabs = false;
    bool quoted = false;
  };

  // Stop sets for ParseList: what ends a list besides the end of input.
  enum Stop : unsigned {
    kStopThen = 1u << 0,
    kStopElif = 1u << 1,
    kStopElse = 1u << 2,
    kStopFi = 1u << 3,
    kStopDo = 1u << 4,
    kStopDone = 1u << 5,
    kStopEsac = 1u << 6,
    kStopBrace = 1u << 7,    // "}"
    kStopParen = 1u << 8,    // ")"
    kStopCaseEnd = 1u << 9,  // ";;" ";&" ";;&"
  };

  // lexer.cc: tokens.
  char At(size_t i) const { return i < src_.size() ? src_[i] : '\0'; }
  Token& Peek();
  Token Take();
  Token Lex();
  Token LexRedirect(size_t start, int fd);
  void SkipBlanks();
  void ReadHeredocBodies(Commands* out);
  // lexer.cc: words.
  Word ReadWord();
  void ReadSingle(Word* w);
  void ReadDouble(Word* w, bool heredoc);
  // expand.cc: expansions and substitutions inside words.
  void ReadAnsiC(Word* w);
  void ReadDollar(Word* w, bool in_double);
  void ReadBraceParam(Word* w, bool in_double);
  void ReadBackquote(Word* w, bool in_double);
  void ReadCommandSubst(Word* w, size_t open, size_t body, const char* source);
  bool TryArithmetic(Word* w, size_t open, size_t body);
  void ReadParenGroup(Word* w, bool array);  // NAME=(..) (array) or an extglob @(..)
  void ReadBracketed(Word* w);               // a[i + 1]=x subscript, or the inside of $[ .. ]

  // parser.cc: grammar.
  void ParseList(Commands* out, unsigned stops);
  void ParseAndOr(Commands* out);
  void ParsePipeline(Commands* out);
  void ParseCommand(Commands* out, std::vector<std::string> pending);
  void ParseSimple(Commands* out, std::vector<std::string> pending);
  void ParseIf(Commands* out);
  void ParseLoop(Commands* out);
  void ParseFor(Commands* out);
  void ParseCase(Commands* out);
  void ParseFunction(Commands* out);
  void ParseTest(Commands* out);
  void ParseTrailingRedirects(Commands* out, size_t first);
  bool IsStop(const Token& t, unsigned stops) const;
  bool StartsCommand(const Token& t) const;
  bool PeekPlain(std::string_view word);
  bool Expect(std::string_view word, std::string_view construct, size_t start, Commands* out);
  void SkipNewlines(Commands* out);
  void Consume(Commands* out);  // takes the next token; keeps the commands it carries
  std::string Describe(const Token& t) const;

  Context* ctx_;
  std::string_view src_;
  size_t pos_ = 0;
  int depth_;
  std::string source_;
  std::vector<std::string> inherited_;
  std::string where_;
  std::optional<Token> la_;  // one token of lookahead
  // The next word may be a command name or an assignment (bash's
  // assignment_acceptable): set by the lexer from the token before it.
  bool command_position_ = true;
  bool after_time_ = false;       // the word before was the `time` keyword (then -p keeps position)
  std::vector<Heredoc> pending_;  // here-documents whose bodies follow the next newline
  std::unordered_set<size_t> failed_arith_;  // "$((" / "((" offsets that are not arithmetic
};

}  // namespace reins::shell::internal
