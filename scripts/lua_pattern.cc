// A backtracking matcher for Lua patterns, written from the Lua 5.4 manual,
// that charges its steps to the instruction budget. Plain C style: it runs
// inside lua_CFunctions and may raise (a malformed pattern, the budget).
// The string functions built on it are in lua_strlib.cc.
#include "scripts/lua_pattern.h"

#include <cctype>
#include <cstring>

namespace reins::lua::pattern {

namespace {

constexpr int kMaxMatchDepth = 200;  // recursion (C stack) bound, as in the standard library
constexpr ptrdiff_t kCapUnfinished = -1;
constexpr ptrdiff_t kCapPosition = -2;
constexpr int kStepsPerCharge = 1024;  // = kHookStep: each charge also checks the watchdog
constexpr char kEsc = '%';

int U(char c) { return static_cast<unsigned char>(c); }

void Step(MatchState* ms) {
  if (++ms->steps >= kStepsPerCharge) {
    int n = ms->steps;
    ms->steps = 0;
    Charge(ms->L, n);
  }
}

// The end of the single-character class starting at p.
const char* ClassEnd(MatchState* ms, const char* p) {
  char c = *p++;
  if (c == kEsc) {
    if (p >= ms->p_end) luaL_error(ms->L, "malformed pattern (ends with '%%')");
    return p + 1;
  }
  if (c == '[') {
    if (p < ms->p_end && *p == '^') p++;
    // The first character of a set is literal, even a ']'.
    do {
      if (p >= ms->p_end) luaL_error(ms->L, "malformed pattern (missing ']')");
      c = *p++;
      if (c == kEsc) {
        if (p >= ms->p_end) luaL_error(ms->L, "malformed pattern (missing ']')");
        p++;
      }
    } while (p >= ms->p_end || *p != ']');
    return p + 1;
  }
  return p;
}

bool MatchClass(int c, int cl) {
  bool res;
  switch (std::tolower(cl)) {
    case 'a':
      res = std::isalpha(c);
      break;
    case 'c':
      res = std::iscntrl(c);
      break;
    case 'd':
      res = std::isdigit(c);
      break;
    case 'g':
      res = std::isgraph(c);
      break;
    case 'l':
      res = std::islower(c);
      break;
    case 'p':
      res = std::ispunct(c);
      break;
    case 's':
      res = std::isspace(c);
      break;
    case 'u':
      res = std::isupper(c);
      break;
    case 'w':
      res = std::isalnum(c);
      break;
    case 'x':
      res = std::isxdigit(c);
      break;
    default:
      return cl == c;
  }
  return std::isupper(cl) ? !res : res;
}

// p points at '[' and ec at the closing ']'.
bool MatchBracket(int c, const char* p, const char* ec) {
  bool sig = true;
  p++;
  if (*p == '^') {
    sig = false;
    p++;
  }
  while (p < ec) {
    if (*p == kEsc && p + 1 < ec) {
      p++;
      if (MatchClass(c, U(*p))) return sig;
      p++;
    } else if (p + 2 < ec && p[1] == '-') {
      if (U(p[0]) <= c && c <= U(p[2])) return sig;
      p += 3;
    } else {
      if (U(*p) == c) return sig;
      p++;
    }
  }
  return !sig;
}

bool SingleMatch(MatchState* ms, const char* s, const char* p, const char* ep) {
  if (s >= ms->src_end) return false;
  int c = U(*s);
  switch (*p) {
    case '.':
      return true;
    case kEsc:
      return MatchClass(c, U(p[1]));
    case '[':
      return MatchBracket(c, p, ep - 1);
    default:
      return U(*p) == c;
  }
}

const char* MatchBalance(MatchState* ms, const char* s, const char* p) {
  if (p + 1 >= ms->p_end) luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
  if (s >= ms->src_end || *s != *p) return nullptr;
  char b = *p, e = p[1];
  int open = 1;
  while (++s < ms->src_end) {
    Step(ms);
    if (*s == e) {
      if (--open == 0) return s + 1;
    } else if (*s == b) {
      open++;
    }
  }
  return nullptr;
}

const char* MaxExpand(MatchState* ms, const char* s, const char* p, const char* ep) {
  ptrdiff_t i = 0;
  while (SingleMatch(ms, s + i, p, ep)) {
    i++;
    Step(ms);
  }
  // Longest first, then back off one at a time.
  for (; i >= 0; i--) {
    const char* r = Match(ms, s + i, ep + 1);
    if (r) return r;
  }
  return nullptr;
}

const char* MinExpand(MatchState* ms, const char* s, const char* p, const char* ep) {
  for (;;) {
    const char* r = Match(ms, s, ep + 1);
    if (r) return r;
    if (!SingleMatch(ms, s, p, ep)) return nullptr;
    s++;
  }
}

const char* StartCapture(MatchState* ms, const char* s, const char* p, ptrdiff_t what) {
  if (ms->level >= kMaxCaptures) luaL_error(ms->L, "too many captures");
  ms->capture[ms->level].init = s;
  ms->capture[ms->level].len = what;
  ms->level++;
  const char* r = Match(ms, s, p);
  if (!r) ms->level--;
  return r;
}

const char* EndCapture(MatchState* ms, const char* s, const char* p) {
  int l = ms->level - 1;
  while (l >= 0 && ms->capture[l].len != kCapUnfinished) l--;
  if (l < 0) luaL_error(ms->L, "invalid pattern capture");
  ms->capture[l].len = s - ms->capture[l].init;
  const char* r = Match(ms, s, p);
  if (!r) ms->capture[l].len = kCapUnfinished;
  return r;
}

const char* MatchCapture(MatchState* ms, const char* s, int digit) {
  int l = digit - '1';
  if (l < 0 || l >= ms->level || ms->capture[l].len == kCapUnfinished) {
    luaL_error(ms->L, "invalid capture index %%%d", l + 1);
  }
  ptrdiff_t len = ms->capture[l].len;
  if (len < 0) return nullptr;  // a position capture never matches text
  Charge(ms->L, len / kBytesPerUnit);
  if (ms->src_end - s >= len && memcmp(ms->capture[l].init, s, static_cast<size_t>(len)) == 0) {
    return s + len;
  }
  return nullptr;
}

}  // namespace

void Flush(MatchState* ms) {
  int n = ms->steps;
  ms->steps = 0;
  Charge(ms->L, n);
}

void Prepare(MatchState* ms, lua_State* L, const char* s, size_t ls, const char* p, size_t lp) {
  ms->L = L;
  ms->src_init = s;
  ms->src_end = s + ls;
  ms->p_end = p + lp;
  ms->steps = 0;
  ms->level = 0;
  ms->depth = kMaxMatchDepth;
}

void Reprepare(MatchState* ms) {
  ms->level = 0;
  ms->depth = kMaxMatchDepth;
}

const char* Match(MatchState* ms, const char* s, const char* p) {
  if (ms->depth-- == 0) luaL_error(ms->L, "pattern too complex");
  for (;;) {
    Step(ms);
    if (p == ms->p_end) break;
    if (*p == '(') {
      s = p + 1 < ms->p_end && p[1] == ')' ? StartCapture(ms, s, p + 2, kCapPosition)
                                           : StartCapture(ms, s, p + 1, kCapUnfinished);
      break;
    }
    if (*p == ')') {
      s = EndCapture(ms, s, p + 1);
      break;
    }
    if (*p == '$' && p + 1 == ms->p_end) {
      if (s != ms->src_end) s = nullptr;
      break;
    }
    if (*p == kEsc && p + 1 < ms->p_end) {
      if (p[1] == 'b') {
        s = MatchBalance(ms, s, p + 2);
        if (!s) break;
        p += 4;
        continue;
      }
      if (p[1] == 'f') {
        p += 2;
        if (p >= ms->p_end || *p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
        const char* ep = ClassEnd(ms, p);
        int prev = s == ms->src_init ? '\0' : U(s[-1]);
        int cur = s < ms->src_end ? U(*s) : '\0';
        if (!MatchBracket(prev, p, ep - 1) && MatchBracket(cur, p, ep - 1)) {
          p = ep;
          continue;
        }
        s = nullptr;
        break;
      }
      if (std::isdigit(U(p[1]))) {
        s = MatchCapture(ms, s, U(p[1]));
        if (!s) break;
        p += 2;
        continue;
      }
    }
    // A single-character class, maybe followed by a repetition.
    const char* ep = ClassEnd(ms, p);
    char rep = ep < ms->p_end ? *ep : '\0';
    if (!SingleMatch(ms, s, p, ep)) {
      if (rep == '*' || rep == '?' || rep == '-') {
        p = ep + 1;
        continue;
      }
      s = nullptr;
      break;
    }
    if (rep == '?') {
      const char* r = Match(ms, s + 1, ep + 1);
      if (r) {
        s = r;
        break;
      }
      p = ep + 1;
      continue;
    }
    if (rep == '+') {
      s = MaxExpand(ms, s + 1, p, ep);
      break;
    }
    if (rep == '*') {
      s = MaxExpand(ms, s, p, ep);
      break;
    }
    if (rep == '-') {
      s = MinExpand(ms, s, p, ep);
      break;
    }
    s++;
    p = ep;
  }
  ms->depth++;
  return s;
}

void PushOneCapture(MatchState* ms, int i, const char* s, const char* e) {
  if (i >= ms->level) {
    if (i != 0) luaL_error(ms->L, "invalid capture index %%%d", i + 1);
    lua_pushlstring(ms->L, s, static_cast<size_t>(e - s));  // the whole match
    return;
  }
  ptrdiff_t l = ms->capture[i].len;
  if (l == kCapUnfinished) luaL_error(ms->L, "unfinished capture");
  if (l == kCapPosition) {
    lua_pushinteger(ms->L, (ms->capture[i].init - ms->src_init) + 1);
  } else {
    lua_pushlstring(ms->L, ms->capture[i].init, static_cast<size_t>(l));
  }
}

// Pushes the captures (or the whole match when there are none and s is set).
int PushCaptures(MatchState* ms, const char* s, const char* e) {
  int n = (ms->level == 0 && s) ? 1 : ms->level;
  luaL_checkstack(ms->L, n, "too many captures");
  for (int i = 0; i < n; i++) PushOneCapture(ms, i, s, e);
  return n;
}

}  // namespace reins::lua::pattern
