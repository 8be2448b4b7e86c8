#include "scripts/lua_policy.h"

#include <cstring>
#include <exception>
#include <utility>

#include "scripts/lua_values.h"

namespace reins::lua {

namespace {

int DumpWriter(lua_State*, const void* p, size_t size, void* ud) noexcept {
  try {
    static_cast<std::string*>(ud)->append(static_cast<const char*>(p), size);
    return 0;
  } catch (...) {
    return 1;
  }
}

int LoadTrampoline(lua_State* L) {
  LoadArgs* a = static_cast<LoadArgs*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  if (luaL_loadbufferx(L, a->code.data(), a->code.size(), a->chunkname, a->text ? "t" : "b") !=
      LUA_OK) {
    return lua_error(L);
  }
  if (a->bytecode && lua_dump(L, DumpWriter, a->bytecode, 0) != 0) {
    return luaL_error(L, "cannot keep the compiled script (out of memory)");
  }
  lua_pushvalue(L, 1);
  lua_rawseti(L, LUA_REGISTRYINDEX, kSlotChunk);
  // The chunk's globals while its top level runs (2).
  lua_createtable(L, 0, 8);
  lua_createtable(L, 0, 2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotGlobals);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, 2);
  lua_pushvalue(L, 2);
  lua_setupvalue(L, 1, 1);
  lua_pushvalue(L, 1);
  lua_call(L, 0, 1);  // the returned value (3)
  const char* name = a->chunkname + 1;
  if (!lua_istable(L, 3)) {
    lua_pushfstring(L, "%s: must return a table with name, events and evaluate (it returned %s)",
                    name, luaL_typename(L, 3));
    return lua_error(L);
  }
  lua_pushliteral(L, "evaluate");
  if (lua_rawget(L, 3) != LUA_TFUNCTION) {
    lua_pushfstring(L, "%s: 'evaluate' must be a function (it is %s)", name, luaL_typename(L, -1));
    return lua_error(L);
  }
  lua_rawseti(L, LUA_REGISTRYINDEX, kSlotEvaluate);
  FreezeGlobals(L, 2);
  if (a->params) {
    PushReadOnlyPlain(L, *a->params);
    lua_rawseti(L, LUA_REGISTRYINDEX, kSlotParams);
  }
  if (a->decl) {
    // Everything but evaluate, as JSON.
    lua_createtable(L, 0, 8);
    int copy = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      if (lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), "evaluate") == 0) {
        lua_pop(L, 1);
        continue;
      }
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, copy);
    }
    if (!ToJson(L, copy, a->decl, GetRuntime(L)->limits().input_bytes)) {
      lua_pushfstring(L, "%s: %s", name, GetRuntime(L)->error);
      return lua_error(L);
    }
  }
  lua_settop(L, 0);
  return 0;
}

// Calls evaluate(event, session, params) in a fresh _ENV; leaves its result.
int EvaluateTrampoline(lua_State* L) {
  Runtime* rt = GetRuntime(L);
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotEvaluate);
  lua_createtable(L, 0, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotEnvMeta);
  lua_setmetatable(L, 2);
  lua_pushliteral(L, "_G");
  lua_pushvalue(L, 2);
  lua_rawset(L, 2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotChunk);
  lua_insert(L, 2);
  lua_setupvalue(L, 2, 1);  // every function of the script shares this _ENV
  lua_settop(L, 1);
  PushView(L, &rt->event()->json(), rt->generation());
  PushSession(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotParams);
  lua_call(L, 3, 1);
  return 1;
}

EvalResult ConvertResult(Runtime* rt) {
  lua_State* L = rt->L();
  int type = lua_type(L, -1);
  if (type == LUA_TNIL) return std::optional<PolicyResult>();
  if (type != LUA_TTABLE) {
    return Status::Internal(std::string("evaluate returned a ") + lua_typename(L, type) +
                            ", expected nil or a verdict (reins.allow(), reins.deny(reason), "
                            "reins.ask(reason), reins.modify(patch, reason))");
  }
  Json j;
  if (!ToJson(L, -1, &j, rt->limits().input_bytes)) {
    return Status::Internal(std::string("evaluate returned an invalid verdict: ") + rt->error);
  }
  return VerdictFromJson(j);
}

Status Invalid(const std::string& message) {
  return Status::Internal("evaluate returned an invalid verdict: " + message);
}

}  // namespace

Status LoadChunk(Runtime* rt, LoadArgs* args) { return rt->Run(LoadTrampoline, args, 0); }

EvalResult VerdictFromJson(const Json& j) {
  if (!j.is_object()) return Invalid("expected a table");
  for (const auto& [key, value] : j.items()) {
    if (key != "verdict" && key != "reason" && key != "patch" && key != "state") {
      return Invalid("unknown field '" + key + "' (known: verdict, reason, patch, state)");
    }
  }
  auto v = j.find("verdict");
  if (v == j.end() || !v->is_string()) {
    return Invalid("'verdict' must be one of allow, deny, ask, modify");
  }
  auto verdict = VerdictFromName(v->get<std::string>());
  if (!verdict) {
    return Invalid("unknown verdict '" + v->get<std::string>() + "' (allow, deny, ask, modify)");
  }
  PolicyResult r;
  r.verdict = *verdict;
  if (auto reason = j.find("reason"); reason != j.end() && !reason->is_null()) {
    if (!reason->is_string()) return Invalid("'reason' must be a string");
    r.reason = reason->get<std::string>();
  }
  auto patch = j.find("patch");
  bool has_patch = patch != j.end() && !patch->is_null();
  if (r.verdict == Verdict::kModify) {
    if (!has_patch || !patch->is_object() || patch->empty()) {
      return Invalid("modify needs a non-empty patch table");
    }
    r.patch = *patch;
  } else if (has_patch) {
    return Invalid("'patch' is only for modify");
  }
  if (auto state = j.find("state"); state != j.end() && !state->is_null()) {
    bool empty_table = state->is_object() && state->empty();
    if (!state->is_array() && !empty_table) {
      return Invalid("'state' must be a list of {op, key, value}");
    }
    for (size_t i = 0; i < state->size() && !empty_table; ++i) {
      auto u = StateUpdate::FromJson((*state)[i]);
      if (!u.ok()) return Invalid("state[" + std::to_string(i + 1) + "]: " + u.status().message());
      r.updates.push_back(std::move(u).value());
    }
  }
  return r;
}

LuaPolicy::LuaPolicy(std::shared_ptr<const CompiledScript> script, Json params, size_t max_states)
    : script_(std::move(script)), params_(std::move(params)), max_states_(max_states) {}

Result<std::shared_ptr<const Policy>> LuaPolicy::Create(
    std::shared_ptr<const CompiledScript> script, Json params, size_t max_states) {
  std::shared_ptr<LuaPolicy> policy(
      new LuaPolicy(std::move(script), std::move(params), std::max<size_t>(1, max_states)));
  // Make the first runtime now, so a script that cannot start fails at load.
  auto rt = policy->NewRuntime();
  if (!rt.ok()) return rt.status();
  policy->live_ = 1;
  policy->idle_.push_back(std::move(rt).value());
  return std::shared_ptr<const Policy>(std::move(policy));
}

Result<std::unique_ptr<Runtime>> LuaPolicy::NewRuntime() const {
  auto rt = Runtime::Create(script_->info.limits);
  if (!rt.ok()) return rt.status();
  LoadArgs args;
  args.code = script_->bytecode;
  args.chunkname = script_->chunkname.c_str();
  args.text = false;
  args.params = &params_;
  Status st = LoadChunk(rt->get(), &args);
  if (!st.ok()) return st;
  return std::move(rt).value();
}

std::unique_ptr<Runtime> LuaPolicy::Acquire(Status* error) const {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<Runtime> rt = std::move(idle_.back());
      idle_.pop_back();
      return rt;
    }
    if (live_ < max_states_) break;
    idle_cv_.wait(lock);
  }
  ++live_;
  lock.unlock();
  auto rt = NewRuntime();
  if (rt.ok()) return std::move(rt).value();
  *error = rt.status();
  lock.lock();
  --live_;
  idle_cv_.notify_one();
  return nullptr;
}

void LuaPolicy::Release(std::unique_ptr<Runtime> rt, bool keep) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (keep) {
      idle_.push_back(std::move(rt));
    } else {
      --live_;
    }
  }
  idle_cv_.notify_one();
  // A discarded runtime (if any) is closed here, outside the lock.
}

EvalResult LuaPolicy::Evaluate(const Event& event, const SessionView& session) const {
  Status error;
  std::unique_ptr<Runtime> rt = Acquire(&error);
  if (!rt) return error;
  rt->BeginEvaluation(&event, &session);
  Status run = rt->Run(EvaluateTrampoline, nullptr, 1);
  EvalResult result = run.ok() ? ConvertResult(rt.get()) : EvalResult(run);
  lua_settop(rt->L(), 0);
  rt->EndEvaluation();
  Release(std::move(rt), run.ok());
  return result;
}

}  // namespace reins::lua
