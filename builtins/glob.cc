#include "builtins/glob.h"

#include <algorithm>
#include <map>

namespace reins {

namespace {

using Token = Glob::Token;

std::vector<Token> Tokenize(std::string_view p, bool* literal, std::string* literal_text) {
  std::vector<Token> out;
  *literal = true;
  auto add = [&](Token::Kind kind, char c = 0) {
    out.push_back({kind, c, false, {}});
    if (kind == Token::kChar) {
      *literal_text += c;
    } else {
      *literal = false;
    }
  };
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '*') {
      if (i + 1 < p.size() && p[i + 1] == '*') {
        while (i + 1 < p.size() && p[i + 1] == '*') ++i;
        if (i + 1 < p.size() && p[i + 1] == '/') {
          ++i;
          add(Token::kGlobStarSlash);
        } else {
          add(Token::kGlobStar);
        }
      } else {
        add(Token::kStar);
      }
    } else if (c == '?') {
      add(Token::kAnyOne);
    } else if (c == '\\' && i + 1 < p.size()) {
      add(Token::kChar, p[++i]);
    } else if (c == '[') {
      size_t j = i + 1;
      Token t{Token::kClass, 0, false, {}};
      if (j < p.size() && (p[j] == '!' || p[j] == '^')) t.negate = true, ++j;
      bool closed = false;
      for (bool first = true; j < p.size(); first = false) {
        if (p[j] == ']' && !first) {
          closed = true;
          break;
        }
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
          for (int ch = static_cast<unsigned char>(p[j]);
               ch <= static_cast<unsigned char>(p[j + 2]); ++ch) {
            t.set += static_cast<char>(ch);
          }
          j += 3;
        } else {
          t.set += p[j++];
        }
      }
      if (closed) {
        out.push_back(std::move(t));
        *literal = false;
        i = j;
      } else {
        add(Token::kChar, '[');  // an unclosed '[' is literal
      }
    } else {
      add(Token::kChar, c);
    }
  }
  return out;
}

bool MatchOne(const Token& t, char c) {
  switch (t.kind) {
    case Token::kChar:
      return c == t.c;
    case Token::kAnyOne:
      return c != '/';
    case Token::kClass:
      return c != '/' && (t.set.find(c) != std::string::npos) != t.negate;
    default:
      return false;
  }
}

// Lexical normalization: collapses "//" and "/./", resolves ".." against
// earlier components (never above the root), keeps a leading "~".
std::string Normalize(std::string_view path) {
  bool absolute = !path.empty() && path[0] == '/';
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    if (part == "..") {
      if (!parts.empty() && parts.back() != ".." && parts.back() != "~") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = end + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + std::string(parts[i]);
  return out.empty() ? "." : out;
}

}  // namespace

Glob::Glob(std::string_view pattern)
    : literal_(true), pattern_(pattern), tokens_(Tokenize(pattern, &literal_, &literal_text_)) {
  size_t i = 0;
  while (i < tokens_.size() && tokens_[i].kind == Token::kChar) prefix_ += tokens_[i++].c;
  for (size_t j = tokens_.size(); j > i && tokens_[j - 1].kind == Token::kChar; --j) {
    suffix_.insert(suffix_.begin(), tokens_[j - 1].c);
  }
}

bool Glob::Match(std::string_view t) const {
  if (literal_) return t == literal_text_;
  if (t.size() < prefix_.size() + suffix_.size() || t.substr(0, prefix_.size()) != prefix_ ||
      t.substr(t.size() - suffix_.size()) != suffix_) {
    return false;
  }
  // Dynamic programming from the end: next[j] says whether the tokens after
  // the current one match t[j..]; two rows, on the stack for short texts.
  const size_t m = t.size();
  constexpr size_t kStack = 1024;
  char stack_rows[2][kStack + 1];
  std::vector<char> heap_rows;
  char* next = stack_rows[0];
  char* row = stack_rows[1];
  if (m > kStack) {
    heap_rows.assign(2 * (m + 1), 0);
    next = heap_rows.data();
    row = heap_rows.data() + m + 1;
  }
  std::fill(next, next + m + 1, 0);
  next[m] = 1;  // no tokens left: only the empty text matches
  for (size_t i = tokens_.size(); i-- > 0;) {
    const Token& tok = tokens_[i];
    bool tail = false;  // kGlobStarSlash: some '/' at or after j ends a match
    for (size_t j = m + 1; j-- > 0;) {
      switch (tok.kind) {
        case Token::kStar:
          row[j] = next[j] || (j < m && t[j] != '/' && row[j + 1]);
          break;
        case Token::kGlobStar:
          row[j] = next[j] || (j < m && row[j + 1]);
          break;
        case Token::kGlobStarSlash:
          tail = j < m && ((t[j] == '/' && next[j + 1]) || tail);
          row[j] = next[j] || tail;
          break;
        default:
          row[j] = j < m && MatchOne(tok, t[j]) && next[j + 1];
          break;
      }
    }
    std::swap(row, next);
  }
  return next[0];
}

bool GlobMatch(std::string_view pattern, std::string_view t) { return Glob(pattern).Match(t); }

std::vector<std::string> PathCandidates(std::string_view path, std::string_view cwd) {
  std::string p(path);
  for (std::string_view home : {"${HOME}", "$HOME"}) {
    if (p.substr(0, home.size()) == home && (p.size() == home.size() || p[home.size()] == '/')) {
      p = "~" + p.substr(home.size());
    }
  }
  std::vector<std::string> out;
  out.push_back(Normalize(p));
  if (!p.empty() && p[0] != '/' && p[0] != '~' && !cwd.empty()) {
    out.push_back(Normalize(std::string(cwd) + "/" + p));
  }
  // Home directories, as their "~/" form.
  for (size_t i = 0, n = out.size(); i < n; ++i) {
    const std::string& c = out[i];
    size_t rest = std::string::npos;
    if (c.rfind("/root", 0) == 0 && (c.size() == 5 || c[5] == '/')) {
      rest = 5;
    } else {
      for (std::string_view base : {"/home/", "/Users/"}) {
        if (c.rfind(base, 0) == 0) {
          size_t slash = c.find('/', base.size());
          rest = slash == std::string::npos ? c.size() : slash;
        }
      }
    }
    if (rest != std::string::npos) out.push_back("~" + c.substr(rest));
  }
  return out;
}

const std::vector<std::string>& CachedPathCandidates(std::string_view path, std::string_view cwd) {
  thread_local std::map<std::pair<std::string, std::string>, std::vector<std::string>> cache;
  std::pair<std::string, std::string> key(path, cwd);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 256) cache.clear();
  return cache.emplace(std::move(key), PathCandidates(path, cwd)).first->second;
}

namespace {

std::string HomeForm(std::string pattern) {
  for (std::string_view home : {"${HOME}", "$HOME"}) {
    if (pattern.rfind(home, 0) == 0) pattern = "~" + pattern.substr(home.size());
  }
  while (pattern.size() > 1 && pattern.back() == '/') pattern.pop_back();
  return pattern;
}

}  // namespace

PathPattern::PathPattern(std::string pattern)
    : pattern_(HomeForm(std::move(pattern))),
      basename_only_(pattern_.find('/') == std::string::npos && pattern_ != "~"),
      anchored_(!pattern_.empty() && (pattern_[0] == '/' || pattern_[0] == '~')),
      glob_(pattern_),
      anywhere_("**/" + pattern_) {
  if (pattern_.size() > 3 && pattern_.substr(pattern_.size() - 3) == "/**") {
    dir_.emplace(pattern_.substr(0, pattern_.size() - 3));
  }
}

bool PathPattern::Matches(std::string_view path, std::string_view cwd) const {
  return MatchesCandidates(PathCandidates(path, cwd));
}

bool PathPattern::MatchesCandidates(const std::vector<std::string>& candidates) const {
  for (const std::string& c : candidates) {
    if (anchored_ && c[0] != pattern_[0]) continue;
    // The path itself and each of its parent directories.
    std::string_view cand = c;
    while (true) {
      if (basename_only_) {
        size_t slash = cand.rfind('/');
        if (glob_.Match(slash == std::string_view::npos ? cand : cand.substr(slash + 1))) {
          return true;
        }
      } else if (anchored_) {
        // "dir/**" also names the directory itself (listing or archiving it
        // reads what is inside).
        if (glob_.Match(cand) || (dir_ && dir_->Match(cand))) return true;
      } else if (glob_.Match(cand) || anywhere_.Match(cand)) {
        return true;
      }
      size_t slash = cand.rfind('/');
      if (slash == std::string_view::npos || slash == 0) break;
      cand = cand.substr(0, slash);
    }
  }
  return false;
}

}  // namespace reins
