#include "server/server_policies.h"

namespace reins {

namespace {

Status Invalid(std::vector<ConfigError>* errors, const Status& st) {
  return errors->empty() ? st : ConfigStatus(*errors);
}

const PolicyEntry* FindEntry(const PolicyLayer& layer, const std::string& name) {
  for (const PolicyEntry& e : layer.entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

Json ConfigValue(const SessionState& state, const char* key) {
  auto it = state.config.find(key);
  return it == state.config.end() ? Json() : *it;
}

}  // namespace

Result<ServerPolicies::Layers> ServerPolicies::Build(std::shared_ptr<const ServerConfig> config,
                                                     Json api, std::vector<ConfigError>* errors) {
  ConfigLoader loader(config->registry.get());
  auto api_layer = loader.ParseApiLayer(api, Layer::kServer, errors);
  if (!api_layer.ok()) return api_layer.status();
  auto layer = std::make_shared<PolicyLayer>();
  layer->layer = Layer::kServer;
  for (PolicyEntry& e : api_layer->entries) {
    if (const PolicyEntry* f = FindEntry(config->policies, e.name)) {
      errors->push_back({"request", 0, 0,
                         "policy '" + e.name + "' is defined in the configuration (" + f->location +
                             "); edit the file and reload instead",
                         "name"});
      return Status::FailedPrecondition(errors->back().message);
    }
    layer->entries.push_back(std::move(e));
  }
  for (const PolicyEntry& e : config->policies.entries) layer->entries.push_back(e);
  auto set = PolicySet::Compose(nullptr, nullptr, layer.get());
  if (!set.ok()) return set.status();
  Layers out;
  out.config = std::move(config);
  out.api = std::move(api);
  out.server = std::move(layer);
  out.server_set = std::move(set).value();
  return out;
}

std::shared_ptr<const ServerPolicies::Layers> ServerPolicies::layers() const {
  std::lock_guard lock(mu_);
  return layers_;
}

std::shared_ptr<const ServerConfig> ServerPolicies::config() const {
  auto l = layers();
  return l ? l->config : nullptr;
}

std::shared_ptr<const PolicySet> ServerPolicies::server_set() const {
  auto l = layers();
  return l ? l->server_set : nullptr;
}

Status ServerPolicies::Install(std::shared_ptr<const ServerConfig> config,
                               std::vector<ConfigError>* errors) {
  std::lock_guard write(write_mu_);
  Json api = Json::object();
  if (api_loaded_) {
    api = layers()->api;
  } else {
    auto state = engine_->State(std::string(kServerConfigSession));
    if (!state.ok()) return state.status().WithPrefix("reading the API server policies");
    Json stored = ConfigValue(*state, "server_policies");
    if (stored.is_object()) api = stored;
  }
  auto built = Build(std::move(config), std::move(api), errors);
  if (!built.ok()) return built.status().WithPrefix("server policies added through the API");
  {
    std::lock_guard lock(mu_);
    layers_ = std::make_shared<const Layers>(std::move(built).value());
  }
  api_loaded_ = true;
  engine_->InvalidatePolicies();
  return Status::OK();
}

Status ServerPolicies::CommitApi(Json api, const std::string& by, Json change,
                                 std::vector<ConfigError>* errors) {
  auto built = Build(layers()->config, api, errors);
  if (!built.ok()) return Invalid(errors, built.status());
  auto seq = engine_->Configure(std::string(kServerConfigSession),
                                {{"server_policies", api}, {"by", by}, {"change", change}});
  if (!seq.ok()) return seq.status();
  {
    std::lock_guard lock(mu_);
    layers_ = std::make_shared<const Layers>(std::move(built).value());
  }
  engine_->InvalidatePolicies();
  return Status::OK();
}

Json ServerPolicies::ListServer() const {
  auto l = layers();
  Json out = Json::array();
  for (const PolicyEntry& e : l->server->entries) {
    Json j = e.ToJson();
    bool api = l->api.contains(e.name);
    j["source"] = api ? "api" : "file";
    if (api) j["entry"] = l->api[e.name];
    j["location"] = e.location;
    out.push_back(std::move(j));
  }
  return out;
}

Status ServerPolicies::AddServer(const std::string& name, const Json& entry, const std::string& by,
                                 std::vector<ConfigError>* errors) {
  std::lock_guard write(write_mu_);
  Json api = layers()->api;
  if (api.contains(name)) {
    return Status::AlreadyExists("server policy '" + name + "' exists; PATCH or DELETE it");
  }
  api[name] = entry;
  return CommitApi(std::move(api), by, {{"op", "add"}, {"name", name}}, errors);
}

namespace {

// OK when `api` has a policy named `name`; else says why not.
Status CheckApiPolicy(const Json& api, const PolicyLayer& file, const std::string& name) {
  if (api.contains(name)) return Status::OK();
  if (const PolicyEntry* f = FindEntry(file, name)) {
    return Status::FailedPrecondition("policy '" + name + "' is defined in the configuration (" +
                                      f->location + "); edit the file and reload instead");
  }
  return Status::NotFound("no server policy '" + name + "'");
}

}  // namespace

Status ServerPolicies::PatchServer(const std::string& name, const Json& patch,
                                   const std::string& by, std::vector<ConfigError>* errors) {
  std::lock_guard write(write_mu_);
  auto l = layers();
  Json api = l->api;
  REINS_RETURN_IF_ERROR(CheckApiPolicy(api, l->config->policies, name));
  api[name].merge_patch(patch);
  return CommitApi(std::move(api), by, {{"op", "patch"}, {"name", name}, {"patch", patch}}, errors);
}

Status ServerPolicies::RemoveServer(const std::string& name, const std::string& by) {
  std::lock_guard write(write_mu_);
  auto l = layers();
  Json api = l->api;
  REINS_RETURN_IF_ERROR(CheckApiPolicy(api, l->config->policies, name));
  api.erase(name);
  std::vector<ConfigError> errors;
  return CommitApi(std::move(api), by, {{"op", "delete"}, {"name", name}}, &errors);
}

Result<std::shared_ptr<const PolicySet>> ServerPolicies::Compose(
    const Layers& layers, const SessionState& state, const Json& policies, const Json& agent_spec,
    std::vector<ConfigError>* errors) const {
  ConfigLoader loader(layers.config->registry.get());
  std::optional<PolicyLayer> session;
  if (policies.is_object() && !policies.empty()) {
    auto parsed = loader.ParseApiLayer(policies, Layer::kSession, errors);
    if (!parsed.ok()) return parsed.status();
    session = std::move(parsed).value();
  }
  std::optional<PolicyLayer> inline_agent;
  const PolicyLayer* agent = nullptr;
  if (agent_spec.is_object()) {
    auto parsed = loader.ParseApiAgent(agent_spec, errors);
    if (!parsed.ok()) return parsed.status();
    inline_agent = std::move(parsed->policies);
    agent = &*inline_agent;
  } else if (auto it = layers.config->agents.find(state.agent); it != layers.config->agents.end()) {
    agent = &it->second->policies;
  }
  auto set = PolicySet::Compose(session ? &*session : nullptr, agent, layers.server.get());
  if (!set.ok()) errors->push_back({"request", 0, 0, set.status().message(), "policies"});
  return set;
}

Result<std::shared_ptr<const PolicySet>> ServerPolicies::Resolve(const SessionState& state) const {
  auto l = layers();
  if (!l) return Status::FailedPrecondition("the server has no configuration installed");
  std::vector<ConfigError> errors;
  return Compose(*l, state, ConfigValue(state, "session_policies"),
                 ConfigValue(state, "agent_spec"), &errors);
}

Status ServerPolicies::ValidateSession(const SessionState& state, const Json& policies,
                                       const Json& agent_spec,
                                       std::vector<ConfigError>* errors) const {
  auto set = Compose(*layers(), state, policies, agent_spec, errors);
  return set.ok() ? Status::OK() : Invalid(errors, set.status());
}

Status ServerPolicies::AddSession(const std::string& session, const std::string& name,
                                  const Json& entry, const std::string& by,
                                  std::vector<ConfigError>* errors) {
  std::lock_guard write(write_mu_);
  auto state = engine_->State(session);
  if (!state.ok()) return state.status();
  if (state->last_seq == 0) return Status::NotFound("no session '" + session + "'");
  Json policies = ConfigValue(*state, "session_policies");
  if (!policies.is_object()) policies = Json::object();
  if (policies.contains(name)) {
    return Status::AlreadyExists("session policy '" + name + "' exists; DELETE it first");
  }
  policies[name] = entry;
  REINS_RETURN_IF_ERROR(
      ValidateSession(*state, policies, ConfigValue(*state, "agent_spec"), errors));
  auto seq = engine_->Configure(
      session,
      {{"session_policies", policies}, {"by", by}, {"change", {{"op", "add"}, {"name", name}}}});
  return seq.status();
}

Status ServerPolicies::RemoveSession(const std::string& session, const std::string& name,
                                     const std::string& by) {
  std::lock_guard write(write_mu_);
  auto state = engine_->State(session);
  if (!state.ok()) return state.status();
  if (state->last_seq == 0) return Status::NotFound("no session '" + session + "'");
  Json policies = ConfigValue(*state, "session_policies");
  if (!policies.is_object()) policies = Json::object();
  if (!name.empty() && !policies.contains(name)) {
    return Status::NotFound("session '" + session + "' has no policy '" + name + "'");
  }
  if (name.empty()) {
    policies = Json::object();
  } else {
    policies.erase(name);
  }
  auto seq = engine_->Configure(
      session, {{"session_policies", policies},
                {"by", by},
                {"change", {{"op", "delete"}, {"name", name.empty() ? "*" : name}}}});
  return seq.status();
}

}  // namespace reins
