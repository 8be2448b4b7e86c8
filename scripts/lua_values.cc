// Read-only views of JSON in Lua, and plain tables built from JSON.
#include "scripts/lua_values.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace reins::lua {

// Iterators over JSON live in frames that a Lua error may unwind.
static_assert(std::is_trivially_destructible_v<Json::const_iterator>);

namespace {

// The address is the identity of reins.json.null.
const char kNullSentinel = 0;

// Strings at least this long are cached in their view and charged to the
// input allowance when first read; shorter ones are cheap to push again.
constexpr size_t kLongString = 64;

struct View {
  const Json* node;
  uint64_t generation;
};

}  // namespace

bool HasMetatable(lua_State* L, int idx, int slot) {
  if (!lua_getmetatable(L, idx)) return false;
  lua_rawgeti(L, LUA_REGISTRYINDEX, slot);
  bool same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

namespace {

// Pushes the value of `child` for the view at view_idx under the key at
// key_idx: containers and long strings are cached in the view's user value
// so that repeated reads return the same object and are charged once.
void PushChild(lua_State* L, int view_idx, int key_idx, const Json& child, uint64_t generation) {
  bool container = child.is_object() || child.is_array();
  bool long_string = child.is_string() && child.get_ref<const std::string&>().size() >= kLongString;
  if (!container && !long_string) {
    PushViewValue(L, child, generation);
    return;
  }
  if (lua_getiuservalue(L, view_idx, 1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, view_idx, 1);
  }
  lua_pushvalue(L, key_idx);
  if (lua_rawget(L, -2) != LUA_TNIL) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  if (container) {
    PushView(L, &child, generation);
  } else {
    const std::string& s = child.get_ref<const std::string&>();
    ChargeInput(L, s.size());
    lua_pushlstring(L, s.data(), s.size());
  }
  lua_pushvalue(L, key_idx);
  lua_pushvalue(L, -2);
  lua_rawset(L, -4);
  lua_remove(L, -2);
}

int ViewIndex(lua_State* L) {
  const Json* node = CheckView(L, 1);
  uint64_t generation = static_cast<View*>(lua_touserdata(L, 1))->generation;
  if (node->is_object()) {
    if (lua_type(L, 2) != LUA_TSTRING) return 0;
    size_t n = 0;
    const char* k = lua_tolstring(L, 2, &n);
    auto it = node->find(std::string_view(k, n));
    if (it == node->end()) return 0;
    PushChild(L, 1, 2, *it, generation);
    return 1;
  }
  int isnum = 0;
  lua_Integer i = lua_tointegerx(L, 2, &isnum);
  if (!isnum || i < 1 || static_cast<size_t>(i) > node->size()) return 0;
  PushChild(L, 1, 2, (*node)[static_cast<size_t>(i - 1)], generation);
  return 1;
}

int ViewLen(lua_State* L) {
  const Json* node = CheckView(L, 1);
  lua_pushinteger(L, node->is_array() ? static_cast<lua_Integer>(node->size()) : 0);
  return 1;
}

int ViewPairs(lua_State* L) {
  CheckView(L, 1);
  lua_pushcfunction(L, ViewNext);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

int ViewEq(lua_State* L) {
  lua_pushboolean(L, IsView(L, 1) && IsView(L, 2) &&
                         static_cast<View*>(lua_touserdata(L, 1))->node ==
                             static_cast<View*>(lua_touserdata(L, 2))->node);
  return 1;
}

int ViewNewIndex(lua_State* L) {
  return luaL_error(L, "attempt to modify a read-only table (return state updates instead)");
}

}  // namespace

void PushPlain(lua_State* L, const Json& v, int depth) {
  if (depth > kMaxDepth) luaL_error(L, "JSON nested deeper than %d levels", kMaxDepth);
  luaL_checkstack(L, 4, "JSON nested too deeply");
  if (v.is_object()) {
    lua_createtable(L, 0, static_cast<int>(std::min<size_t>(v.size(), 1 << 16)));
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string& key = it.key();
      lua_pushlstring(L, key.data(), key.size());
      PushPlain(L, it.value(), depth + 1);
      lua_rawset(L, -3);
    }
  } else if (v.is_array()) {
    lua_createtable(L, static_cast<int>(std::min<size_t>(v.size(), 1 << 16)), 0);
    lua_Integer i = 0;
    for (auto it = v.begin(); it != v.end(); ++it) {
      PushPlain(L, *it, depth + 1);
      lua_rawseti(L, -2, ++i);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotArrayMeta);
    lua_setmetatable(L, -2);
  } else {
    PushViewValue(L, v, 0);
  }
}

void PushReadOnlyPlain(lua_State* L, const Json& v, int depth) {
  if (depth > kMaxDepth) luaL_error(L, "parameters nested deeper than %d levels", kMaxDepth);
  luaL_checkstack(L, 4, "JSON nested too deeply");
  if (!v.is_object() && !v.is_array()) {
    PushViewValue(L, v, 0);
    return;
  }
  lua_createtable(L, v.is_array() ? static_cast<int>(v.size()) : 0,
                  v.is_object() ? static_cast<int>(v.size()) : 0);
  lua_Integer i = 0;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (v.is_object()) {
      lua_pushlstring(L, it.key().data(), it.key().size());
    } else {
      lua_pushinteger(L, ++i);
    }
    PushReadOnlyPlain(L, it.value(), depth + 1);
    lua_rawset(L, -3);
  }
  if (v.is_array()) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotArrayMeta);
    lua_setmetatable(L, -2);
  }
  PushReadOnlyTable(L, -1);
  lua_remove(L, -2);
}

void PushNull(lua_State* L) { lua_pushlightuserdata(L, const_cast<char*>(&kNullSentinel)); }

bool IsNull(lua_State* L, int idx) {
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == &kNullSentinel;
}

void PushView(lua_State* L, const Json* node, uint64_t generation) {
  View* v = static_cast<View*>(lua_newuserdatauv(L, sizeof(View), 1));
  v->node = node;
  v->generation = generation;
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotProxyMeta);
  lua_setmetatable(L, -2);
}

void PushViewValue(lua_State* L, const Json& v, uint64_t generation) {
  switch (v.type()) {
    case Json::value_t::null:
      PushNull(L);
      return;
    case Json::value_t::boolean:
      lua_pushboolean(L, v.get<bool>());
      return;
    case Json::value_t::number_integer:
      lua_pushinteger(L, v.get<int64_t>());
      return;
    case Json::value_t::number_unsigned: {
      uint64_t u = v.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) {
        lua_pushinteger(L, static_cast<lua_Integer>(u));
      } else {
        lua_pushnumber(L, static_cast<lua_Number>(u));
      }
      return;
    }
    case Json::value_t::number_float:
      lua_pushnumber(L, v.get<double>());
      return;
    case Json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      if (s.size() >= kLongString) ChargeInput(L, s.size());
      lua_pushlstring(L, s.data(), s.size());
      return;
    }
    case Json::value_t::object:
    case Json::value_t::array:
      PushView(L, &v, generation);
      return;
    default:
      lua_pushnil(L);
      return;
  }
}

bool IsView(lua_State* L, int idx) {
  return lua_type(L, idx) == LUA_TUSERDATA && HasMetatable(L, idx, kSlotProxyMeta);
}

const Json* CheckView(lua_State* L, int idx) {
  if (!IsView(L, idx)) luaL_typeerror(L, idx, "read-only table");
  const View* v = static_cast<const View*>(lua_touserdata(L, idx));
  if (v->generation != 0 && v->generation != GetRuntime(L)->generation()) {
    luaL_error(L,
               "a read-only table (event, state or query result) used after its evaluation ended");
  }
  return v->node;
}

const Json* ViewNode(lua_State* L, int idx) {
  const View* v = static_cast<const View*>(lua_touserdata(L, idx));
  if (v->generation != 0 && v->generation != GetRuntime(L)->generation()) return nullptr;
  return v->node;
}

int ViewNext(lua_State* L) {
  const Json* node = CheckView(L, 1);
  uint64_t generation = static_cast<View*>(lua_touserdata(L, 1))->generation;
  lua_settop(L, 2);
  if (node->is_array()) {
    lua_Integer i = lua_isnil(L, 2) ? 0 : luaL_checkinteger(L, 2);
    if (i < 0 || static_cast<size_t>(i) >= node->size()) {
      lua_pushnil(L);
      return 1;
    }
    lua_pushinteger(L, i + 1);
    PushChild(L, 1, 3, (*node)[static_cast<size_t>(i)], generation);
    return 2;
  }
  if (!node->is_object()) {
    lua_pushnil(L);
    return 1;
  }
  auto it = node->begin();
  if (!lua_isnil(L, 2)) {
    size_t n = 0;
    const char* k = luaL_checklstring(L, 2, &n);
    it = node->find(std::string_view(k, n));
    if (it == node->end()) return luaL_error(L, "invalid key to 'next'");
    ++it;
  }
  if (it == node->end()) {
    lua_pushnil(L);
    return 1;
  }
  const std::string& key = it.key();
  lua_pushlstring(L, key.data(), key.size());
  PushChild(L, 1, 3, it.value(), generation);
  return 2;
}

void OpenValues(lua_State* L) {
  static const luaL_Reg kViewMeta[] = {{"__index", ViewIndex},       {"__len", ViewLen},
                                       {"__pairs", ViewPairs},       {"__eq", ViewEq},
                                       {"__newindex", ViewNewIndex}, {nullptr, nullptr}};
  lua_createtable(L, 0, 8);
  luaL_setfuncs(L, kViewMeta, 0);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pushliteral(L, "read-only table");
  lua_setfield(L, -2, "__name");
  lua_rawseti(L, LUA_REGISTRYINDEX, kSlotProxyMeta);

  lua_createtable(L, 0, 1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_rawseti(L, LUA_REGISTRYINDEX, kSlotArrayMeta);
}

}  // namespace reins::lua
