// JSON out of Lua (the walker behind ToJson) and reins.json.
#include <cmath>
#include <cstring>
#include <exception>

#include "scripts/lua_values.h"

namespace reins::lua {

namespace {

// Depth of the deepest nesting of [ and { in JSON text, outside strings.
int NestingDepth(const char* s, size_t n) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

// The raise-free walker behind ToJson.
struct Walker {
  lua_State* L;
  Runtime* rt;
  size_t budget;
  std::string path;
  std::string error;

  bool Fail(const std::string& message) {
    std::string where =
        path.size() <= 120 ? path : path.substr(0, 60) + "..." + path.substr(path.size() - 57);
    error = where.empty() ? message : where + ": " + message;
    return false;
  }
  bool Take(size_t n) {
    if (n > budget) return Fail("value too large to convert (limit reached)");
    budget -= n;
    return true;
  }

  bool Value(int idx, int depth, Json* out) {
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
      case LUA_TNIL:
        *out = nullptr;
        return Take(8);
      case LUA_TBOOLEAN:
        *out = lua_toboolean(L, idx) != 0;
        return Take(8);
      case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
          *out = static_cast<int64_t>(lua_tointeger(L, idx));
        } else {
          double d = lua_tonumber(L, idx);
          if (!std::isfinite(d)) return Fail("cannot convert nan or inf to JSON");
          *out = d;
        }
        return Take(8);
      case LUA_TSTRING: {
        size_t n = 0;
        const char* s = lua_tolstring(L, idx, &n);
        if (!Take(n + 8)) return false;
        *out = SanitizeUtf8(std::string_view(s, n));
        return true;
      }
      case LUA_TLIGHTUSERDATA:
        if (!IsNull(L, idx)) return Fail("cannot convert a userdata");
        *out = nullptr;
        return Take(8);
      case LUA_TUSERDATA:
        if (IsView(L, idx)) {
          const Json* node = ViewNode(L, idx);
          if (!node) return Fail("a read-only table used after its evaluation ended");
          if (!Take(ApproxSize(*node, budget))) return false;
          *out = *node;
          return true;
        }
        return Fail("cannot convert a userdata (session?) to JSON");
      case LUA_TTABLE:
        return Table(idx, depth, out);
      default:
        return Fail(std::string("cannot convert a ") + luaL_typename(L, idx) + " to JSON");
    }
  }

  bool Table(int idx, int depth, Json* out) {
    if (depth >= kMaxDepth) return Fail("nested deeper than 64 levels (or a cycle)");
    if (!lua_checkstack(L, 6)) return Fail("nested too deeply");
    if (PushProxiedTable(L, idx)) {  // a read-only proxy: what it stands for
      bool ok = Table(lua_gettop(L), depth, out);
      lua_pop(L, 1);
      return ok;
    }
    bool marked = HasMetatable(L, idx, kSlotArrayMeta);
    size_t count = 0;
    lua_Integer max_index = 0;
    bool strings = false, ints = false;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      if (lua_type(L, -2) == LUA_TSTRING) {
        strings = true;
      } else if (lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1) {
        ints = true;
        max_index = std::max(max_index, lua_tointeger(L, -2));
      } else {
        lua_pop(L, 2);
        return Fail("table keys must be strings (an object) or 1..n (an array)");
      }
      ++count;
      lua_pop(L, 1);
    }
    if (strings && (ints || marked)) return Fail("table mixes string keys and array indices");
    if (!Take(8 + count * 8)) return false;
    if (ints || marked) {
      if (static_cast<size_t>(max_index) != count) {
        return Fail("array has holes (" + std::to_string(count) + " values, highest index " +
                    std::to_string(max_index) + ")");
      }
      *out = Json::array();
      size_t mark = path.size();
      for (size_t i = 1; i <= count; ++i) {
        lua_rawgeti(L, idx, static_cast<lua_Integer>(i));
        path += "[" + std::to_string(i) + "]";
        Json item;
        bool ok = Value(-1, depth + 1, &item);
        lua_pop(L, 1);
        if (!ok) return false;
        path.resize(mark);
        out->push_back(std::move(item));
      }
      return true;
    }
    *out = Json::object();
    size_t mark = path.size();
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      size_t n = 0;
      const char* k = lua_tolstring(L, -2, &n);  // a string key: no conversion
      std::string key = SanitizeUtf8(std::string_view(k, n));
      path += (path.empty() ? "" : ".") + key;
      Json item;
      if (!Take(n) || !Value(-1, depth + 1, &item)) {
        lua_pop(L, 2);
        return false;
      }
      path.resize(mark);
      (*out)[key] = std::move(item);
      lua_pop(L, 1);
    }
    return true;
  }
};

bool EncodeToScratch(lua_State* L, int idx, Runtime* rt) noexcept {
  try {
    Json value;
    if (!ToJson(L, idx, &value, rt->limits().input_bytes)) return false;
    rt->scratch = value.dump(-1, ' ', false, Json::error_handler_t::replace);
    return true;
  } catch (const std::exception& e) {
    rt->SetError(e.what());
    return false;
  }
}

bool ParseToScratch(Runtime* rt, const char* s, size_t n) noexcept {
  try {
    rt->scratch_json = Json::parse(s, s + n);
    return true;
  } catch (const std::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, ...": keep the part after "] ".
    const char* what = e.what();
    const char* cut = strstr(what, "] ");
    rt->SetError(cut ? cut + 2 : what);
    return false;
  }
}

}  // namespace

size_t ApproxSize(const Json& v, size_t limit) {
  if (v.is_string()) return v.get_ref<const std::string&>().size() + 8;
  if (!v.is_object() && !v.is_array()) return 8;
  size_t total = 8;
  for (auto it = v.begin(); it != v.end() && total <= limit; ++it) {
    if (v.is_object()) total += it.key().size();
    total += ApproxSize(*it, limit - std::min(total, limit));
  }
  return total;
}

std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= s.size();
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // No overlong forms, surrogates or code points past U+10FFFF.
    ok = ok && !(len == 2 && cp < 0x80) && !(len == 3 && cp < 0x800) &&
         !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (ok) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

bool ToJson(lua_State* L, int idx, Json* out, size_t max_bytes) {
  Runtime* rt = GetRuntime(L);
  idx = lua_absindex(L, idx);
  if (!lua_checkstack(L, 8)) {
    rt->SetError("out of stack space");
    return false;
  }
  try {
    Walker w{L, rt, max_bytes, {}, {}};
    if (w.Value(idx, 0, out)) return true;
    rt->SetError(w.error);
  } catch (const std::exception& e) {
    rt->SetError(e.what());
  }
  return false;
}

int JsonEncode(lua_State* L) {
  luaL_checkany(L, 1);
  Runtime* rt = GetRuntime(L);
  if (!EncodeToScratch(L, 1, rt)) return luaL_error(L, "reins.json.encode: %s", rt->error);
  Charge(L, static_cast<int64_t>(rt->scratch.size()) / kBytesPerUnit);
  lua_pushlstring(L, rt->scratch.data(), rt->scratch.size());
  return 1;
}

int JsonDecode(lua_State* L) {
  size_t n = 0;
  const char* s = luaL_checklstring(L, 1, &n);
  Runtime* rt = GetRuntime(L);
  Charge(L, static_cast<int64_t>(n) / kBytesPerUnit);
  if (n > rt->limits().input_bytes) {
    return luaL_error(L, "reins.json.decode: text of %d bytes is over the input limit",
                      static_cast<int>(std::min<size_t>(n, INT32_MAX)));
  }
  if (NestingDepth(s, n) > kMaxDepth) {
    return luaL_error(L, "reins.json.decode: nested deeper than %d levels", kMaxDepth);
  }
  if (!ParseToScratch(rt, s, n)) return luaL_error(L, "reins.json.decode: %s", rt->error);
  PushPlain(L, rt->scratch_json);
  return 1;
}

int JsonArray(lua_State* L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  if (lua_getmetatable(L, 1)) {
    lua_pop(L, 1);
    if (!HasMetatable(L, 1, kSlotArrayMeta)) return luaL_error(L, "table already has a metatable");
    return 1;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotArrayMeta);
  lua_setmetatable(L, 1);
  return 1;
}

}  // namespace reins::lua
