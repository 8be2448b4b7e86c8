// Read-only tables: the proxies that keep shared tables (the libraries, the
// parameters, a script's top-level globals) from being changed by one
// evaluation for the next.
//
// A proxy is an empty table whose metatable reads through to the real table
// (__index, __len, __pairs) and refuses writes (__newindex); __metatable
// hides and protects the metatable, and the sandbox's rawset and next know
// proxies through the registry map kSlotReadOnly (proxy -> real table).
//
// pairs and next over a proxy go in sorted key order (integers, then other
// numbers, then strings bytewise): Lua seeds its string hashes per state,
// so the raw order could differ between two runs of the same events. The
// order is computed on first use and kept in the metatable, which is fine
// because the table never changes.
#include <cstdlib>
#include <cstring>

#include "scripts/lua_runtime.h"

namespace reins::lua {

namespace {

int RoNewIndex(lua_State* L) { return luaL_error(L, "attempt to modify a read-only table"); }

struct KeyEntry {
  int rank;  // 0 integer, 1 other number, 2 string, 3 anything else
  lua_Integer i;
  lua_Number d;
  const char* s;
  size_t len;
  lua_Integer slot;  // position in traversal order (ties, and rank 3)
};

int CompareKeys(const void* pa, const void* pb) {
  const KeyEntry* a = static_cast<const KeyEntry*>(pa);
  const KeyEntry* b = static_cast<const KeyEntry*>(pb);
  if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
  if (a->rank == 0 && a->i != b->i) return a->i < b->i ? -1 : 1;
  if (a->rank == 1 && a->d != b->d) return a->d < b->d ? -1 : 1;
  if (a->rank == 2) {
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    if (c != 0) return c;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
  }
  return a->slot < b->slot ? -1 : (a->slot > b->slot ? 1 : 0);
}

// Stores in the metatable at mt the sorted keys of the real table
// (mt.__keys) and each key's position (mt.__positions).
void BuildOrder(lua_State* L, int mt) {
  mt = lua_absindex(L, mt);
  int base = lua_gettop(L);
  lua_pushliteral(L, "__index");
  lua_rawget(L, mt);
  int real = lua_gettop(L);
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, real)) {
    lua_pop(L, 1);
    ++n;
  }
  lua_createtable(L, static_cast<int>(n), 0);  // keys in traversal order
  int raw = lua_gettop(L);
  KeyEntry* e = static_cast<KeyEntry*>(
      lua_newuserdatauv(L, sizeof(KeyEntry) * static_cast<size_t>(n > 0 ? n : 1), 0));
  lua_Integer k = 0;
  lua_pushnil(L);
  while (lua_next(L, real)) {
    lua_pop(L, 1);
    if (k >= n) {  // cannot happen: the table does not change
      lua_pop(L, 1);
      break;
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, raw, k + 1);
    KeyEntry& entry = e[k];
    entry = KeyEntry{3, 0, 0, nullptr, 0, k + 1};
    if (lua_isinteger(L, -1)) {
      entry.rank = 0;
      entry.i = lua_tointeger(L, -1);
    } else if (lua_type(L, -1) == LUA_TNUMBER) {
      entry.rank = 1;
      entry.d = lua_tonumber(L, -1);
    } else if (lua_type(L, -1) == LUA_TSTRING) {
      entry.rank = 2;
      entry.s = lua_tolstring(L, -1, &entry.len);  // a string key: no conversion
    }
    ++k;
  }
  qsort(e, static_cast<size_t>(k), sizeof(KeyEntry), CompareKeys);
  lua_createtable(L, static_cast<int>(k), 0);
  int keys = lua_gettop(L);
  lua_createtable(L, 0, static_cast<int>(k));
  int positions = lua_gettop(L);
  for (lua_Integer i = 0; i < k; ++i) {
    lua_rawgeti(L, raw, e[i].slot);
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, i + 1);
    lua_pushinteger(L, i + 1);
    lua_rawset(L, positions);
  }
  lua_pushliteral(L, "__positions");
  lua_pushvalue(L, positions);
  lua_rawset(L, mt);
  lua_pushliteral(L, "__keys");
  lua_pushvalue(L, keys);
  lua_rawset(L, mt);
  lua_settop(L, base);
}

int RoPairs(lua_State* L) {
  lua_pushcfunction(L, ReadOnlyNext);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

int RoLen(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(lua_rawlen(L, lua_upvalueindex(1))));
  return 1;
}

}  // namespace

int ReadOnlyNext(lua_State* L) {
  lua_settop(L, 2);
  if (!lua_getmetatable(L, 1)) return luaL_error(L, "not a read-only table");  // 3
  lua_pushliteral(L, "__keys");
  if (lua_rawget(L, 3) != LUA_TTABLE) {
    lua_pop(L, 1);
    BuildOrder(L, 3);
    lua_pushliteral(L, "__keys");
    lua_rawget(L, 3);
  }
  lua_Integer i = 0;  // 4: keys
  if (!lua_isnil(L, 2)) {
    lua_pushliteral(L, "__positions");
    lua_rawget(L, 3);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    i = lua_tointeger(L, -1);
    if (i == 0) return luaL_error(L, "invalid key to 'next'");
    lua_settop(L, 4);
  }
  if (lua_rawgeti(L, 4, i + 1) == LUA_TNIL) return 1;
  lua_pushliteral(L, "__index");
  lua_rawget(L, 3);
  lua_pushvalue(L, -2);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  return 2;
}

void PushReadOnlyTable(lua_State* L, int real) {
  real = lua_absindex(L, real);
  lua_createtable(L, 0, 0);
  lua_createtable(L, 0, 5);
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, RoNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, RoPairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushvalue(L, real);
  lua_pushcclosure(L, RoLen, 1);
  lua_setfield(L, -2, "__len");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotReadOnly);
  lua_pushvalue(L, -2);
  lua_pushvalue(L, real);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

bool PushProxiedTable(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return false;
  idx = lua_absindex(L, idx);
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotReadOnly);
  lua_pushvalue(L, idx);
  if (lua_rawget(L, -2) != LUA_TTABLE) {
    lua_pop(L, 2);
    return false;
  }
  lua_remove(L, -2);
  return true;
}

bool IsReadOnlyTable(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return false;
  idx = lua_absindex(L, idx);
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotReadOnly);
  lua_pushvalue(L, idx);
  bool ro = lua_rawget(L, -2) != LUA_TNIL;
  lua_pop(L, 2);
  return ro;
}

void FreezeGlobals(lua_State* L, int module_env) {
  module_env = lua_absindex(L, module_env);
  lua_createtable(L, 0, 48);
  int frozen = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotGlobals);
  for (int source : {lua_gettop(L), module_env}) {
    lua_pushnil(L);
    while (lua_next(L, source)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, frozen);
    }
  }
  lua_pop(L, 1);
  // Empty module_env (assigning nil to present keys is allowed while traversing).
  lua_pushnil(L);
  while (lua_next(L, module_env)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, module_env);
  }
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, frozen);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, RoNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, RoPairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, module_env);
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotReadOnly);
  lua_pushvalue(L, module_env);
  lua_pushvalue(L, frozen);
  lua_rawset(L, -3);
  lua_pop(L, 1);

  lua_createtable(L, 0, 2);
  lua_pushvalue(L, frozen);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_rawseti(L, LUA_REGISTRYINDEX, kSlotEnvMeta);
  lua_pop(L, 1);  // frozen
}

}  // namespace reins::lua
