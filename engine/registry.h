// PolicyRegistry: every policy type configuration can name.
//
// Builtins register PolicyTypes by name (plus aliases such as the reference
// engine's handler paths, "omnigent.policies.builtins.cost.cost_budget").
// Extensions that load policies from files (Lua scripts) register a loader
// under the configuration key that introduces them ("lua"). The engine knows
// none of them; they register themselves into a registry the caller owns.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/policy.h"

namespace reins {

// Turns a file reference from configuration (an absolute path) into a policy
// type. Called once per configuration load; may cache compiled scripts.
using PolicyLoader = std::function<Result<PolicyType>(const std::string& path)>;

// What a default policy may need to know about the deployment it protects.
struct DefaultContext {
  std::string db_path;                    // the session log ("" when in memory)
  std::vector<std::string> config_files;  // configuration files and scripts in effect
};

// A policy that is on unless the server layer configures its type itself
// (to change its parameters or to switch it off with `enabled: false`).
// Only the server layer can: defaults are added to it.
struct DefaultPolicy {
  std::string name;  // entry name in the server layer
  std::string type;  // registered policy type
  std::function<Json(const DefaultContext&)> params;
};

class PolicyRegistry {
 public:
  // Adds a type. Fails with AlreadyExists if the name or an alias is taken.
  Status Register(PolicyType type, std::vector<std::string> aliases = {});

  // Adds a loader for entries of the form `name: {KEY: path, with: {...}}`.
  void RegisterLoader(std::string key, PolicyLoader loader);

  // Adds a policy that every server layer gets unless it configures the type.
  void AddDefault(DefaultPolicy policy) { defaults_.push_back(std::move(policy)); }
  const std::vector<DefaultPolicy>& defaults() const { return defaults_; }

  // Looks a type up by name or alias; nullptr when unknown.
  const PolicyType* Find(std::string_view name) const;
  const PolicyLoader* FindLoader(std::string_view key) const;

  // Loader keys, sorted (for error messages).
  std::vector<std::string> LoaderKeys() const;

  // All types, sorted by name.
  std::vector<const PolicyType*> List() const;

  // Names close to `name` (same prefix or small edit distance), for "did you
  // mean" hints in configuration errors.
  std::vector<std::string> Suggest(std::string_view name) const;

 private:
  std::map<std::string, PolicyType, std::less<>> types_;
  std::map<std::string, std::string, std::less<>> aliases_;
  std::map<std::string, PolicyLoader, std::less<>> loaders_;
  std::vector<DefaultPolicy> defaults_;
};

}  // namespace reins
