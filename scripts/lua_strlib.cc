// string.find, string.match, string.gmatch and string.gsub over the
// step-counted matcher (lua_pattern.cc), with the standard library's
// arguments, results and messages.
#include <cctype>
#include <cstring>

#include "scripts/lua_pattern.h"

namespace reins::lua {

namespace {

using pattern::MatchState;

constexpr char kEsc = '%';

int U(char c) { return static_cast<unsigned char>(c); }

size_t StartIndex(lua_Integer pos, size_t len) {
  if (pos > 0) return static_cast<size_t>(pos);
  if (pos == 0) return 1;
  if (pos < -static_cast<lua_Integer>(len)) return 1;
  return len + static_cast<size_t>(pos) + 1;
}

bool NoSpecials(const char* p, size_t lp) {
  for (size_t i = 0; i < lp; i++) {
    if (strchr("^$*+?.([%-", p[i]) && p[i] != '\0') return false;
  }
  return true;
}

int FindAux(lua_State* L, bool find) {
  size_t ls = 0, lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  size_t init = StartIndex(luaL_optinteger(L, 3, 1), ls);
  if (init > ls + 1) {
    luaL_pushfail(L);
    return 1;
  }
  if (find && (lua_toboolean(L, 4) || NoSpecials(p, lp))) {
    Charge(L, static_cast<int64_t>(ls - init + 1) / kBytesPerUnit + 1);
    const void* hit = memmem(s + init - 1, ls - init + 1, p, lp);
    if (hit) {
      const char* h = static_cast<const char*>(hit);
      lua_pushinteger(L, (h - s) + 1);
      lua_pushinteger(L, static_cast<lua_Integer>((h - s) + lp));
      return 2;
    }
    luaL_pushfail(L);
    return 1;
  }
  MatchState ms;
  const char* s1 = s + init - 1;
  bool anchor = *p == '^';
  if (anchor) {
    p++;
    lp--;
  }
  pattern::Prepare(&ms, L, s, ls, p, lp);
  do {
    pattern::Reprepare(&ms);
    const char* e = pattern::Match(&ms, s1, p);
    if (e) {
      pattern::Flush(&ms);
      if (find) {
        lua_pushinteger(L, (s1 - s) + 1);
        lua_pushinteger(L, e - s);
        return pattern::PushCaptures(&ms, nullptr, nullptr) + 2;
      }
      return pattern::PushCaptures(&ms, s1, e);
    }
  } while (s1++ < ms.src_end && !anchor);
  pattern::Flush(&ms);
  luaL_pushfail(L);
  return 1;
}

int StrFind(lua_State* L) { return FindAux(L, true); }
int StrMatch(lua_State* L) { return FindAux(L, false); }

struct GMatchState {
  const char* src;
  const char* p;
  const char* lastmatch;
  MatchState ms;
};

int GMatchNext(lua_State* L) {
  GMatchState* gm = static_cast<GMatchState*>(lua_touserdata(L, lua_upvalueindex(3)));
  gm->ms.L = L;
  for (const char* src = gm->src; src <= gm->ms.src_end; src++) {
    pattern::Reprepare(&gm->ms);
    const char* e = pattern::Match(&gm->ms, src, gm->p);
    if (e && e != gm->lastmatch) {
      gm->src = gm->lastmatch = e;
      pattern::Flush(&gm->ms);
      return pattern::PushCaptures(&gm->ms, src, e);
    }
  }
  pattern::Flush(&gm->ms);
  return 0;
}

int StrGmatch(lua_State* L) {
  size_t ls = 0, lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  size_t init = StartIndex(luaL_optinteger(L, 3, 1), ls);
  if (init > ls + 1) init = ls + 2;  // past the end: no match
  lua_settop(L, 2);                  // the strings stay alive as upvalues of the iterator
  GMatchState* gm = static_cast<GMatchState*>(lua_newuserdatauv(L, sizeof(GMatchState), 0));
  pattern::Prepare(&gm->ms, L, s, ls, p, lp);
  gm->src = s + init - 1;
  gm->p = p;
  gm->lastmatch = nullptr;
  lua_pushcclosure(L, GMatchNext, 3);
  return 1;
}

void AddString(MatchState* ms, luaL_Buffer* b, const char* s, const char* e) {
  lua_State* L = ms->L;
  size_t l = 0;
  const char* news = lua_tolstring(L, 3, &l);
  const char* p;
  while ((p = static_cast<const char*>(memchr(news, kEsc, l))) != nullptr) {
    luaL_addlstring(b, news, static_cast<size_t>(p - news));
    p++;
    if (*p == kEsc) {
      luaL_addchar(b, *p);
    } else if (std::isdigit(U(*p))) {
      if (*p == '0') {
        luaL_addlstring(b, s, static_cast<size_t>(e - s));
      } else {
        pattern::PushOneCapture(ms, *p - '1', s, e);
        luaL_tolstring(L, -1, nullptr);
        lua_remove(L, -2);
        luaL_addvalue(b);
      }
    } else {
      luaL_error(L, "invalid use of '%c' in replacement string", kEsc);
    }
    l -= static_cast<size_t>(p + 1 - news);
    news = p + 1;
  }
  luaL_addlstring(b, news, l);
}

// Adds the replacement for the match [s, e); false when the match is kept.
bool AddValue(MatchState* ms, luaL_Buffer* b, const char* s, const char* e, int tr) {
  lua_State* L = ms->L;
  if (tr == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    int n = pattern::PushCaptures(ms, s, e);
    lua_call(L, n, 1);
  } else if (tr == LUA_TTABLE) {
    pattern::PushOneCapture(ms, 0, s, e);
    lua_gettable(L, 3);
  } else {
    AddString(ms, b, s, e);
    return true;
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    luaL_addlstring(b, s, static_cast<size_t>(e - s));
    return false;
  }
  if (!lua_isstring(L, -1)) {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  }
  luaL_addvalue(b);
  return true;
}

int StrGsub(lua_State* L) {
  size_t srcl = 0, lp = 0;
  const char* src = luaL_checklstring(L, 1, &srcl);
  const char* p = luaL_checklstring(L, 2, &lp);
  const char* lastmatch = nullptr;
  int tr = lua_type(L, 3);
  lua_Integer max_s = luaL_optinteger(L, 4, static_cast<lua_Integer>(srcl) + 1);
  bool anchor = *p == '^';
  lua_Integer n = 0;
  bool changed = false;
  luaL_argexpected(
      L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
      "string/function/table");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (anchor) {
    p++;
    lp--;
  }
  MatchState ms;
  pattern::Prepare(&ms, L, src, srcl, p, lp);
  while (n < max_s) {
    pattern::Reprepare(&ms);
    const char* e = pattern::Match(&ms, src, p);
    if (e && e != lastmatch) {
      n++;
      changed = AddValue(&ms, &b, src, e, tr) || changed;
      src = lastmatch = e;
    } else if (src < ms.src_end) {
      luaL_addchar(&b, *src++);
    } else {
      break;
    }
    if (anchor) break;
  }
  pattern::Flush(&ms);
  if (!changed) {
    lua_pushvalue(L, 1);
  } else {
    luaL_addlstring(&b, src, static_cast<size_t>(ms.src_end - src));
    luaL_pushresult(&b);
  }
  lua_pushinteger(L, n);
  return 2;
}

}  // namespace

void OpenPatterns(lua_State* L) {
  static const luaL_Reg kFuncs[] = {{"find", StrFind},
                                    {"match", StrMatch},
                                    {"gmatch", StrGmatch},
                                    {"gsub", StrGsub},
                                    {nullptr, nullptr}};
  luaL_setfuncs(L, kFuncs, 0);
}

}  // namespace reins::lua
