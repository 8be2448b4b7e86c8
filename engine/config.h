// Layered policy configuration in YAML (docs/configuration.md).
//
// Three layers, evaluated session first, then agent, then server:
//   server file   `policies:` plus `engine:` and `pricing:` settings (admin)
//   agent file    an agent spec: `name`, `policies:` (or the reference
//                 engine's `guardrails: {policies:, ask_timeout:}`)
//   session file  `policies:` (end user; the server API adds these too)
//
// A policy entry is `NAME: {FORM, with: {...}, on_error, ask_timeout,
// enabled, on}` where FORM is `use: BUILTIN`, `lua: path.lua` (or another
// registered loader key), or the reference engine's `type: function,
// handler: omnigent.policies.builtins.MODULE.NAME, factory_params: {...}`.
// Every error carries file:line:column; loading collects all errors rather
// than stopping at the first. The server layer also gets the registry's
// default policies (e.g. self_protect) unless it configures their types.
//
// A server file may also hold `scripts: {NAME: file.lua}` (Lua policy types
// that every layer, the API's included, can `use:` by NAME), `agents:
// [spec.yaml, ...]` (agent specs sessions name), and sections that other
// components register parsers for (the HTTP server's `server:`).
#pragma once

#include <any>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/event.h"
#include "engine/log_store.h"
#include "engine/policy.h"
#include "engine/pricing.h"
#include "engine/registry.h"

namespace YAML {
class Node;
}

namespace reins {

enum class Layer : uint8_t { kSession, kAgent, kServer };  // in evaluation order
std::string_view LayerName(Layer layer);

enum class OnError : uint8_t { kDeny, kAllow };

inline constexpr TimeUs kDefaultAskTimeout = 24LL * 3600 * 1000000;

struct ConfigError {
  ConfigError(std::string file, int line, int column, std::string message, std::string field = "")
      : file(std::move(file)),
        line(line),
        column(column),
        message(std::move(message)),
        field(std::move(field)) {}
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
  std::string message;
  std::string field;  // dotted path of the value at fault (API input), e.g. "policies.b.with.max"
  std::string ToString() const;  // "file:line:column: message"
};

// One configured policy.
struct PolicyEntry {
  std::string name;
  Layer layer = Layer::kServer;
  std::string type;      // builtin name, or "lua:/abs/path.lua"
  std::string location;  // "file:line:column" of the entry
  Json params;           // validated, defaults filled
  OnError on_error = OnError::kDeny;
  TimeUs ask_timeout = 0;  // 0: the layer's or the engine's default
  bool enabled = true;
  EventTypeSet events;                                // what the policy handles
  std::vector<std::pair<EventType, std::string>> on;  // optional narrowing
  std::shared_ptr<const Policy> policy;

  // Where the policy's key-value state lives: "LAYER:NAME".
  std::string state_key() const;
  // True when this entry wants to see `event`.
  bool Handles(const Event& event) const;
  // Identity for the policy-set digest and the API.
  Json ToJson() const;
};

struct PolicyLayer {
  Layer layer = Layer::kServer;
  std::string file;  // where it was loaded from ("" when built in code)
  std::vector<PolicyEntry> entries;
};

struct EngineSettings {
  std::string db_path;  // absolute, or "" for an in-memory log
  Durability durability = Durability::kNormal;
  TimeUs ask_timeout = kDefaultAskTimeout;
  EventLimits limits;
  std::shared_ptr<const PriceTable> prices;  // built-in table plus overrides
};

struct AgentSpec {
  std::string name;
  std::string description;
  PolicyLayer policies;
};

struct ServerConfig {
  EngineSettings settings;
  PolicyLayer policies;
  // The loader's registry plus the `scripts:` types: what layers loaded
  // later for this server (agents, sessions, the API) may use.
  std::shared_ptr<const PolicyRegistry> registry;
  std::map<std::string, std::shared_ptr<const AgentSpec>> agents;  // by name
  std::map<std::string, std::any> sections;  // results of registered section parsers
  std::vector<std::string> files;            // every file read (the config, agents, scripts)
};

// What a section parser can do besides reading its node.
class SectionContext {
 public:
  virtual ~SectionContext() = default;
  // Reports a problem at `at` (file:line:column of the node).
  virtual void Error(const YAML::Node& at, std::string message) const = 0;
  // `path` made absolute against the configuration file's directory.
  virtual std::string ResolvePath(const std::string& path) const = 0;
  // Adds a file the agent must never read or write (e.g. a token file) to
  // the default self_protect policy.
  virtual void Protect(const std::string& path) const = 0;
};
// Values of a section's keys, checked: true and `*out` set when `node`
// holds one, else false and an error at the node naming `key` (the dotted
// name the user wrote, e.g. "server.max_wait").
bool SectionInteger(const YAML::Node& node, const SectionContext& ctx, const std::string& key,
                    int64_t lo, int64_t hi, int64_t* out);
// A duration such as 30s, 5m or 250ms, or a positive number of seconds.
bool SectionDuration(const YAML::Node& node, const SectionContext& ctx, const std::string& key,
                     TimeUs* out);
bool SectionString(const YAML::Node& node, const SectionContext& ctx, const std::string& key,
                   std::string* out);

// Parses a top-level section of a server file into whatever its component
// needs; the result lands in ServerConfig::sections under the section's key.
// It is called for every server file, with an undefined node when the file
// has no such section (so the component's defaults apply).
using SectionParser = std::function<std::any(const YAML::Node& node, const SectionContext& ctx)>;

class ConfigLoader {
 public:
  explicit ConfigLoader(const PolicyRegistry* registry) : registry_(registry) {}

  // Accepts top-level `key:` in server files, parsed by `parser`.
  void AddSection(std::string key, SectionParser parser) {
    sections_[std::move(key)] = std::move(parser);
  }

  // Each Load* reads a file, appends every problem to `errors`, and returns
  // the configuration only when there were none.
  Result<ServerConfig> LoadServer(const std::string& path, std::vector<ConfigError>* errors) const;
  Result<AgentSpec> LoadAgent(const std::string& path, std::vector<ConfigError>* errors) const;
  Result<PolicyLayer> LoadSession(const std::string& path, std::vector<ConfigError>* errors) const;

  // The same from YAML text; `source` names it in errors and `base_dir`
  // resolves relative paths (Lua scripts, price files, the database).
  Result<ServerConfig> ParseServer(std::string_view text, const std::string& source,
                                   const std::string& base_dir,
                                   std::vector<ConfigError>* errors) const;
  Result<AgentSpec> ParseAgent(std::string_view text, const std::string& source,
                               const std::string& base_dir, std::vector<ConfigError>* errors) const;
  Result<PolicyLayer> ParseSession(std::string_view text, const std::string& source,
                                   const std::string& base_dir,
                                   std::vector<ConfigError>* errors) const;

  // Layers that arrive as JSON through the API: `policies` is the object of
  // NAME: ENTRY a YAML `policies:` section holds; `spec` an agent spec
  // ({name, description, policies}). They may not name files (`lua:`), only
  // registered types; errors carry the field at fault and source "request".
  Result<PolicyLayer> ParseApiLayer(const Json& policies, Layer layer,
                                    std::vector<ConfigError>* errors) const;
  Result<AgentSpec> ParseApiAgent(const Json& spec, std::vector<ConfigError>* errors) const;

  // Detects the kind of a file for `reins check`: "server", "agent" or
  // "session" (by its top-level keys), then loads it accordingly.
  Status Check(const std::string& path, std::vector<ConfigError>* errors) const;

 private:
  const PolicyRegistry* registry_;
  std::map<std::string, SectionParser> sections_;
};

// Summarizes errors as one Status (first error, plus a count of the rest).
Status ConfigStatus(const std::vector<ConfigError>& errors);

}  // namespace reins
