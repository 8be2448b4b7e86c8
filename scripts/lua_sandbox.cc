// The sandboxed globals: which standard functions a script gets, and the
// wrappers that keep them inside the limits.
//
//   base    assert error getmetatable ipairs next pairs pcall print rawequal
//           rawget rawlen rawset select setmetatable tonumber tostring type
//           xpcall load collectgarbage _VERSION; no dofile, loadfile,
//           require, warn. load takes text only (binary chunks are refused),
//           collectgarbage only "count", print goes to reins.log.
//   string  without dump; find, match, gmatch, gsub are reins's own
//           step-counted matcher (lua_pattern.cc)
//   table   every function; moving, sorting and unpacking are charged
//   math    without random and randomseed (evaluation is deterministic)
//   utf8    every function
// No io, os, debug, package or coroutine. Library tables are read-only
// proxies shared by every evaluation of the state.
//
// pcall and xpcall re-raise a stop (budget, memory, time), so a script
// cannot catch one; setmetatable refuses __gc (finalizers would run at
// arbitrary later times, in other sessions' evaluations) and __mode (weak
// tables make results depend on when the collector runs).
#include <cmath>
#include <cstring>
#include <exception>

#include "scripts/lua_pattern.h"
#include "scripts/lua_runtime.h"
#include "scripts/lua_values.h"

namespace reins::lua {

namespace {

void Reraise(lua_State* L, int status) {
  Runtime* rt = GetRuntime(L);
  if (status == LUA_ERRMEM && rt->stop() == Stop::kNone) rt->SetStop(Stop::kMemory);
  if (rt->stop() != Stop::kNone) lua_error(L);
}

int SbPcall(lua_State* L) {
  luaL_checkany(L, 1);
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  Reraise(L, status);
  lua_pushboolean(L, status == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}

// The message handler xpcall installs: the script's handler (upvalue 1),
// except for a stop. A stop is raised from the count hook, and Lua runs a
// message handler before unwinding, still inside the hook where no hook
// fires: the script's handler would run unbounded.
int GuardedHandler(lua_State* L) {
  if (GetRuntime(L)->stop() != Stop::kNone) return 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

int SbXpcall(lua_State* L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, GuardedHandler, 1);
  lua_replace(L, 2);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 1);  // f, msgh, f, args...
  int status = lua_pcall(L, n - 2, LUA_MULTRET, 2);
  Reraise(L, status);
  lua_pushboolean(L, status == LUA_OK);
  lua_replace(L, 2);  // f, status, results...
  return lua_gettop(L) - 1;
}

// load(chunk [, chunkname [, mode [, env]]]): text only, whatever `mode` says.
int SbLoad(lua_State* L) {
  size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  if (lua_type(L, 1) != LUA_TSTRING) {
    return luaL_argerror(L, 1, "string expected (the sandbox loads text chunks only)");
  }
  const char* name = luaL_optstring(L, 2, "=(load)");
  bool has_env = !lua_isnone(L, 4);
  Charge(L, static_cast<int64_t>(len) / 16);
  int status = luaL_loadbufferx(L, s, len, name, "t");
  Reraise(L, status);
  if (status != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (has_env) {
    lua_pushvalue(L, 4);
  } else {
    // The environment of the code calling load: this evaluation's globals.
    lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotChunk);
    if (lua_isfunction(L, -1)) {
      lua_getupvalue(L, -1, 1);
      lua_remove(L, -2);
    } else {
      lua_pop(L, 1);
      lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotGlobals);
    }
  }
  lua_setupvalue(L, -2, 1);
  return 1;
}

int SbSetmetatable(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int t = lua_type(L, 2);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
  if (t == LUA_TTABLE) {
    for (const char* field : {"__gc", "__mode"}) {
      lua_pushstring(L, field);
      if (lua_rawget(L, 2) != LUA_TNIL) {
        return luaL_error(L, "setmetatable: %s is not available in the sandbox", field);
      }
      lua_pop(L, 1);
    }
  }
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) {
    return luaL_error(L, "cannot change a protected metatable");
  }
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

int SbRawset(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  if (IsReadOnlyTable(L, 1)) return luaL_error(L, "attempt to modify a read-only table");
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

int SbCollectgarbage(lua_State* L) {
  const char* opt = luaL_optstring(L, 1, "collect");
  if (strcmp(opt, "count") != 0) {
    return luaL_error(L, "collectgarbage: only \"count\" is available in the sandbox");
  }
  int kb = lua_gc(L, LUA_GCCOUNT);
  int bytes = lua_gc(L, LUA_GCCOUNTB);
  lua_pushnumber(L, static_cast<lua_Number>(kb) + static_cast<lua_Number>(bytes) / 1024);
  return 1;
}

int SbPrint(lua_State* L) {
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; ++i) {
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, nullptr);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  size_t len = 0;
  const char* s = lua_tolstring(L, -1, &len);
  LogNote(GetRuntime(L), s, len);
  return 0;
}

int SbType(lua_State* L) {
  luaL_checkany(L, 1);
  bool table_like = lua_type(L, 1) == LUA_TUSERDATA && lua_getmetatable(L, 1);
  if (table_like) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotProxyMeta);
    lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotSessionMeta);
    table_like = lua_rawequal(L, -1, -3) || lua_rawequal(L, -2, -3);
    lua_pop(L, 3);
  }
  lua_pushstring(L, table_like ? "table" : luaL_typename(L, 1));
  return 1;
}

int SbNext(lua_State* L) {
  if (IsView(L, 1)) return ViewNext(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (IsReadOnlyTable(L, 1)) return ReadOnlyNext(L);
  if (lua_next(L, 1)) return 2;
  lua_pushnil(L);
  return 1;
}

// --- charged wrappers: the upvalue is the original function.

int CallOriginal(lua_State* L) {
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

int64_t Span(lua_Integer from, lua_Integer to) {
  if (to < from) return 0;
  lua_Unsigned n = static_cast<lua_Unsigned>(to) - static_cast<lua_Unsigned>(from) + 1;
  return n > static_cast<lua_Unsigned>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(n);
}

// Range [i, j] of a string of length len after Lua's negative-index rules.
int64_t StringSpan(lua_Integer len, lua_Integer i, lua_Integer j) {
  if (i < 0) i = std::max<lua_Integer>(len + i + 1, 1);
  if (i == 0) i = 1;
  if (j < 0) j = len + j + 1;
  if (j > len) j = len;
  return Span(i, j);
}

void CheckResults(lua_State* L, int64_t n, const char* what) {
  if (n > kMaxResults) {
    luaL_error(L, "%s: too many results (%I; the sandbox allows %I)", what,
               static_cast<lua_Integer>(n), kMaxResults);
  }
  Charge(L, n);
}

int WrapStringByte(lua_State* L) {
  size_t len = 0;
  luaL_checklstring(L, 1, &len);
  lua_Integer i = luaL_optinteger(L, 2, 1);
  CheckResults(L, StringSpan(static_cast<lua_Integer>(len), i, luaL_optinteger(L, 3, i)),
               "string.byte");
  return CallOriginal(L);
}

int WrapStringUnpack(lua_State* L) {
  size_t flen = 0, slen = 0;
  luaL_checklstring(L, 1, &flen);
  luaL_checklstring(L, 2, &slen);
  CheckResults(L, static_cast<int64_t>(flen), "string.unpack");
  Charge(L, static_cast<int64_t>(slen) / kBytesPerUnit);
  return CallOriginal(L);
}

int WrapUtf8Codepoint(lua_State* L) {
  size_t len = 0;
  luaL_checklstring(L, 1, &len);
  lua_Integer i = luaL_optinteger(L, 2, 1);
  CheckResults(L, StringSpan(static_cast<lua_Integer>(len), i, luaL_optinteger(L, 3, i)),
               "utf8.codepoint");
  return CallOriginal(L);
}

int WrapUtf8Scan(lua_State* L) {
  size_t len = 0;
  luaL_checklstring(L, 1, &len);
  Charge(L, static_cast<int64_t>(len) / kBytesPerUnit + 1);
  return CallOriginal(L);
}

int WrapTableUnpack(lua_State* L) {
  lua_Integer i = luaL_optinteger(L, 2, 1);
  lua_Integer j = lua_isnoneornil(L, 3) ? luaL_len(L, 1) : luaL_checkinteger(L, 3);
  CheckResults(L, Span(i, j), "table.unpack");
  return CallOriginal(L);
}

int WrapTableConcat(lua_State* L) {
  lua_Integer i = luaL_optinteger(L, 3, 1);
  lua_Integer j = lua_isnoneornil(L, 4) ? luaL_len(L, 1) : luaL_checkinteger(L, 4);
  Charge(L, Span(i, j));
  return CallOriginal(L);
}

int WrapTableShift(lua_State* L) {  // insert and remove shift the elements after the position
  if (lua_gettop(L) >= 2) Charge(L, std::max<lua_Integer>(0, luaL_len(L, 1)));
  return CallOriginal(L);
}

int WrapTableMove(lua_State* L) {
  Charge(L, Span(luaL_checkinteger(L, 2), luaL_checkinteger(L, 3)));
  return CallOriginal(L);
}

int WrapTableSort(lua_State* L) {
  lua_Integer n = luaL_len(L, 1);
  if (n > 1) Charge(L, n * static_cast<int64_t>(std::ceil(std::log2(static_cast<double>(n)))));
  return CallOriginal(L);
}

// Replaces t[name] (t at -1) with `wrapper` closing over the original.
void Wrap(lua_State* L, const char* name, lua_CFunction wrapper) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, wrapper, 1);
  lua_setfield(L, -2, name);
}

void Remove(lua_State* L, const char* name) {
  lua_pushnil(L);
  lua_setfield(L, -2, name);
}

// Opens a standard library (its table at -1, not made global).
void Require(lua_State* L, const char* name, lua_CFunction open) {
  luaL_requiref(L, name, open, 0);
}

}  // namespace

void LogNote(Runtime* rt, const char* s, size_t n) noexcept {
  if (!rt->view()) return;
  try {
    rt->view()->Log(SanitizeUtf8(std::string_view(s, std::min<size_t>(n, 4096))));
  } catch (const std::exception&) {
    // A note that cannot be stored is dropped, like notes past the limit.
  }
}

int OpenSandbox(lua_State* L) {
  lua_newtable(L);
  lua_rawseti(L, LUA_REGISTRYINDEX, kSlotReadOnly);
  OpenValues(L);
  OpenSession(L);

  lua_createtable(L, 0, 32);  // the sandbox globals
  int globals = lua_gettop(L);

  Require(L, "_G", luaopen_base);
  for (const char* name : {"assert", "error", "getmetatable", "ipairs", "pairs", "rawequal",
                           "rawget", "rawlen", "select", "tonumber", "tostring", "_VERSION"}) {
    lua_getfield(L, -1, name);
    lua_setfield(L, globals, name);
  }
  lua_pop(L, 1);
  static const luaL_Reg kBase[] = {{"pcall", SbPcall},   {"xpcall", SbXpcall},
                                   {"load", SbLoad},     {"setmetatable", SbSetmetatable},
                                   {"rawset", SbRawset}, {"collectgarbage", SbCollectgarbage},
                                   {"print", SbPrint},   {"type", SbType},
                                   {"next", SbNext},     {nullptr, nullptr}};
  luaL_setfuncs(L, kBase, 0);

  Require(L, "string", luaopen_string);
  Remove(L, "dump");
  Wrap(L, "byte", WrapStringByte);
  Wrap(L, "unpack", WrapStringUnpack);
  OpenPatterns(L);
  // Methods on strings ("x"):upper() use this same table; protect the
  // string metatable so scripts cannot reach or replace it.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);
  PushReadOnlyTable(L, -1);
  lua_setfield(L, globals, "string");
  lua_pop(L, 1);

  Require(L, "table", luaopen_table);
  Wrap(L, "unpack", WrapTableUnpack);
  Wrap(L, "concat", WrapTableConcat);
  Wrap(L, "insert", WrapTableShift);
  Wrap(L, "remove", WrapTableShift);
  Wrap(L, "move", WrapTableMove);
  Wrap(L, "sort", WrapTableSort);
  PushReadOnlyTable(L, -1);
  lua_setfield(L, globals, "table");
  lua_pop(L, 1);

  Require(L, "math", luaopen_math);
  Remove(L, "random");
  Remove(L, "randomseed");
  PushReadOnlyTable(L, -1);
  lua_setfield(L, globals, "math");
  lua_pop(L, 1);

  Require(L, "utf8", luaopen_utf8);
  Wrap(L, "codepoint", WrapUtf8Codepoint);
  Wrap(L, "len", WrapUtf8Scan);
  Wrap(L, "offset", WrapUtf8Scan);
  PushReadOnlyTable(L, -1);
  lua_setfield(L, globals, "utf8");
  lua_pop(L, 1);

  OpenReinsApi(L, globals);

  lua_pushvalue(L, globals);
  lua_rawseti(L, LUA_REGISTRYINDEX, kSlotGlobals);
  // Anything that falls back to the registry's global table (nothing in
  // the sandbox should) sees a read-only view of the sandbox globals.
  PushReadOnlyTable(L, globals);
  lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_settop(L, 0);
  // Most garbage of an evaluation (views, verdict tables) dies young.
  lua_gc(L, LUA_GCGEN, 0, 0);
  return 0;
}

}  // namespace reins::lua
