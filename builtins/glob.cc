#include "builtins/glob.h"

#include <algorithm>

namespace reins {

namespace {

struct Token {
  enum Kind { kChar, kAnyOne, kClass, kStar, kGlobStar, kGlobStarSlash };
  explicit Token(Kind k, char ch = 0) : kind(k), c(ch) {}
  Kind kind;
  char c;
  std::string set;  // kClass: characters and ranges expanded
  bool negate = false;
};

std::vector<Token> Tokenize(std::string_view p) {
  std::vector<Token> out;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '*') {
      if (i + 1 < p.size() && p[i + 1] == '*') {
        while (i + 1 < p.size() && p[i + 1] == '*') ++i;
        if (i + 1 < p.size() && p[i + 1] == '/') {
          ++i;
          out.emplace_back(Token::kGlobStarSlash);
        } else {
          out.emplace_back(Token::kGlobStar);
        }
      } else {
        out.emplace_back(Token::kStar);
      }
    } else if (c == '?') {
      out.emplace_back(Token::kAnyOne);
    } else if (c == '\\' && i + 1 < p.size()) {
      out.emplace_back(Token::kChar, p[++i]);
    } else if (c == '[') {
      size_t j = i + 1;
      Token t(Token::kClass);
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
        i = j;
      } else {
        out.emplace_back(Token::kChar, '[');  // an unclosed '[' is literal
      }
    } else {
      out.emplace_back(Token::kChar, c);
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

bool GlobMatch(std::string_view pattern, std::string_view t) {
  // Dynamic programming from the end: row[j] says whether tokens i.. match
  // text j..; O(tokens * text) time, two rows of memory.
  std::vector<Token> tokens = Tokenize(pattern);
  const size_t m = t.size();
  std::vector<char> next(m + 1, 0), row(m + 1, 0);
  next[m] = 1;  // no tokens left: only the empty text matches
  for (size_t i = tokens.size(); i-- > 0;) {
    const Token& tok = tokens[i];
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

PathPattern::PathPattern(std::string pattern) : pattern_(std::move(pattern)) {
  for (std::string_view home : {"${HOME}", "$HOME"}) {
    if (pattern_.rfind(home, 0) == 0) pattern_ = "~" + pattern_.substr(home.size());
  }
  while (pattern_.size() > 1 && pattern_.back() == '/') pattern_.pop_back();
  basename_only_ = pattern_.find('/') == std::string::npos && pattern_ != "~";
}

bool PathPattern::Matches(std::string_view path, std::string_view cwd) const {
  for (const std::string& c : PathCandidates(path, cwd)) {
    // The path itself and each of its parent directories.
    std::string_view cand = c;
    while (true) {
      if (basename_only_) {
        size_t slash = cand.rfind('/');
        if (GlobMatch(pattern_, slash == std::string_view::npos ? cand : cand.substr(slash + 1))) {
          return true;
        }
      } else if (pattern_[0] == '/' || pattern_[0] == '~') {
        if (GlobMatch(pattern_, cand)) return true;
      } else if (GlobMatch(pattern_, cand) || GlobMatch("**/" + pattern_, cand)) {
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
