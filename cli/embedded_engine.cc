#include "cli/embedded_engine.h"

#include <filesystem>

#include "cli/setup.h"

namespace reins {

Result<std::unique_ptr<EmbeddedEngine>> EmbeddedEngine::Open(const std::string& config_path,
                                                             const std::string& db,
                                                             SqliteOptions sqlite,
                                                             EngineOptions engine_options) {
  auto e = std::make_unique<EmbeddedEngine>();
  ConfigLoader loader = DefaultConfigLoader();
  auto config = LoadServerFile(loader, config_path);
  if (!config.ok()) {
    return Status::InvalidArgument("configuration does not load:\n" + config.status().message());
  }
  e->config = *config;
  // The same log `reins serve` uses with this configuration.
  e->db_path = LogPathOf(*e->config, db);
  std::error_code ec;
  if (e->db_path != ":memory:") {
    std::filesystem::create_directories(std::filesystem::path(e->db_path).parent_path(), ec);
  }
  sqlite.durability = e->config->settings.durability;
  auto store = OpenSqliteLogStore(e->db_path, sqlite);
  if (!store.ok()) return Status::IOError(store.status().ToString());
  e->store = std::move(store).value();
  engine_options.default_ask_timeout = e->config->settings.ask_timeout;
  e->engine = std::make_unique<Engine>(e->store.get(), e->config->settings.prices, &e->clock,
                                       engine_options);
  e->policies = std::make_unique<ServerPolicies>(e->engine.get());
  std::vector<ConfigError> errors;
  Status installed = e->policies->Install(e->config, &errors);
  if (!installed.ok()) return Status::InvalidArgument(installed.ToString());
  ServerPolicies* policies = e->policies.get();
  e->engine->SetPolicyResolver(
      [policies](const SessionState& st) { return policies->Resolve(st); });
  e->client = std::make_unique<EngineDecisionClient>(e->engine.get(), e->store.get());
  return e;
}

}  // namespace reins
