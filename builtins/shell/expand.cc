// Expansions inside words for the shell analyzer: $'..' (decoded), $"..",
// $NAME, ${..}, $(..), <(..), >(..), `..`, $((..)), $[..], NAME=(..),
// extglobs and NAME[..] subscripts. Command substitutions are parsed as
// commands where they stand, at depth + 1; everything else marks the word
// dynamic and keeps its text as written.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "builtins/shell/parser.h"

namespace reins::shell::internal {

namespace {

int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp > 0x10FFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

// $'...': bash's ANSI-C quoting, decoded.
void Parser::ReadAnsiC(Word* w) {
  size_t start = pos_;
  w->quoted = true;
  pos_ += 2;
  while (pos_ < src_.size()) {
    char c = src_[pos_];
    if (c == '\'') {
      ++pos_;
      return;
    }
    if (c != '\\' || pos_ + 1 >= src_.size()) {
      w->value += c;
      ++pos_;
      continue;
    }
    char n = src_[pos_ + 1];
    pos_ += 2;
    switch (n) {
      case 'a':
        w->value += '\a';
        break;
      case 'b':
        w->value += '\b';
        break;
      case 'e':
      case 'E':
        w->value += '\x1b';
        break;
      case 'f':
        w->value += '\f';
        break;
      case 'n':
        w->value += '\n';
        break;
      case 'r':
        w->value += '\r';
        break;
      case 't':
        w->value += '\t';
        break;
      case 'v':
        w->value += '\v';
        break;
      case '\\':
      case '\'':
      case '"':
      case '?':
        w->value += n;
        break;
      case 'c':
        if (pos_ < src_.size()) w->value += static_cast<char>(src_[pos_++] & 0x1f);
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t max = n == 'x' ? 2 : n == 'u' ? 4 : 8;
        uint32_t v = 0;
        size_t k = 0;
        for (; k < max && HexValue(At(pos_)) >= 0; ++k) v = v * 16 + HexValue(src_[pos_++]);
        if (k == 0) {
          w->value += '\\';
          w->value += n;
        } else if (n == 'x') {
          if (v != 0) w->value += static_cast<char>(v);
        } else {
          AppendUtf8(&w->value, v);
        }
        break;
      }
      default:
        if (n >= '0' && n <= '7') {
          uint32_t v = n - '0';
          for (int k = 0; k < 2 && At(pos_) >= '0' && At(pos_) <= '7'; ++k) {
            v = v * 8 + (src_[pos_++] - '0');
          }
          if ((v & 0xff) != 0) w->value += static_cast<char>(v & 0xff);
        } else {
          w->value += '\\';
          w->value += n;
        }
    }
  }
  Error(start, "unbalanced $' quote");
  if (w->error.empty()) w->error = "unbalanced $' quote at offset " + std::to_string(start);
}

void Parser::ReadDollar(Word* w, bool in_double) {
  size_t start = pos_;
  char n = At(pos_ + 1);
  if (!in_double && n == '\'') return ReadAnsiC(w);
  if (!in_double && n == '"') {  // $"...": locale translation; a double-quoted string here
    w->quoted = true;
    pos_ += 2;
    return ReadDouble(w, false);
  }
  if (n == '(') {  // both append the text and mark the word themselves
    if (At(pos_ + 2) != '(' || !TryArithmetic(w, pos_, pos_ + 3)) {
      ReadCommandSubst(w, pos_, pos_ + 2, "$(...)");
    }
    return;
  }
  if (n == '{') {
    ReadBraceParam(w, in_double);
  } else if (n == '[') {  // $[ expression ]: bash's old arithmetic expansion
    w->value += '$';
    ++pos_;
    ReadBracketed(w);
    w->expanded = true;
    return;
  } else if (IsNameStart(n)) {
    pos_ += 2;
    while (IsNameChar(At(pos_))) ++pos_;
  } else if (IsDigit(n) || (n != '\0' && std::strchr("@*#?$!-", n) != nullptr)) {
    pos_ += 2;
  } else {
    w->value += '$';  // a lone '$' is literal
    ++pos_;
    return;
  }
  w->value += src_.substr(start, pos_ - start);
  w->expanded = true;
  w->dynamic = true;
}

void Parser::ReadBraceParam(Word* w, bool in_double) {
  size_t start = pos_;
  pos_ += 2;
  NestGuard guard(ctx_);
  if (!guard.ok()) return Abort(start);
  Word inner;
  while (pos_ < src_.size() && !ctx_->aborted) {
    char c = src_[pos_];
    if (c == '}') {
      ++pos_;
      MergeInto(w, &inner);
      return;
    }
    if (c == '\\') {
      pos_ = std::min(pos_ + 2, src_.size());
    } else if (c == '\'' && !in_double) {
      ReadSingle(&inner);
    } else if (c == '"') {
      ++pos_;
      ReadDouble(&inner, false);
    } else if (c == '$') {
      ReadDollar(&inner, in_double);
    } else if (c == '`') {
      ReadBackquote(&inner, in_double);
    } else {
      ++pos_;
    }
  }
  MergeInto(w, &inner);
  if (ctx_->aborted) return;
  Error(start, "unterminated ${");
  if (w->error.empty()) w->error = "unterminated ${ at offset " + std::to_string(start);
}

void Parser::ReadBackquote(Word* w, bool in_double) {
  size_t start = pos_;
  ++pos_;
  std::string body;
  bool closed = false;
  while (pos_ < src_.size()) {
    char c = src_[pos_];
    if (c == '`') {
      ++pos_;
      closed = true;
      break;
    }
    char n = At(pos_ + 1);
    if (c == '\\' && (n == '$' || n == '`' || n == '\\' || (in_double && n == '"'))) {
      body += n;
      pos_ += 2;
      continue;
    }
    body += c;
    ++pos_;
  }
  w->value += src_.substr(start, pos_ - start);
  w->expanded = true;
  w->dynamic = true;
  if (!closed) {
    Error(start, "unbalanced backquote");
    if (w->error.empty()) w->error = "unbalanced backquote at offset " + std::to_string(start);
  }
  NestGuard guard(ctx_);
  if (!guard.ok()) return Abort(start);
  if (!AnalyzeNested(ctx_, body, depth_ + 1, "`...`", inherited_,
                     where_ + "in `...` at offset " + std::to_string(start) + ": ", &w->nested) &&
      w->error.empty()) {
    w->error = "nesting too deep at offset " + std::to_string(start);
  }
}

// $( .. ), <( .. ) and >( .. ): the body is parsed here, by this Parser, up to
// the ')' that closes it, so quotes, case patterns and nested substitutions
// inside are handled by the grammar itself.
void Parser::ReadCommandSubst(Word* w, size_t open, size_t body, const char* source) {
  pos_ = body;
  NestGuard guard(ctx_);
  if (!guard.ok()) return Abort(open);
  bool too_deep = depth_ + 1 > ctx_->options.max_depth;
  Commands discard;
  int saved_depth = depth_;
  std::string saved_source = std::move(source_);
  bool saved_position = command_position_;
  depth_ += 1;
  source_ = source;
  command_position_ = true;
  ParseList(too_deep ? &discard : &w->nested, kStopParen);
  depth_ = saved_depth;
  source_ = std::move(saved_source);
  command_position_ = saved_position;
  std::string kind(source, 2);  // "$(", "<(" or ">("
  if (Peek().kind == TokenKind::kOp && Peek().op == ")") {
    Take();
  } else if (!ctx_->aborted) {
    la_.reset();  // the end of input; the caller goes on reading characters
    Error(open, "unterminated " + kind);
    if (w->error.empty()) w->error = "unterminated " + kind + " at offset " + std::to_string(open);
  }
  if (too_deep && w->error.empty()) {
    w->error = "nesting too deep at offset " + std::to_string(open);
  }
  w->value += src_.substr(open, pos_ - open);
  w->expanded = true;
  w->dynamic = true;
}

// Tries to read an arithmetic expansion or command whose body starts at
// `body`, up to the "))" that closes it. On failure (a ')' closes a group that
// is not followed by another ')', as in "$( (cd x) )"), restores the state and
// remembers the offset, so that a retry as a subshell does not try again:
// without that memo, nested failures would be retried exponentially often.
bool Parser::TryArithmetic(Word* w, size_t open, size_t body) {
  if (failed_arith_.count(open) != 0) return false;
  NestGuard guard(ctx_);
  if (!guard.ok()) {
    Abort(open);
    return true;  // no retry as a subshell: everything stops
  }
  size_t errors_before = ctx_->errors.size();
  std::vector<Heredoc> pending = pending_;
  Word inner;
  pos_ = body;
  int paren = 0;
  bool ok = false;
  while (pos_ < src_.size() && !ctx_->aborted) {
    char c = src_[pos_];
    if (c == '(') {
      ++paren;
      ++pos_;
    } else if (c == ')') {
      if (paren > 0) {
        --paren;
        ++pos_;
        continue;
      }
      ok = At(pos_ + 1) == ')';
      if (ok) pos_ += 2;
      break;
    } else if (c == '$') {
      ReadDollar(&inner, true);
    } else if (c == '`') {
      ReadBackquote(&inner, true);
    } else if (c == '"') {
      ++pos_;
      ReadDouble(&inner, false);
    } else if (c == '\\') {
      pos_ = std::min(pos_ + 2, src_.size());
    } else {
      ++pos_;
    }
  }
  if (!ok && !ctx_->aborted) {
    pos_ = open;
    ctx_->errors.resize(std::min(ctx_->errors.size(), errors_before));
    pending_ = std::move(pending);
    failed_arith_.insert(open);
    return false;
  }
  MergeInto(w, &inner);
  w->value += src_.substr(open, pos_ - open);
  w->expanded = true;
  w->dynamic = true;
  return true;
}

// NAME=( words ) or an extglob such as @(a|b): read to the matching ')'.
// An array may span lines and hold comments; bash rejects operators in it.
void Parser::ReadParenGroup(Word* w, bool array) {
  size_t start = pos_;
  ++pos_;
  NestGuard guard(ctx_);
  if (!guard.ok()) return Abort(start);
  w->dynamic = true;
  int paren = 0;
  while (pos_ < src_.size() && !ctx_->aborted) {
    char c = src_[pos_];
    if (c == ')') {
      ++pos_;
      if (paren-- == 0) {
        w->value += src_.substr(start, pos_ - start);
        return;
      }
    } else if (c == '(') {
      ++paren;
      ++pos_;
    } else if (c == '\n') {
      ++pos_;
    } else if (c == ' ' || c == '\t' || (c == '\\' && At(pos_ + 1) == '\n') ||
               (c == '#' && array)) {
      SkipBlanks();  // '#' here starts a word, so it starts a comment
    } else if (IsMeta(c) && !((c == '<' || c == '>') && At(pos_ + 1) == '(')) {
      if (array && w->error.empty()) {
        std::string what = std::string("unexpected '") + c + "' in an array assignment";
        Error(pos_, what);
        w->error = what + " at offset " + std::to_string(pos_);
      }
      ++pos_;
    } else {
      Word e = ReadWord();
      MergeInto(w, &e);
    }
  }
  w->value += src_.substr(start, pos_ - start);
  if (ctx_->aborted) return;
  Error(start, "unterminated (");
  if (w->error.empty()) w->error = "unterminated ( at offset " + std::to_string(start);
}

// From '[' to its matching ']', across blanks and operators, with quotes and
// substitutions read as in a word. Appends the text as written.
void Parser::ReadBracketed(Word* w) {
  size_t open = pos_;
  NestGuard guard(ctx_);
  if (!guard.ok()) return Abort(open);
  Word inner;
  int depth = 0;
  while (pos_ < src_.size() && !ctx_->aborted) {
    char c = src_[pos_];
    if (c == '[') {
      ++depth;
      ++pos_;
    } else if (c == ']') {
      ++pos_;
      if (--depth == 0) break;
    } else if (c == '\\') {
      pos_ = std::min(pos_ + 2, src_.size());
    } else if (c == '\'') {
      ReadSingle(&inner);
    } else if (c == '"') {
      ++pos_;
      ReadDouble(&inner, false);
    } else if (c == '$') {
      ReadDollar(&inner, false);
    } else if (c == '`') {
      ReadBackquote(&inner, false);
    } else {
      ++pos_;
    }
  }
  MergeInto(w, &inner);
  w->value += src_.substr(open, pos_ - open);
  w->dynamic = true;
  if (depth == 0 || ctx_->aborted) return;
  Error(open, "unterminated [");
  if (w->error.empty()) w->error = "unterminated [ at offset " + std::to_string(open);
}

}  // namespace reins::shell::internal
