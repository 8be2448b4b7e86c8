// ServerPolicies: the policy layers a server runs with, and how each
// session's set is composed from them.
//
//   server layer   policies added through the API (admin) first, then the
//                  configuration file's (and the default self_protect). The
//                  API ones are kept in the reserved log "reins:server" as
//                  config records, so every change is hash-chained with who
//                  made it and survives restarts.
//   agent layer    the session's inline agent spec (given when it was
//                  created), else the spec the configuration's `agents:`
//                  names after the session's `agent`, else none.
//   session layer  the session's own policies (config records in its log).
//
// Every write is validated against the registry (builtins and the
// configuration's scripts) before anything is recorded.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/engine.h"
#include "engine/policy_set.h"

namespace reins {

class ServerPolicies {
 public:
  explicit ServerPolicies(Engine* engine) : engine_(engine) {}

  // Installs a configuration (first start or reload), re-validating the API
  // policies against it. On failure the previous configuration stays.
  // Loads the API policies from the log the first time.
  Status Install(std::shared_ptr<const ServerConfig> config, std::vector<ConfigError>* errors);

  std::shared_ptr<const ServerConfig> config() const;
  // The server layer's policy set (for its digest and listings).
  std::shared_ptr<const PolicySet> server_set() const;

  // The resolver to give the engine.
  Result<std::shared_ptr<const PolicySet>> Resolve(const SessionState& state) const;

  // --- server policies (admin). `entry` is one policy entry as in YAML
  // (`use`, `with`, `on_error`, ...). Errors: AlreadyExists / NotFound /
  // FailedPrecondition (a file policy), InvalidArgument with `errors` set.
  Json ListServer() const;  // [{entry JSON..., "source": "api"|"file"}]
  Status AddServer(const std::string& name, const Json& entry, const std::string& by,
                   std::vector<ConfigError>* errors);
  // Applies a JSON merge patch (RFC 7386) to an API policy's entry.
  Status PatchServer(const std::string& name, const Json& patch, const std::string& by,
                     std::vector<ConfigError>* errors);
  Status RemoveServer(const std::string& name, const std::string& by);

  // --- session layers. `policies` is {NAME: ENTRY}; `agent_spec` an agent
  // spec object or null. Checks that they load and compose with the
  // session's other layers.
  Status ValidateSession(const SessionState& state, const Json& policies, const Json& agent_spec,
                         std::vector<ConfigError>* errors) const;
  Status AddSession(const std::string& session, const std::string& name, const Json& entry,
                    const std::string& by, std::vector<ConfigError>* errors);
  Status RemoveSession(const std::string& session, const std::string& name,
                       const std::string& by);  // name "" removes all

 private:
  struct Layers {
    std::shared_ptr<const ServerConfig> config;
    Json api = Json::object();  // NAME -> entry, as given
    std::shared_ptr<const PolicyLayer> server;
    std::shared_ptr<const PolicySet> server_set;
  };
  // Builds the server layer from `config` and `api`.
  static Result<Layers> Build(std::shared_ptr<const ServerConfig> config, Json api,
                              std::vector<ConfigError>* errors);
  Status CommitApi(Json api, const std::string& by, Json change, std::vector<ConfigError>* errors);
  std::shared_ptr<const Layers> layers() const;
  Result<std::shared_ptr<const PolicySet>> Compose(const Layers& layers, const SessionState& state,
                                                   const Json& policies, const Json& agent_spec,
                                                   std::vector<ConfigError>* errors) const;

  Engine* engine_;
  mutable std::mutex mu_;  // guards layers_
  std::mutex write_mu_;    // serializes changes
  std::shared_ptr<const Layers> layers_;
  bool api_loaded_ = false;
};

}  // namespace reins
