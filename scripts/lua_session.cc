// `session`: the read-only view of the session a script evaluates against.
//
//   session.id .user .agent .harness .model .cwd .parent    strings ("" when unknown)
//   session.cost_usd      spend in USD, descendants included
//   session.turns         user requests so far
//   session.tokens        {input, output, cache_read, cache_creation, reasoning}
//   session.models        per model: {cost_usd, calls, tokens = {...}}
//   session.state         this policy's key-value store
//   session.now           the event's time, seconds since the epoch
//   session.today         the event's UTC day, "YYYY-MM-DD"
//   session.tool_calls([tool])          calls attempted, of one tool or all
//   session.events{type=, tool=, since=, limit=}   events from the log
//   session.user_spend([day])           the user's own spend that day, all sessions
//   session.user_value(key)             this policy's user-scoped value (see the
//                                       scope option of state updates)
// Log queries cost kQueryUnits of the budget each; their results are bounded
// by the input allowance. `session` refuses to be read after its evaluation.
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <type_traits>

#include "scripts/lua_runtime.h"
#include "scripts/lua_values.h"

namespace reins::lua {

// Map iterators live in lua_CFunction frames, which a Lua error may unwind.
static_assert(
    std::is_trivially_destructible_v<std::map<std::string, int64_t, std::less<>>::const_iterator>);

namespace {

constexpr int64_t kQueryUnits = 10000;
constexpr lua_Integer kDefaultLimit = 100;
constexpr lua_Integer kMaxLimit = 1000;

struct SessionData {
  uint64_t generation;
};

const Json& EmptyObject() {
  static const Json* empty = new Json(Json::object());
  return *empty;
}

// The running evaluation's view; raises when there is none (a `session`
// kept past its evaluation, or a function called at load time).
const SessionView* CurrentView(lua_State* L) {
  Runtime* rt = GetRuntime(L);
  if (!rt->view()) luaL_error(L, "session is only available while evaluate runs");
  return rt->view();
}

bool IsSession(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return false;
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotSessionMeta);
  bool same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

const SessionView* CheckSession(lua_State* L, int idx) {
  const SessionData* s = static_cast<const SessionData*>(lua_touserdata(L, idx));
  if (!IsSession(L, idx) || s->generation != GetRuntime(L)->generation()) {
    luaL_error(L, "session used after its evaluation ended");
  }
  return CurrentView(L);
}

void PushString(lua_State* L, std::string_view s) { lua_pushlstring(L, s.data(), s.size()); }

void FormatDay(TimeUs t, char* buf, size_t n) {
  // Days since 1970-01-01 to a civil date (proleptic Gregorian, UTC).
  int64_t days = t / 86400000000LL - (t % 86400000000LL < 0 ? 1 : 0);
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  int64_t doe = days - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  snprintf(buf, n, "%04lld-%02lld-%02lld", static_cast<long long>(y), static_cast<long long>(m),
           static_cast<long long>(d));
}

// --- C++ helpers: no Lua calls, exceptions caught, results kept in the runtime.

const Json* BuildTokens(Runtime* rt, const SessionView* v) noexcept {
  try {
    return rt->Keep(v->state().tokens.ToJson());
  } catch (const std::exception& e) {
    rt->SetError(e.what());
    return nullptr;
  }
}

const Json* BuildModels(Runtime* rt, const SessionView* v) noexcept {
  try {
    Json out = Json::object();
    for (const auto& [model, totals] : v->state().by_model) {
      out[model] = {{"cost_usd", totals.cost_usd},
                    {"calls", totals.calls},
                    {"tokens", totals.tokens.ToJson()}};
    }
    return rt->Keep(std::move(out));
  } catch (const std::exception& e) {
    rt->SetError(e.what());
    return nullptr;
  }
}

const Json* QueryEvents(Runtime* rt, const SessionView* v, std::string_view type,
                        std::string_view tool, lua_Integer since, lua_Integer limit) noexcept {
  try {
    EventQuery q;
    q.type = std::string(type);
    q.tool = std::string(tool);
    q.since = since;
    q.limit = limit;
    Json out = Json::array();
    size_t total = 0, cap = rt->limits().input_bytes;
    bool over = false;
    Status st = v->queries()->Events(v->id(), q, [&](const Record& r) {
      size_t size = r.body_text.empty() ? ApproxSize(r.body, cap) : r.body_text.size();
      if (total + size > cap) {
        over = true;
        return false;
      }
      total += size;
      out.push_back(r.body);
      return true;
    });
    if (!st.ok()) {
      rt->SetError(st.message());
      return nullptr;
    }
    if (over) {
      rt->SetError("the result is over the input limit; ask for fewer events (limit=, since=)");
      return nullptr;
    }
    return rt->Keep(std::move(out));
  } catch (const std::exception& e) {
    rt->SetError(e.what());
    return nullptr;
  }
}

bool UserSpend(Runtime* rt, const SessionView* v, std::string_view day, double* out) noexcept {
  try {
    auto r = v->queries()->UserSpend(v->user(), day);
    if (!r.ok()) {
      rt->SetError(r.status().message());
      return false;
    }
    *out = *r;
    return true;
  } catch (const std::exception& e) {
    rt->SetError(e.what());
    return false;
  }
}

bool UserValue(Runtime* rt, const SessionView* v, std::string_view key) noexcept {
  try {
    auto r = v->GetUserValue(key);
    if (!r.ok()) {
      rt->SetError(r.status().message());
      return false;
    }
    rt->scratch_json = std::move(r).value();
    return true;
  } catch (const std::exception& e) {
    rt->SetError(e.what());
    return false;
  }
}

// --- functions reachable from `session`

// session.f(...) and session:f(...) both work.
int FirstArg(lua_State* L) { return IsSession(L, 1) ? 2 : 1; }

int ToolCalls(lua_State* L) {
  const SessionView* v = CurrentView(L);
  int arg = FirstArg(L);
  if (lua_isnoneornil(L, arg)) {
    lua_pushinteger(L, v->state().tool_calls_total);
    return 1;
  }
  size_t n = 0;
  const char* name = luaL_checklstring(L, arg, &n);
  const auto& calls = v->state().tool_calls;
  auto it = calls.find(std::string_view(name, n));
  lua_pushinteger(L, it == calls.end() ? 0 : it->second);
  return 1;
}

int Events(lua_State* L) {
  const SessionView* v = CurrentView(L);
  Runtime* rt = GetRuntime(L);
  int arg = FirstArg(L);
  size_t type_len = 0, tool_len = 0;
  const char *type = "", *tool = "";
  lua_Integer since = 0, limit = kDefaultLimit;
  if (!lua_isnoneornil(L, arg)) {
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, arg)) {
      const char* k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
      if (strcmp(k, "type") && strcmp(k, "tool") && strcmp(k, "since") && strcmp(k, "limit")) {
        return luaL_error(
            L, "session.events: unknown option '%s' (known: type, tool, since, limit)", k);
      }
      lua_pop(L, 1);
    }
    if (lua_getfield(L, arg, "type") != LUA_TNIL) {
      type = luaL_checklstring(L, -1, &type_len);
      if (!EventTypeFromName(std::string_view(type, type_len))) {
        return luaL_error(L, "session.events: unknown event type '%s'", type);
      }
    }
    if (lua_getfield(L, arg, "tool") != LUA_TNIL) tool = luaL_checklstring(L, -1, &tool_len);
    if (lua_getfield(L, arg, "since") != LUA_TNIL) since = luaL_checkinteger(L, -1);
    if (lua_getfield(L, arg, "limit") != LUA_TNIL) limit = luaL_checkinteger(L, -1);
    if (limit < 1 || limit > kMaxLimit) {
      return luaL_error(L, "session.events: limit must be between 1 and %d", int{kMaxLimit});
    }
  }
  if (!v->queries()) return luaL_error(L, "session.events: log queries are not available here");
  Charge(L, kQueryUnits);
  const Json* result = QueryEvents(rt, v, std::string_view(type, type_len),
                                   std::string_view(tool, tool_len), since, limit);
  if (!result) return luaL_error(L, "session.events: %s", rt->error);
  PushView(L, result, rt->generation());
  return 1;
}

int UserSpendFn(lua_State* L) {
  const SessionView* v = CurrentView(L);
  Runtime* rt = GetRuntime(L);
  int arg = FirstArg(L);
  char today[48];
  FormatDay(v->now(), today, sizeof today);
  size_t n = 0;
  const char* day = lua_isnoneornil(L, arg) ? today : luaL_checklstring(L, arg, &n);
  if (day == today) n = strlen(today);
  if (!v->queries()) return luaL_error(L, "session.user_spend: log queries are not available here");
  Charge(L, kQueryUnits);
  double usd = 0;
  if (!UserSpend(rt, v, std::string_view(day, n), &usd)) {
    return luaL_error(L, "session.user_spend: %s", rt->error);
  }
  lua_pushnumber(L, usd);
  return 1;
}

int UserValueFn(lua_State* L) {
  const SessionView* v = CurrentView(L);
  Runtime* rt = GetRuntime(L);
  size_t n = 0;
  const char* key = luaL_checklstring(L, FirstArg(L), &n);
  if (!v->queries()) return luaL_error(L, "session.user_value: log queries are not available here");
  Charge(L, kQueryUnits);
  if (!UserValue(rt, v, std::string_view(key, n))) {
    return luaL_error(L, "session.user_value: %s", rt->error);
  }
  if (rt->scratch_json.is_null()) {
    lua_pushnil(L);
  } else {
    PushPlain(L, rt->scratch_json);
  }
  return 1;
}

// Pushes the per-evaluation view named by the key at index 2, cached in the
// session's user value.
void PushCachedView(lua_State* L, const Json* (*build)(Runtime*, const SessionView*)) {
  if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, 1);
  }
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) == LUA_TNIL) {
    lua_pop(L, 1);
    Runtime* rt = GetRuntime(L);
    const Json* node = build(rt, rt->view());
    if (!node) luaL_error(L, "session: %s", rt->error);
    PushView(L, node, rt->generation());
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
  }
  lua_remove(L, -2);
}

const Json* StateStore(Runtime*, const SessionView* v) noexcept {
  const Json* store = v->Store();
  return store ? store : &EmptyObject();
}

int SessionIndex(lua_State* L) {
  const SessionView* v = CheckSession(L, 1);
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  const char* k = lua_tostring(L, 2);
  const SessionState& s = v->state();
  if (!strcmp(k, "cost_usd")) {
    lua_pushnumber(L, v->cost_usd());
  } else if (!strcmp(k, "state")) {
    PushCachedView(L, StateStore);
  } else if (!strcmp(k, "model")) {
    PushString(L, v->model());
  } else if (!strcmp(k, "user")) {
    PushString(L, v->user());
  } else if (!strcmp(k, "agent")) {
    PushString(L, v->agent());
  } else if (!strcmp(k, "harness")) {
    PushString(L, v->harness());
  } else if (!strcmp(k, "id")) {
    PushString(L, v->id());
  } else if (!strcmp(k, "cwd")) {
    PushString(L, s.cwd);
  } else if (!strcmp(k, "parent")) {
    PushString(L, s.parent);
  } else if (!strcmp(k, "turns")) {
    lua_pushinteger(L, s.turns);
  } else if (!strcmp(k, "tokens")) {
    PushCachedView(L, BuildTokens);
  } else if (!strcmp(k, "models")) {
    PushCachedView(L, BuildModels);
  } else if (!strcmp(k, "now")) {
    lua_pushnumber(L, static_cast<lua_Number>(v->now()) / 1e6);
  } else if (!strcmp(k, "today")) {
    char day[48];
    FormatDay(v->now(), day, sizeof day);
    lua_pushstring(L, day);
  } else if (!strcmp(k, "tool_calls")) {
    lua_pushcfunction(L, ToolCalls);
  } else if (!strcmp(k, "events")) {
    lua_pushcfunction(L, Events);
  } else if (!strcmp(k, "user_spend")) {
    lua_pushcfunction(L, UserSpendFn);
  } else if (!strcmp(k, "user_value")) {
    lua_pushcfunction(L, UserValueFn);
  } else {
    return 0;
  }
  return 1;
}

int SessionNewIndex(lua_State* L) {
  return luaL_error(L, "attempt to modify session (return state updates instead)");
}

}  // namespace

void OpenSession(lua_State* L) {
  lua_createtable(L, 0, 4);
  lua_pushcfunction(L, SessionIndex);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, SessionNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pushliteral(L, "session");
  lua_setfield(L, -2, "__name");
  lua_rawseti(L, LUA_REGISTRYINDEX, kSlotSessionMeta);
}

void PushSession(lua_State* L) {
  SessionData* s = static_cast<SessionData*>(lua_newuserdatauv(L, sizeof(SessionData), 1));
  s->generation = GetRuntime(L)->generation();
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotSessionMeta);
  lua_setmetatable(L, -2);
}

}  // namespace reins::lua
