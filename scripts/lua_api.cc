// The `reins` table: verdicts, notes, and the helpers (RE2, glob, JSON).
//
//   reins.allow([reason]) reins.deny([reason]) reins.ask([reason])
//   reins.modify(patch [, reason])
//       a verdict: {verdict = "...", reason = ..., patch = ...} whose methods
//       :set(key, value) :increment(key [, by]) :delete(key) :append(key, value)
//       add to its `state` list and return it, so they chain.
//   reins.log(message)             a note in the session log (print does the same)
//   reins.re2.find(pattern, text [, init])   start, end, captures... | nil
//   reins.re2.match(pattern, text [, init])  captures (or the match) | nil
//   reins.glob(pattern, path)      builtins/glob.h: * and ? stop at '/', ** does not
//   reins.shell.parse(command)     builtins/shell/shell.h, as plain tables
//   reins.json.encode(v) reins.json.decode(s) reins.json.null reins.json.array([t])
//   reins.api                      the API version (1)
#include <re2/re2.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <type_traits>

#include "builtins/glob.h"
#include "builtins/shell/shell.h"
#include "scripts/lua_runtime.h"
#include "scripts/lua_values.h"

namespace reins::lua {

constexpr size_t kRegexCacheSize = 64;
constexpr int64_t kRegexMaxMem = int64_t{2} << 20;
constexpr int kMaxGroups = 32;

// Submatches live in a lua_CFunction's frame, which a Lua error may unwind.
static_assert(std::is_trivially_destructible_v<re2::StringPiece>);

struct Runtime::RegexCache {
  std::map<std::string, std::unique_ptr<re2::RE2>, std::less<>> map;
};

void DestroyRegexCache(Runtime::RegexCache* cache) { delete cache; }

namespace {

// --- verdicts

int MakeVerdict(lua_State* L, const char* verdict, int reason_arg) {
  bool has_reason = !lua_isnoneornil(L, reason_arg);
  if (has_reason) luaL_checktype(L, reason_arg, LUA_TSTRING);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, verdict);
  lua_setfield(L, -2, "verdict");
  if (has_reason) {
    lua_pushvalue(L, reason_arg);
    lua_setfield(L, -2, "reason");
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotVerdictMeta);
  lua_setmetatable(L, -2);
  return 1;
}

int Allow(lua_State* L) { return MakeVerdict(L, "allow", 1); }
int Deny(lua_State* L) { return MakeVerdict(L, "deny", 1); }
int Ask(lua_State* L) { return MakeVerdict(L, "ask", 1); }
int Modify(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  MakeVerdict(L, "modify", 2);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "patch");
  return 1;
}

// Appends {op = op, key = key, value = value} to the verdict's state list.
// An optional last argument {scope = "user"} writes the store shared by all
// sessions of the session's user instead of this session's.
int AddUpdate(lua_State* L, const char* op) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t klen = 0;
  luaL_checklstring(L, 2, &klen);
  luaL_argcheck(L, lua_type(L, 2) == LUA_TSTRING && klen > 0, 2, "non-empty string key expected");
  bool has_value = strcmp(op, "delete") != 0;
  int options = has_value ? 4 : 3;
  lua_settop(L, options);
  if (strcmp(op, "increment") == 0) {
    if (lua_isnil(L, 3)) {
      lua_pushinteger(L, 1);
      lua_replace(L, 3);
    }
    luaL_checknumber(L, 3);
  }
  bool user = false;
  if (!lua_isnil(L, options)) {
    luaL_checktype(L, options, LUA_TTABLE);
    lua_getfield(L, options, "scope");
    const char* scope = luaL_optstring(L, -1, "session");
    user = strcmp(scope, "user") == 0;
    luaL_argcheck(L, user || strcmp(scope, "session") == 0, options,
                  "scope must be \"session\" or \"user\"");
    lua_pop(L, 1);
  }
  lua_pushliteral(L, "state");
  if (lua_rawget(L, 1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 2, 0);
    lua_pushliteral(L, "state");
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
  }
  lua_createtable(L, 0, 4);
  lua_pushstring(L, op);
  lua_setfield(L, -2, "op");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "key");
  if (has_value) {
    if (lua_isnil(L, 3)) {
      PushNull(L);
    } else {
      lua_pushvalue(L, 3);
    }
    lua_setfield(L, -2, "value");
  }
  if (user) {
    lua_pushliteral(L, "user");
    lua_setfield(L, -2, "scope");
  }
  lua_rawseti(L, -2, static_cast<lua_Integer>(lua_rawlen(L, -2)) + 1);
  lua_settop(L, 1);
  return 1;
}

int SetMethod(lua_State* L) { return AddUpdate(L, "set"); }
int IncrementMethod(lua_State* L) { return AddUpdate(L, "increment"); }
int DeleteMethod(lua_State* L) { return AddUpdate(L, "delete"); }
int AppendMethod(lua_State* L) { return AddUpdate(L, "append"); }

int Log(lua_State* L) {
  size_t n = 0;
  const char* s = luaL_tolstring(L, 1, &n);
  LogNote(GetRuntime(L), s, n);
  return 0;
}

// --- glob

int GlobHelper(const char* p, size_t lp, const char* s, size_t ls) noexcept {
  try {
    return GlobMatch(std::string_view(p, lp), std::string_view(s, ls)) ? 1 : 0;
  } catch (...) {
    return -1;
  }
}

int Glob(lua_State* L) {
  size_t lp = 0, ls = 0;
  const char* p = luaL_checklstring(L, 1, &lp);
  const char* s = luaL_checklstring(L, 2, &ls);
  Charge(L, static_cast<int64_t>((lp + 1) * (ls + 1)) / kBytesPerUnit + 1);
  int r = GlobHelper(p, lp, s, ls);
  if (r < 0) return luaL_error(L, "reins.glob: out of memory");
  lua_pushboolean(L, r);
  return 1;
}

// --- the shell analyzer

bool AnalyzeShell(Runtime* rt, const char* s, size_t n) noexcept {
  try {
    shell::Analysis a = shell::Analyze(std::string_view(s, n));
    Json commands = Json::array();
    for (const shell::SimpleCommand& c : a.commands) {
      Json redirects = Json::array();
      for (const shell::Redirect& r : c.redirects) {
        redirects.push_back({{"op", r.op},
                             {"fd", r.fd},
                             {"target", r.target},
                             {"writes", r.writes},
                             {"dynamic", r.dynamic}});
      }
      Json dynamic = Json::array();
      for (bool d : c.dynamic) dynamic.push_back(d);
      commands.push_back({{"program", c.program},
                          {"name", c.name},
                          {"argv", c.argv},
                          {"dynamic", std::move(dynamic)},
                          {"assignments", c.assignments},
                          {"wrappers", c.wrappers},
                          {"redirects", std::move(redirects)},
                          {"written_paths", c.written_paths},
                          {"read_paths", c.read_paths},
                          {"resolved", c.resolved},
                          {"unresolved_reason", c.unresolved_reason},
                          {"depth", c.depth},
                          {"source", c.source},
                          {"pipeline", c.pipeline},
                          {"stage", c.stage}});
    }
    rt->scratch_json = {
        {"commands", std::move(commands)}, {"resolved", a.resolved}, {"errors", a.errors}};
    return true;
  } catch (const std::exception& e) {
    rt->SetError(e.what());
    return false;
  }
}

int ShellParse(lua_State* L) {
  size_t n = 0;
  const char* s = luaL_checklstring(L, 1, &n);
  Runtime* rt = GetRuntime(L);
  Charge(L, static_cast<int64_t>(n) / 16 + 100);
  if (!AnalyzeShell(rt, s, n)) return luaL_error(L, "reins.shell.parse: %s", rt->error);
  PushPlain(L, rt->scratch_json);
  return 1;
}

// --- RE2

const re2::RE2* CompileRegex(Runtime* rt, const char* p, size_t n) noexcept {
  try {
    if (!rt->regexes) rt->regexes = new Runtime::RegexCache();
    auto& cache = rt->regexes->map;
    auto it = cache.find(std::string_view(p, n));
    if (it != cache.end()) return it->second.get();
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(kRegexMaxMem);
    auto re = std::make_unique<re2::RE2>(re2::StringPiece(p, n), options);
    if (!re->ok()) {
      rt->SetError(re->error());
      return nullptr;
    }
    if (re->NumberOfCapturingGroups() > kMaxGroups) {
      rt->SetError("more than 32 capture groups");
      return nullptr;
    }
    if (cache.size() >= kRegexCacheSize) cache.erase(cache.begin());
    return cache.emplace(std::string(p, n), std::move(re)).first->second.get();
  } catch (const std::exception& e) {
    rt->SetError(e.what());
    return nullptr;
  }
}

// 1 on a match, 0 on none, -1 when RE2 could not run.
int RunRegex(const re2::RE2* re, const char* s, size_t n, size_t start, re2::StringPiece* groups,
             int ngroups) noexcept {
  try {
    return re->Match(re2::StringPiece(s, n), start, n, re2::RE2::UNANCHORED, groups, ngroups) ? 1
                                                                                              : 0;
  } catch (...) {
    return -1;
  }
}

int RegexAux(lua_State* L, bool find) {
  size_t lp = 0, ls = 0;
  const char* p = luaL_checklstring(L, 1, &lp);
  const char* s = luaL_checklstring(L, 2, &ls);
  lua_Integer init = luaL_optinteger(L, 3, 1);
  size_t start = init > 0                                       ? static_cast<size_t>(init - 1)
                 : init == 0 || static_cast<size_t>(-init) > ls ? 0
                                                                : ls - static_cast<size_t>(-init);
  Runtime* rt = GetRuntime(L);
  Charge(L, static_cast<int64_t>(lp / 16 + ls / kBytesPerUnit + 1));
  const re2::RE2* re = CompileRegex(rt, p, lp);
  if (!re) return luaL_error(L, "reins.re2: invalid pattern: %s", rt->error);
  if (start > ls) {
    luaL_pushfail(L);
    return 1;
  }
  re2::StringPiece groups[kMaxGroups + 1];
  int ngroups = 1 + re->NumberOfCapturingGroups();
  int r = RunRegex(re, s, ls, start, groups, ngroups);
  if (r < 0) return luaL_error(L, "reins.re2: out of memory");
  if (r == 0) {
    luaL_pushfail(L);
    return 1;
  }
  luaL_checkstack(L, ngroups + 2, "too many captures");
  int pushed = 0;
  if (find) {
    lua_pushinteger(L, static_cast<lua_Integer>(groups[0].data() - s) + 1);
    lua_pushinteger(L, static_cast<lua_Integer>(groups[0].data() - s + groups[0].size()));
    pushed = 2;
  }
  int first = ngroups > 1 ? 1 : (find ? ngroups : 0);
  for (int i = first; i < ngroups; ++i) {
    if (groups[i].data() == nullptr) {
      luaL_pushfail(L);
    } else {
      lua_pushlstring(L, groups[i].data(), groups[i].size());
    }
    ++pushed;
  }
  return pushed;
}

int RegexFind(lua_State* L) { return RegexAux(L, true); }
int RegexMatch(lua_State* L) { return RegexAux(L, false); }

// Sets t[name] (t at -2) to a read-only view of the table at -1, popping it.
void SetReadOnly(lua_State* L, const char* name) {
  PushReadOnlyTable(L, -1);
  lua_setfield(L, -3, name);
  lua_pop(L, 1);
}

}  // namespace

void OpenReinsApi(lua_State* L, int globals) {
  static const luaL_Reg kMethods[] = {{"set", SetMethod},
                                      {"increment", IncrementMethod},
                                      {"delete", DeleteMethod},
                                      {"append", AppendMethod},
                                      {nullptr, nullptr}};
  lua_createtable(L, 0, 2);
  lua_createtable(L, 0, 4);
  luaL_setfuncs(L, kMethods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_rawseti(L, LUA_REGISTRYINDEX, kSlotVerdictMeta);

  static const luaL_Reg kReins[] = {{"allow", Allow},   {"deny", Deny}, {"ask", Ask},
                                    {"modify", Modify}, {"log", Log},   {"glob", Glob},
                                    {nullptr, nullptr}};
  lua_createtable(L, 0, 12);
  luaL_setfuncs(L, kReins, 0);
  lua_pushinteger(L, 1);
  lua_setfield(L, -2, "api");

  static const luaL_Reg kJson[] = {
      {"encode", JsonEncode}, {"decode", JsonDecode}, {"array", JsonArray}, {nullptr, nullptr}};
  lua_createtable(L, 0, 4);
  luaL_setfuncs(L, kJson, 0);
  PushNull(L);
  lua_setfield(L, -2, "null");
  SetReadOnly(L, "json");

  static const luaL_Reg kRe2[] = {{"find", RegexFind}, {"match", RegexMatch}, {nullptr, nullptr}};
  lua_createtable(L, 0, 2);
  luaL_setfuncs(L, kRe2, 0);
  SetReadOnly(L, "re2");

  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, ShellParse);
  lua_setfield(L, -2, "parse");
  SetReadOnly(L, "shell");

  PushReadOnlyTable(L, -1);
  lua_setfield(L, globals, "reins");
  lua_pop(L, 1);
}

}  // namespace reins::lua
