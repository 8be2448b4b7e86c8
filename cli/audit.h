// What the audit commands (`reins audit sessions|show|cost|verify|export`,
// `reins replay`) share: where the log comes from, opened read-only so that
// auditing never changes what it reads.
#pragma once

#include <memory>
#include <string>

#include "engine/clock.h"
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

// A time given on the command line: a day ("2026-11-21", its midnight UTC),
// an RFC 3339 time, or a duration before `now` ("24h", "7d").
Result<TimeUs> ParseAuditTime(const std::string& text, TimeUs now);

// `reins audit`'s subcommands, each in its own file, registered on the
// `audit` command by AddAuditCommand (commands.h).
void AddAuditSessionsCommand(CLI::App& audit, int* exit_code);
void AddAuditShowCommand(CLI::App& audit, int* exit_code);
void AddAuditCostCommand(CLI::App& audit, int* exit_code);
void AddAuditVerifyCommand(CLI::App& audit, int* exit_code);
void AddAuditExportCommand(CLI::App& audit, int* exit_code);

}  // namespace reins
