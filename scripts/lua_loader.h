// Lua policies: configuration entries `NAME: {lua: path/policy.lua, with: {...}}`
// (docs/lua.md is the reference for scripts).
//
// RegisterLuaLoader adds the "lua" loader to a registry. For each entry the
// configuration loader calls it with the script's absolute path; it reads
// the file, compiles it (text only) once per content, runs it once in the
// sandbox to get the table it returns, checks that table (name, events,
// params, evaluate, limits) and returns a PolicyType whose `create` builds a
// policy instance with the entry's validated parameters. Errors name the
// script and, where the script is at fault, the line.
//
// A policy's SourceDigest() is the SHA-256 of the script's text, so the
// policy-set digest recorded with every decision changes with the script.
// Compiled scripts are cached by path and content hash: a reload recompiles
// only the files that changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "engine/registry.h"

namespace reins {

namespace lua {
struct CompiledScript;
}

struct LuaOptions {
  // Defaults for scripts that do not set their own limits.
  int64_t instruction_limit = 1'000'000;   // per evaluation
  size_t memory_limit = size_t{32} << 20;  // per Lua state
  // The most a script may ask for (`instruction_limit`, `memory_limit_mb`).
  int64_t max_instruction_limit = 100'000'000;
  size_t max_memory_limit = size_t{256} << 20;
  // Watchdog on one evaluation's wall-clock time, for work no instruction
  // count sees (comparing long strings). Not a budget: a script that hits it
  // has a bug; 0 turns it off.
  int64_t time_limit_ms = 1000;
  // Bytes of strings one evaluation may read from the event, its state and
  // log queries (each long string counted once), and the bound on one log
  // query's result.
  size_t input_limit = size_t{8} << 20;
  size_t max_states = 4;                      // Lua states per policy: concurrent evaluations
  size_t max_script_bytes = size_t{1} << 20;  // source size
};

// Compiled scripts by absolute path, replaced when the content changes.
// Shared by every load through one loader (one set of options).
class LuaScriptCache {
 public:
  // Scripts compiled so far (a cache hit does not count).
  int64_t compiles() const;

  // The compiled script for `path` with this content: cached if the
  // content hash matches, else compiled now.
  Result<std::shared_ptr<const lua::CompiledScript>> Get(const std::string& path,
                                                         const std::string& source,
                                                         const LuaOptions& options);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const lua::CompiledScript>> scripts_;
  int64_t compiles_ = 0;
};

// Registers the "lua" loader. `cache` may be shared with the caller (tests
// read its counters); null makes a private one.
Status RegisterLuaLoader(PolicyRegistry* registry, LuaOptions options = {},
                         std::shared_ptr<LuaScriptCache> cache = nullptr);

// What the loader does for one script: read, compile (or reuse), check.
Result<PolicyType> LoadLuaPolicyType(const std::string& path, const LuaOptions& options,
                                     LuaScriptCache* cache);

}  // namespace reins
