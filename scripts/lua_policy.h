// A compiled Lua script and the policy instances that run it.
//
// Internal to the scripts library (lua_loader.h is the public side).
//
// Concurrency: each policy instance keeps a small pool of runtimes (at most
// `max_states`, made on demand). An evaluation takes an idle runtime for
// itself, or makes one while under the bound, or waits for one; a lua_State
// is never shared by two threads. A runtime whose evaluation failed is
// closed rather than returned, so the next evaluation starts from a clean
// state. The memory limit applies to each runtime.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/policy.h"
#include "scripts/lua_runtime.h"

namespace reins::lua {

// What a script declares in the table it returns (lua_loader.cc checks it).
struct ScriptInfo {
  std::string name;
  std::string description;
  EventTypeSet events;
  ParamSchema params;
  Limits limits;
};

struct CompiledScript {
  std::string path;       // absolute
  std::string chunkname;  // "=" + file name: what Lua's messages start with
  std::string sha256;     // of the source text
  std::string bytecode;   // compiled once, loaded by every runtime
  ScriptInfo info;
};

// What LoadChunk needs. `decl` receives the returned table without
// `evaluate`, as JSON, when set; `params` become `params` for evaluate.
struct LoadArgs {
  std::string_view code;
  const char* chunkname = nullptr;
  bool text = true;                 // source text; false: our own bytecode
  std::string* bytecode = nullptr;  // receives the compiled chunk
  Json* decl = nullptr;
  const Json* params = nullptr;
};

// Loads and runs the main chunk in `rt`; the script's messages start with
// its chunk name ("policy.lua:3: ...").
Status LoadChunk(Runtime* rt, LoadArgs* args);

class LuaPolicy : public Policy {
 public:
  static Result<std::shared_ptr<const Policy>> Create(std::shared_ptr<const CompiledScript> script,
                                                      Json params, size_t max_states);

  EvalResult Evaluate(const Event& event, const SessionView& session) const override;
  std::string SourceDigest() const override { return script_->sha256; }

 private:
  LuaPolicy(std::shared_ptr<const CompiledScript> script, Json params, size_t max_states);
  Result<std::unique_ptr<Runtime>> NewRuntime() const;
  std::unique_ptr<Runtime> Acquire(Status* error) const;
  void Release(std::unique_ptr<Runtime> rt, bool keep) const;

  std::shared_ptr<const CompiledScript> script_;
  Json params_;  // outlives the runtimes: their `params` views point into it
  size_t max_states_;
  mutable std::mutex mu_;
  mutable std::condition_variable idle_cv_;
  mutable size_t live_ = 0;
  mutable std::vector<std::unique_ptr<Runtime>> idle_;
};

// A verdict table (as JSON) to a PolicyResult; errors say what is wrong.
EvalResult VerdictFromJson(const Json& j);

}  // namespace reins::lua
