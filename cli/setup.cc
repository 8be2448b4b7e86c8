#include "cli/setup.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "builtins/builtins.h"
#include "scripts/lua_loader.h"
#include "server/settings.h"

namespace reins {

const PolicyRegistry& DefaultRegistry() {
  static const PolicyRegistry* registry = [] {
    auto* r = new PolicyRegistry();
    Status st = RegisterBuiltins(r);
    if (st.ok()) st = RegisterLuaLoader(r);
    if (!st.ok()) {
      fprintf(stderr, "reins: registering policies failed: %s\n", st.ToString().c_str());
      std::abort();
    }
    return r;
  }();
  return *registry;
}

ConfigLoader DefaultConfigLoader() {
  ConfigLoader loader(&DefaultRegistry());
  RegisterServerSection(&loader);
  return loader;
}

std::optional<LoadedConfig> LoadLayers(const std::string& server, const std::string& agent,
                                       const std::string& session, std::ostream& err) {
  ConfigLoader loader = DefaultConfigLoader();
  std::vector<ConfigError> errors;
  LoadedConfig out;
  out.settings.prices = std::make_shared<PriceTable>(PriceTable::OverBuiltin());
  std::optional<PolicyLayer> server_layer, agent_layer, session_layer;
  // Without a server file, an empty one: the defaults (self_protect) apply.
  auto c = server.empty() ? loader.ParseServer("", "<defaults>", ".", &errors)
                          : loader.LoadServer(server, &errors);
  if (c.ok()) {
    out.settings = c->settings;
    server_layer = std::move(c->policies);
  }
  if (!agent.empty()) {
    auto a = loader.LoadAgent(agent, &errors);
    if (a.ok()) agent_layer = std::move(a->policies);
  }
  if (!session.empty()) {
    auto s = loader.LoadSession(session, &errors);
    if (s.ok()) session_layer = std::move(s).value();
  }
  for (const ConfigError& e : errors) err << e.ToString() << '\n';
  if (!errors.empty()) return std::nullopt;
  auto set = PolicySet::Compose(session_layer ? &*session_layer : nullptr,
                                agent_layer ? &*agent_layer : nullptr,
                                server_layer ? &*server_layer : nullptr);
  if (!set.ok()) {
    err << set.status().message() << '\n';
    return std::nullopt;
  }
  out.policies = std::move(set).value();
  return out;
}

std::string AbsolutePath(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

}  // namespace reins
