// What the audit commands (`reins audit sessions|show|cost|verify|export`,
// `reins replay`) share: where the log comes from, opened read-only so that
// auditing never changes what it reads.
#pragma once

#include <memory>
#include <string>

#include "engine/log_store.h"
#include "engine/status.h"

namespace CLI {
class App;
}

namespace reins {

struct AuditSource {
  std::string db;      // --db: the SQLite log
  std::string config;  // --config: a server configuration naming its log
  bool json = false;   // --json: machine-readable output
};

// Adds --db, --config and --json to `cmd`, filling `source`.
void AddAuditSourceOptions(CLI::App* cmd, AuditSource* source);

// The log path: --db, else the configuration's (engine.db, else
// TOKEN_DIR/reins.db, as `reins serve` uses), else ~/.reins/reins.db.
// InvalidArgument naming the configuration's errors when it does not load.
Result<std::string> AuditLogPath(const AuditSource& source);

// Opens that log read-only. NotFound naming the path when there is none
// (auditing never creates a log).
Result<std::unique_ptr<LogStore>> OpenAuditLog(const AuditSource& source);

// `reins audit`'s subcommands, each in its own file, registered on the
// `audit` command by AddAuditCommand (commands.h).

}  // namespace reins
