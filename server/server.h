// Server: a reins server process's parts wired together. The log store and
// engine, the policy layers and their resolver, tokens, the hub of waiters,
// metrics, the HTTP API on its listeners, and the sweeper that expires
// approvals nobody answered.
//
// Start-up recovers nothing eagerly: a session's state is loaded from its
// latest snapshot plus the records after it when it is first touched, so
// start-up time does not grow with the log.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/registry.h"
#include "engine/status.h"
#include "server/settings.h"

namespace reins {

struct ServeOptions {
  const PolicyRegistry* registry = nullptr;  // the policy types the build knows
  std::string config_path;                   // "" for defaults
  ServerOverrides overrides;                 // --listen, --socket, --token-dir
  std::string db_path;                       // overrides engine.db ("" keeps it)
  int io_threads = 0;                        // 0: one per core
  bool group_commit = true;
  // Where log lines go (default: stderr with a timestamp).
  std::function<void(const std::string&)> log;
};

class Server {
 public:
  // Loads the configuration, opens the log, creates first-start tokens if
  // there are none, and starts listening. Errors name the file and line.
  static Result<std::unique_ptr<Server>> Start(ServeOptions options);
  ~Server();

  // "http://127.0.0.1:PORT" (empty when not on TCP) and the socket path.
  std::string url() const;
  int port() const;
  // The LLM proxy's "http://HOST:PORT" when the configuration has a
  // `proxy:` section (harness-adapters/proxy_config.h), else "".
  std::string proxy_url() const;
  const std::string& socket_path() const;
  const std::string& db_path() const;
  const std::string& token_dir() const;
  // Token files written at this start (first start only).
  const std::vector<std::string>& created_token_files() const;
  std::string server_policies_digest() const;

  // Re-reads the configuration file: server policies, scripts, agents and
  // tokens. Settings that need a restart (listen, db, durability, pricing)
  // are reported and left as they were. On error nothing changes.
  Status Reload();

  // Stops accepting, ends long waits, lets requests in flight finish (up to
  // `grace`), waits for the engine's work and closes the log.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // Serves until SIGTERM or SIGINT (then shuts down gracefully); SIGHUP
  // reloads. Returns the process exit status.
  int RunUntilSignal();

  struct Parts;

 private:
  explicit Server(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> p_;
};

}  // namespace reins
