// The `server:` section of a server configuration file:
//
//   server:
//     listen: 127.0.0.1:6767      # host:port for HTTP ("" for none)
//     socket: /run/reins.sock     # a Unix domain socket too (optional)
//     token_dir: ~/.reins         # first-start tokens and tokens.json
//     tokens:                     # more tokens, hashed (reins token hash)
//       - {name: ci, role: agent, sha256: 64-hex}
//     max_body_bytes: 1048576     # 413 beyond this
//     header_timeout: 10s         # to receive a request's headers
//     idle_timeout: 60s           # a keep-alive connection with nothing sent
//     max_connections: 1024       # at this, the longest-idle connection gives way
//     max_waiters: 1024           # long polls, held asks and streams at once
//     max_wait: 1h                # the longest ?wait honoured
//     workers: 32                 # threads that run the engine (log writes)
//
// Every key is optional; command-line flags override listen, socket and the
// token directory (ServerOverrides, applied while the file is parsed so the
// token directory the server really uses is the one self_protect guards).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/clock.h"
#include "engine/config.h"
#include "server/tokens.h"

namespace reins {

struct ServerSettings {
  std::string listen = "127.0.0.1:6767";
  std::string socket;
  std::string token_dir;  // absolute; default ~/.reins
  std::vector<TokenEntry> tokens;
  size_t max_body_bytes = 1 << 20;
  TimeUs header_timeout = 10 * 1000000LL;
  TimeUs idle_timeout = 60 * 1000000LL;
  size_t max_connections = 1024;
  size_t max_waiters = 1024;
  TimeUs max_wait = 3600 * 1000000LL;
  // Threads that run the engine. Many, though the machine may have two
  // cores: appends waiting together share one transaction (group commit),
  // which is what keeps the log from limiting throughput.
  int workers = 32;

  std::string token_file() const { return token_dir + "/tokens.json"; }
};

struct ServerOverrides {
  std::optional<std::string> listen, socket, token_dir;
  std::optional<std::string> db;  // --db: protected from the agent like engine.db
};

// Makes `loader` accept the `server:` section, then apply `overrides`, and
// the LLM proxy's `proxy:` and `llm:` sections (harness-adapters/
// proxy_config.h). The token directory is added to the default
// self_protect policy's protected paths.
void RegisterServerSection(ConfigLoader* loader, ServerOverrides overrides = {});

// The settings of a loaded configuration (defaults when it has no section).
ServerSettings ServerSettingsOf(const ServerConfig& config);

// Loads the server file at `path` ("" for the defaults) with `loader`,
// which has the server section registered. InvalidArgument names every
// error, one per line, as file:line:column: message.
Result<std::shared_ptr<const ServerConfig>> LoadServerFile(ConfigLoader& loader,
                                                           const std::string& path);

// The session log a server configuration writes: `db_override` (--db),
// else engine.db, else TOKEN_DIR/reins.db. `reins serve` and the embedded
// hooks agree on it, so people see every session in one place.
std::string LogPathOf(const ServerConfig& config, const std::string& db_override);

// The default token directory: $HOME/.reins.
std::string DefaultTokenDir();

}  // namespace reins
