// An engine in this process over a server configuration's log and policies,
// the way `reins hook` and `reins proxy` run one (`reins serve` wires its
// own, with the HTTP API around it).
#pragma once

#include <memory>
#include <string>

#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/log_store.h"
#include "harness-adapters/decision_client.h"
#include "server/server_policies.h"
#include "server/settings.h"

namespace reins {

struct EmbeddedEngine {
  // Loads `config_path` (DefaultConfigLoader), opens its log (or `db` when
  // not empty; its directory is created) with `sqlite`, and installs its
  // policies in an engine made with `engine_options`. The configuration's
  // durability and ask timeout override those fields of the options. On
  // error the status's message is the text to print, e.g. "configuration
  // does not load:\n..." with every file:line error.
  static Result<std::unique_ptr<EmbeddedEngine>> Open(const std::string& config_path,
                                                      const std::string& db, SqliteOptions sqlite,
                                                      EngineOptions engine_options);

  std::shared_ptr<const ServerConfig> config;
  std::string db_path;
  SystemClock clock;
  std::unique_ptr<LogStore> store;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<ServerPolicies> policies;
  std::unique_ptr<EngineDecisionClient> client;
};

}  // namespace reins
