// The shell grammar, by recursive descent over the lexer's tokens: lists,
// and-or lists, pipelines, compound commands (subshells, groups, if, while,
// until, for, select, case, functions, [[ ]], (( ))) and simple commands.
//
// Reserved words are recognised only where a command may start and only when
// unquoted, as in POSIX. Errors are recorded and parsing goes on, so that the
// commands around a mistake are still found; any error makes the Analysis
// unresolved. Compound commands are not reported themselves: the simple
// commands inside them are, and redirections on a compound command are copied
// to every command inside it (`{ a; b; } > f` writes f through a and b).
#include "builtins/shell/parser.h"

#include <algorithm>
#include <utility>

namespace reins::shell::internal {

namespace {

constexpr size_t kMaxErrors = 50;

// Reserved words that cannot start a command (bash: "syntax error near unexpected token").
bool IsCloser(std::string_view v) {
  return v == "then" || v == "elif" || v == "else" || v == "fi" || v == "do" || v == "done" ||
         v == "esac" || v == "}" || v == "in" || v == "]]";
}

}  // namespace

Parser::Parser(Context* ctx, std::string_view src, int depth, std::string source,
               std::vector<std::string> inherited_wrappers, std::string where)
    : ctx_(ctx),
      src_(src),
      depth_(depth),
      source_(std::move(source)),
      inherited_(std::move(inherited_wrappers)),
      where_(std::move(where)) {}

void Parser::Error(size_t offset, const std::string& what) {
  if (ctx_->aborted) return;
  if (ctx_->errors.size() < kMaxErrors) {
    ctx_->errors.push_back(where_ + what + " at offset " + std::to_string(offset));
  } else if (ctx_->errors.size() == kMaxErrors) {
    ctx_->errors.push_back("too many errors; later ones are not listed");
  }
}

void Parser::Abort(size_t offset) {
  Error(offset, "nesting too deep (more than " + std::to_string(ctx_->options.max_nesting) +
                    " levels); the analysis stopped here");
  ctx_->aborted = true;
}

std::string Parser::Describe(const Token& t) const {
  switch (t.kind) {
    case TokenKind::kWord:
      return "'" + Abbrev(t.word.raw) + "'";
    case TokenKind::kOp:
    case TokenKind::kRedirect:
      return "'" + t.op + "'";
    case TokenKind::kNewline:
      return "newline";
    case TokenKind::kEnd:
      return "end of input";
  }
  return "";
}

void Parser::ParseScript(Commands* out) {
  ParseList(out, 0);
  // ParseList returns only at the end of input when nothing stops it.
}

void Parser::ParseHeredocBody(Commands* out) {
  Word w;
  ReadDouble(&w, true);
  for (SimpleCommand& c : w.nested) out->push_back(std::move(c));
}

bool Parser::IsStop(const Token& t, unsigned stops) const {
  if (t.kind == TokenKind::kOp) {
    if (t.op == ")") return stops & kStopParen;
    if (t.op == ";;" || t.op == ";&" || t.op == ";;&") return stops & kStopCaseEnd;
    return false;
  }
  if (t.kind != TokenKind::kWord || !t.word.plain()) return false;
  static constexpr std::pair<Stop, std::string_view> kWords[] = {
      {kStopThen, "then"}, {kStopElif, "elif"}, {kStopElse, "else"}, {kStopFi, "fi"},
      {kStopDo, "do"},     {kStopDone, "done"}, {kStopEsac, "esac"}, {kStopBrace, "}"}};
  for (const auto& [bit, word] : kWords) {
    if ((stops & bit) && t.word.value == word) return true;
  }
  return false;
}

bool Parser::StartsCommand(const Token& t) const {
  return t.kind == TokenKind::kWord || t.kind == TokenKind::kRedirect ||
         (t.kind == TokenKind::kOp && t.op == "(");
}

bool Parser::PeekPlain(std::string_view word) {
  const Token& t = Peek();
  return t.kind == TokenKind::kWord && t.word.plain() && t.word.value == word;
}

void Parser::Consume(Commands* out) {
  Token t = Take();
  for (SimpleCommand& c : t.word.nested) out->push_back(std::move(c));
}

void Parser::SkipNewlines(Commands* out) {
  while (Peek().kind == TokenKind::kNewline) Consume(out);
}

bool Parser::Expect(std::string_view word, std::string_view construct, size_t start,
                    Commands* out) {
  SkipNewlines(out);
  if (PeekPlain(word)) {
    Take();
    return true;
  }
  const Token& t = Peek();
  if (t.kind == TokenKind::kEnd) {
    Error(start, "unterminated '" + std::string(construct) + "' (no '" + std::string(word) + "')");
  } else {
    Error(t.offset, "expected '" + std::string(word) + "' in '" + std::string(construct) +
                        "' starting at offset " + std::to_string(start) + ", found " + Describe(t));
  }
  return false;
}

void Parser::ParseList(Commands* out, unsigned stops) {
  NestGuard guard(ctx_);
  if (!guard.ok()) return Abort(pos_);
  for (;;) {
    SkipNewlines(out);
    const Token& t = Peek();
    if (t.kind == TokenKind::kEnd || IsStop(t, stops)) return;
    if (!StartsCommand(t)) {
      Error(t.offset, "unexpected " + Describe(t));
      Consume(out);
      continue;
    }
    ParseAndOr(out);
    const Token& s = Peek();
    if (s.kind == TokenKind::kOp && (s.op == ";" || s.op == "&")) {
      Take();
    } else if (s.kind != TokenKind::kNewline && s.kind != TokenKind::kEnd && !IsStop(s, stops)) {
      Error(s.offset, "unexpected " + Describe(s));
      Consume(out);
    }
  }
}

void Parser::ParseAndOr(Commands* out) {
  ParsePipeline(out);
  while (Peek().kind == TokenKind::kOp && (Peek().op == "&&" || Peek().op == "||")) {
    Token op = Take();
    SkipNewlines(out);
    if (!StartsCommand(Peek())) {
      Error(op.offset, "'" + op.op + "' is not followed by a command");
      return;
    }
    ParsePipeline(out);
  }
}

void Parser::ParsePipeline(Commands* out) {
  std::vector<std::string> pending;
  for (;;) {
    if (PeekPlain("!")) {
      Take();
    } else if (PeekPlain("time")) {  // the keyword; /usr/bin/time is handled as a wrapper
      Take();
      pending.push_back("time");
      if (PeekPlain("-p")) Take();
    } else {
      break;
    }
  }
  if (!StartsCommand(Peek())) return;  // "time" alone, or an error the caller reports
  // Commands of nested pipelines (in substitutions, sh -c scripts) were
  // numbered when they were parsed; this pipeline's stages take the rest.
  int id = ctx_->next_pipeline++;
  int stage = 0;
  auto mark = [&](size_t first) {
    for (size_t i = first; i < out->size(); ++i) {
      if ((*out)[i].pipeline != -1) continue;
      (*out)[i].pipeline = id;
      (*out)[i].stage = stage;
    }
  };
  size_t first = out->size();
  ParseCommand(out, std::move(pending));
  mark(first);
  while (Peek().kind == TokenKind::kOp && (Peek().op == "|" || Peek().op == "|&")) {
    Token op = Take();
    SkipNewlines(out);
    if (!StartsCommand(Peek())) {
      Error(op.offset, "'" + op.op + "' is not followed by a command");
      return;
    }
    ++stage;
    first = out->size();
    ParseCommand(out, {});
    mark(first);
  }
}

void Parser::ParseCommand(Commands* out, std::vector<std::string> pending) {
  NestGuard guard(ctx_);  // "coproc coproc ..." and "f() g() ..." recurse here
  if (!guard.ok()) return Abort(Peek().offset);
  size_t first = out->size();
  const Token& t = Peek();
  if (t.kind == TokenKind::kOp && t.op == "(") {
    size_t open = t.offset;
    bool arithmetic = false;
    if (At(open + 1) == '(') {  // (( expression )): an arithmetic command
      la_.reset();
      Word w;
      arithmetic = TryArithmetic(&w, open, open + 2);
      for (SimpleCommand& c : w.nested) out->push_back(std::move(c));
    }
    if (!arithmetic) {
      Take();
      ParseList(out, kStopParen);
      if (Peek().kind == TokenKind::kOp && Peek().op == ")") {
        Take();
      } else {
        Error(open, "unterminated '(' (no ')')");
      }
    }
  } else if (t.kind == TokenKind::kWord && t.word.plain() && t.word.value == "{") {
    size_t start = Take().offset;
    ParseList(out, kStopBrace);
    Expect("}", "{", start, out);
  } else if (PeekPlain("if")) {
    ParseIf(out);
  } else if (PeekPlain("while") || PeekPlain("until")) {
    ParseLoop(out);
  } else if (PeekPlain("for") || PeekPlain("select")) {
    ParseFor(out);
  } else if (PeekPlain("case")) {
    ParseCase(out);
  } else if (PeekPlain("function")) {
    ParseFunction(out);
  } else if (PeekPlain("[[")) {
    ParseTest(out);
  } else if (PeekPlain("coproc")) {
    Take();
    pending.push_back("coproc");
    if (StartsCommand(Peek())) ParseCommand(out, std::move(pending));
    return;
  } else if (t.kind == TokenKind::kWord && t.word.plain() && IsCloser(t.word.value)) {
    Error(t.offset, "unexpected " + Describe(t));
    Take();
    return;
  } else {
    return ParseSimple(out, std::move(pending));
  }
  ParseTrailingRedirects(out, first);
  // Keyword wrappers ("time { ..; }") apply to every command inside.
  for (size_t i = first; i < out->size() && !pending.empty(); ++i) {
    std::vector<std::string>& w = (*out)[i].wrappers;
    size_t at = std::min(inherited_.size(), w.size());
    w.insert(w.begin() + at, pending.begin(), pending.end());
  }
}

void Parser::ParseTrailingRedirects(Commands* out, size_t first) {
  std::vector<Redirect> redirects;
  Commands nested;
  while (Peek().kind == TokenKind::kRedirect) {
    Token t = Take();
    redirects.push_back(MakeRedirect(t));
    for (SimpleCommand& c : t.word.nested) nested.push_back(std::move(c));
  }
  if (redirects.empty()) return;
  if (first == out->size()) {  // nothing inside runs a program, but the files are opened
    SimpleCommand c;
    c.depth = depth_;
    c.source = source_;
    c.wrappers = inherited_;
    out->push_back(std::move(c));
  }
  for (size_t i = first; i < out->size(); ++i) {
    for (const Redirect& r : redirects) AddRedirect(&(*out)[i], r);
  }
  for (SimpleCommand& c : nested) out->push_back(std::move(c));
}

void Parser::ParseSimple(Commands* out, std::vector<std::string> pending) {
  RawCommand raw;
  raw.where = where_;
  raw.wrappers = inherited_;
  raw.wrappers.insert(raw.wrappers.end(), pending.begin(), pending.end());
  auto keep = [&raw](Word* w) {
    for (SimpleCommand& c : w->nested) raw.nested.push_back(std::move(c));
    w->nested.clear();
    if (raw.error.empty()) raw.error = w->error;
  };
  for (;;) {
    Token& t = Peek();
    if (t.kind == TokenKind::kRedirect) {
      Token r = Take();
      raw.redirects.push_back(MakeRedirect(r));
      keep(&r.word);
      continue;
    }
    if (t.kind != TokenKind::kWord) break;
    Token tok = Take();
    Word& w = tok.word;
    keep(&w);
    if (raw.words.empty() && IsAssignmentWord(w)) {
      raw.assignments.push_back(w.value);
      continue;
    }
    if (raw.words.empty() && raw.assignments.empty() && Peek().kind == TokenKind::kOp &&
        Peek().op == "(") {  // NAME () BODY
      Take();
      if (Peek().kind != TokenKind::kOp || Peek().op != ")") {
        Error(tok.offset, "unexpected '(' after " + Describe(tok));
        return;
      }
      Take();
      SkipNewlines(out);
      for (SimpleCommand& c : raw.nested) out->push_back(std::move(c));
      if (!StartsCommand(Peek())) {
        Error(tok.offset, "function definition without a body");
        return;
      }
      return ParseCommand(out, {});
    }
    raw.words.push_back(std::move(w));
  }
  if (raw.words.empty() && raw.redirects.empty()) {  // assignments only: nothing runs
    for (SimpleCommand& c : raw.nested) out->push_back(std::move(c));
    return;
  }
  EmitCommand(ctx_, std::move(raw), depth_, source_, out);
}

bool AnalyzeNested(Context* ctx, std::string_view text, int depth, const std::string& source,
                   const std::vector<std::string>& inherited_wrappers, std::string where,
                   Commands* out) {
  if (depth > ctx->options.max_depth) return false;
  NestGuard guard(ctx);
  Parser p(ctx, text.substr(0, ctx->options.max_bytes), depth, source, inherited_wrappers,
           std::move(where));
  if (!guard.ok()) {
    p.Abort(0);
    return true;
  }
  if (text.size() > ctx->options.max_bytes) p.Error(0, "text over max_bytes was truncated");
  p.ParseScript(out);
  return true;
}

}  // namespace reins::shell::internal

namespace reins::shell {

Analysis Analyze(std::string_view command_line, const Options& options) noexcept {
  Analysis a;
  try {
    internal::Context ctx;
    ctx.options = options;
    std::string_view text = command_line.substr(0, options.max_bytes);
    if (command_line.size() > options.max_bytes) {
      ctx.errors.push_back("input is " + std::to_string(command_line.size()) +
                           " bytes, over the limit of " + std::to_string(options.max_bytes) +
                           "; only the first " + std::to_string(options.max_bytes) +
                           " were analyzed");
    }
    internal::Parser p(&ctx, text, 0, "", {}, "");
    p.ParseScript(&a.commands);
    a.errors = std::move(ctx.errors);
  } catch (const std::exception& e) {  // only std::bad_alloc is possible
    a.errors.push_back(std::string("analysis failed: ") + e.what());
  }
  a.resolved = a.errors.empty();
  for (const SimpleCommand& c : a.commands) a.resolved = a.resolved && c.resolved;
  return a;
}

}  // namespace reins::shell
