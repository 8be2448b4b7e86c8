// JSON values in Lua, both ways.
//
// Into Lua, data reins owns (the event, the parameters, the policy's state,
// log query results) is handed over as read-only views: userdata that look
// like tables (indexing, #, pairs, ipairs, next and type() all work) and
// convert a field only when it is read. Nothing is copied up front, so a
// 4 MiB tool output costs nothing unless the script reads it; strings of 64
// bytes or more count toward the evaluation's input allowance when first
// read. A view of per-evaluation data refuses to be read once its
// evaluation has ended. reins.json.decode builds ordinary tables instead.
//
// Out of Lua (verdicts, state values, patches, reins.json.encode), values
// are converted by a walker that calls no Lua function that can raise, so
// it may build C++ objects: strings, numbers, booleans, reins.json.null,
// views, and tables whose keys are all strings (an object) or exactly
// 1..n (an array; an empty table is an object unless marked with
// reins.json.array). Functions, other userdata, NaN and infinities, mixed
// or sparse keys and nesting deeper than 64 levels are errors naming the
// path of the offending value. Invalid UTF-8 is replaced with U+FFFD.
#pragma once

#include <string>
#include <string_view>

#include "scripts/lua_runtime.h"

namespace reins::lua {

std::string SanitizeUtf8(std::string_view s);

// reins.json.null: the light userdata that stands for JSON null.
void PushNull(lua_State* L);
bool IsNull(lua_State* L, int idx);

// Pushes a read-only view of `node`, which must stay valid while the
// runtime's generation equals `generation` (0: for the life of the state).
void PushView(lua_State* L, const Json* node, uint64_t generation);
// Pushes `v`: scalars as Lua values, objects and arrays as views.
void PushViewValue(lua_State* L, const Json& v, uint64_t generation);
bool IsView(lua_State* L, int idx);
// The node behind the view at idx, or nullptr when the view is stale.
const Json* ViewNode(lua_State* L, int idx);
// Whether the value at idx has the metatable kept in registry slot `slot`.
bool HasMetatable(lua_State* L, int idx, int slot);
// The node behind the view at idx; raises when the view is stale.
const Json* CheckView(lua_State* L, int idx);
// next() for views: (view, key) -> key, value (a lua_CFunction).
int ViewNext(lua_State* L);

// Pushes `v` as plain, mutable Lua tables (arrays marked as arrays), as
// reins.json.decode does. Raises when nested deeper than kMaxDepth.
void PushPlain(lua_State* L, const Json& v, int depth = 0);

// Pushes `v` as tables behind read-only proxies (the parameters): plain
// tables are the fastest to read, and the proxies keep them unchanged.
void PushReadOnlyPlain(lua_State* L, const Json& v, int depth = 0);

// Converts the value at idx to JSON without raising a Lua error; on failure
// returns false with the message in the runtime's `error`. `max_bytes`
// bounds the size of the result (roughly: string bytes plus 8 per value).
bool ToJson(lua_State* L, int idx, Json* out, size_t max_bytes);

// Roughly the bytes `v` takes as JSON (string bytes plus 8 per value);
// stops counting once past `limit`.
size_t ApproxSize(const Json& v, size_t limit);

// Creates the view and array metatables (protected mode).
void OpenValues(lua_State* L);

// reins.json.encode / decode / array.
int JsonEncode(lua_State* L);
int JsonDecode(lua_State* L);
int JsonArray(lua_State* L);

}  // namespace reins::lua
