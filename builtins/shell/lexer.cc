// Lexing for the shell analyzer: characters to tokens and words, following
// the POSIX token rules (bash's where they differ). A word keeps its
// quote-removed value with expansions as written, and is marked dynamic when
// its run-time value is not its written text. Expansions inside a word are
// read by expand.cc, which parses substitutions as commands on the spot, so
// the lexer and the grammar call each other.
//
// Every loop here advances pos_ on each iteration, and every recursion passes
// a NestGuard, so work is linear in the input for a bounded nesting depth.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "builtins/shell/parser.h"

namespace reins::shell::internal {

namespace {

// "NAME=" or "NAME+=" (an array assignment follows when the next char is '(').
bool IsArrayAssignPrefix(std::string_view s) {
  if (s.empty() || s.back() != '=' || !IsNameStart(s[0])) return false;
  s.remove_suffix(1);
  if (!s.empty() && s.back() == '+') s.remove_suffix(1);
  return std::all_of(s.begin(), s.end(), IsNameChar);
}

// Reserved words after which a command may start (bash's reserved_word_acceptable).
bool OpensCommand(std::string_view v) {
  static constexpr std::string_view kWords[] = {"!",    "{",    "}",  "then",  "do",
                                                "else", "elif", "if", "while", "until",
                                                "time", "done", "fi", "esac",  "coproc"};
  return std::find(std::begin(kWords), std::end(kWords), v) != std::end(kWords);
}

}  // namespace

bool IsAssignmentWord(const Word& w) {
  std::string_view s = w.raw;
  size_t i = 0;
  while (i < s.size() && (IsNameChar(s[i]))) ++i;
  if (i == 0 || IsDigit(s[0])) return false;
  if (i < s.size() && s[i] == '[') {  // NAME[subscript]=
    size_t close = s.find(']', i);
    if (close == std::string_view::npos) return false;
    i = close + 1;
  }
  if (i < s.size() && s[i] == '+') ++i;
  return i < s.size() && s[i] == '=';
}

Token& Parser::Peek() {
  if (!la_) la_ = Lex();
  return *la_;
}

Token Parser::Take() {
  Peek();
  Token t = std::move(*la_);
  la_.reset();
  return t;
}

void Parser::SkipBlanks() {
  while (pos_ < src_.size()) {
    char c = src_[pos_];
    if (c == ' ' || c == '\t') {
      ++pos_;
    } else if (c == '\\' && At(pos_ + 1) == '\n') {
      pos_ += 2;  // line continuation
    } else if (c == '#') {
      // A comment: '#' where a word would start runs to the end of the line.
      while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
    } else {
      break;
    }
  }
}

Token Parser::Lex() {
  bool after_time = after_time_;
  after_time_ = false;
  Token t;
  SkipBlanks();
  t.offset = pos_;
  if (ctx_->aborted || pos_ >= src_.size()) return t;  // kEnd
  char c = src_[pos_];
  char next = At(pos_ + 1);
  if (c == '\n') {
    ++pos_;
    t.kind = TokenKind::kNewline;
    command_position_ = true;
    ReadHeredocBodies(&t.word.nested);
    return t;
  }
  if ((c == '<' || c == '>') && next != '(') return LexRedirect(pos_, -1);
  if (c == '&' && next == '>') return LexRedirect(pos_, -1);
  if (IsDigit(c)) {
    size_t e = pos_;
    while (e < src_.size() && IsDigit(src_[e])) ++e;
    if ((At(e) == '<' || At(e) == '>') && At(e + 1) != '(' && e - pos_ <= 9) {
      int fd = 0;
      for (size_t i = pos_; i < e; ++i) fd = fd * 10 + (src_[i] - '0');
      size_t start = pos_;
      pos_ = e;
      return LexRedirect(start, fd);
    }
  }
  if (c == '{' && IsNameStart(next)) {  // {NAME}>file: bash stores the new fd in NAME
    size_t e = pos_ + 1;
    while (IsNameChar(At(e))) ++e;
    if (At(e) == '}' && (At(e + 1) == '<' || At(e + 1) == '>') && At(e + 2) != '(') {
      size_t start = pos_;
      pos_ = e + 1;
      return LexRedirect(start, -1);
    }
  }
  static constexpr std::string_view kOps[] = {";;&", ";;", ";&", ";", "&&", "&",
                                              "||",  "|&", "|",  "(", ")"};
  for (std::string_view op : kOps) {
    if (src_.substr(pos_, op.size()) == op) {
      pos_ += op.size();
      t.kind = TokenKind::kOp;
      t.op = std::string(op);
      command_position_ = op[0] != ';' || op.size() == 1;  // a case pattern follows ;; ;& ;;&
      return t;
    }
  }
  t.kind = TokenKind::kWord;
  t.word = ReadWord();
  bool plain = t.word.plain();
  const std::string& v = t.word.value;
  bool time_option = after_time && plain && (v == "-p" || v == "--");
  after_time_ = command_position_ && plain && v == "time";
  command_position_ =
      command_position_ && ((plain && OpensCommand(v)) || IsAssignmentWord(t.word) || time_option);
  return t;
}

Token Parser::LexRedirect(size_t start, int fd) {
  static constexpr std::string_view kOps[] = {"<<<", "<<-", "&>>", "<<", "<&", "<>",
                                              ">>",  ">&",  ">|",  "&>", "<",  ">"};
  Token t;
  t.kind = TokenKind::kRedirect;
  t.offset = start;
  t.fd = fd;
  for (std::string_view op : kOps) {
    if (src_.substr(pos_, op.size()) == op) {
      t.op = std::string(op);
      break;
    }
  }
  pos_ += t.op.size();
  SkipBlanks();
  char c = At(pos_);
  if (pos_ >= src_.size() || (IsMeta(c) && !((c == '<' || c == '>') && At(pos_ + 1) == '('))) {
    t.word.error = "redirection '" + t.op + "' has no target at offset " + std::to_string(start);
    Error(start, "redirection '" + t.op + "' has no target");
    return t;
  }
  bool position = command_position_;
  command_position_ = false;  // a target is never an assignment: no NAME[...] subscript
  t.word = ReadWord();
  command_position_ = position;
  if (t.op == "<<" || t.op == "<<-") {
    pending_.push_back({t.word.value, t.op == "<<-", t.word.quoted});
  }
  return t;
}

void Parser::ReadHeredocBodies(Commands* out) {
  for (const Heredoc& h : pending_) {
    size_t body_start = pos_;
    size_t body_end = src_.size();
    while (pos_ < src_.size()) {
      size_t eol = src_.find('\n', pos_);
      size_t line_end = eol == std::string_view::npos ? src_.size() : eol;
      std::string_view line = src_.substr(pos_, line_end - pos_);
      if (h.strip_tabs) {
        while (!line.empty() && line[0] == '\t') line.remove_prefix(1);
      }
      size_t line_start = pos_;
      pos_ = eol == std::string_view::npos ? src_.size() : eol + 1;
      if (line == h.delimiter) {
        body_end = line_start;
        break;
      }
    }
    // A body that runs to the end of input is what bash does too (with a
    // warning); it is data either way, so it is not an error.
    std::string_view body = src_.substr(body_start, body_end - body_start);
    if (!h.quoted && body.find_first_of("$`") != std::string_view::npos) {
      NestGuard guard(ctx_);
      if (!guard.ok()) return Abort(body_start);
      Parser p(ctx_, body, depth_, source_, inherited_,
               where_ + "in here-document at offset " + std::to_string(body_start) + ": ");
      p.ParseHeredocBody(out);
    }
  }
  pending_.clear();
}

Word Parser::ReadWord() {
  Word w;
  w.offset = pos_;
  size_t start = pos_;
  bool command_position = command_position_;
  bool bracket = false, brace = false, brace_list = false;
  while (pos_ < src_.size() && !ctx_->aborted) {
    char c = src_[pos_];
    if (IsMeta(c)) {
      if ((c == '<' || c == '>') && At(pos_ + 1) == '(') {
        ReadCommandSubst(&w, pos_, pos_ + 2, c == '<' ? "<(...)" : ">(...)");
        continue;
      }
      if (c == '(' && IsArrayAssignPrefix(src_.substr(start, pos_ - start))) {
        ReadParenGroup(&w, true);
        continue;
      }
      if (c == '(' && pos_ > start && std::strchr("@!?*+", src_[pos_ - 1]) != nullptr &&
          src_.substr(start, pos_ - start) != "!") {
        ReadParenGroup(&w, false);  // an extglob
        continue;
      }
      break;
    }
    switch (c) {
      case '\\':
        if (At(pos_ + 1) == '\n') {
          pos_ += 2;
        } else {
          w.quoted = true;
          if (pos_ + 1 < src_.size()) w.value += src_[pos_ + 1];
          pos_ = std::min(pos_ + 2, src_.size());
        }
        continue;
      case '\'':
        ReadSingle(&w);
        continue;
      case '"':
        w.quoted = true;
        ++pos_;
        ReadDouble(&w, false);
        continue;
      case '$':
        ReadDollar(&w, false);
        continue;
      case '`':
        ReadBackquote(&w, false);
        continue;
      case '*':
      case '?':
        w.dynamic = true;
        break;
      case '[':
        // Where an assignment may stand, bash reads NAME[...] as a subscript,
        // spaces and all: `a[x; y]=1 cmd` is one word before cmd.
        if (command_position && IsName(src_.substr(start, pos_ - start))) {
          ReadBracketed(&w);
          continue;
        }
        bracket = true;
        break;
      case ']':
        if (bracket) w.dynamic = true;
        break;
      case '{':
        brace = true;
        break;
      case ',':
        if (brace) brace_list = true;
        break;
      case '.':
        if (brace && At(pos_ + 1) == '.') brace_list = true;
        break;
      case '}':
        if (brace_list) w.dynamic = true;
        break;
      default:
        break;
    }
    w.value += c;
    ++pos_;
  }
  w.raw = std::string(src_.substr(start, pos_ - start));
  if (w.expanded) w.dynamic = true;
  return w;
}

void Parser::ReadSingle(Word* w) {
  size_t start = pos_;
  w->quoted = true;
  size_t close = src_.find('\'', pos_ + 1);
  if (close == std::string_view::npos) {
    w->value += src_.substr(pos_ + 1);
    pos_ = src_.size();
    std::string what = "unbalanced single quote";
    Error(start, what);
    if (w->error.empty()) w->error = what + " at offset " + std::to_string(start);
    return;
  }
  w->value += src_.substr(pos_ + 1, close - pos_ - 1);
  pos_ = close + 1;
}

// pos_ is just past the opening quote. In a here-document body there is no
// closing quote and \" keeps its backslash.
void Parser::ReadDouble(Word* w, bool heredoc) {
  size_t start = pos_ - 1;
  while (pos_ < src_.size() && !ctx_->aborted) {
    char c = src_[pos_];
    if (c == '"' && !heredoc) {
      ++pos_;
      return;
    }
    if (c == '\\') {
      char n = At(pos_ + 1);
      if (n == '\n') {
        pos_ += 2;
      } else if (n == '$' || n == '`' || n == '\\' || (n == '"' && !heredoc)) {
        w->value += n;
        pos_ += 2;
      } else {
        w->value += c;
        ++pos_;
      }
      continue;
    }
    if (c == '$') {
      ReadDollar(w, true);
      continue;
    }
    if (c == '`') {
      ReadBackquote(w, true);
      continue;
    }
    w->value += c;
    ++pos_;
  }
  if (heredoc || ctx_->aborted) return;
  Error(start, "unbalanced double quote");
  if (w->error.empty()) w->error = "unbalanced double quote at offset " + std::to_string(start);
}

}  // namespace reins::shell::internal
