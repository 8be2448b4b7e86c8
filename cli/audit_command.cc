// `reins audit`: reading, totalling and verifying session logs (docs/audit.md).
#include <CLI/CLI.hpp>
#include <filesystem>

#include "cli/audit.h"
#include "cli/commands.h"
#include "cli/setup.h"
#include "server/settings.h"

namespace reins {

void AddAuditSourceOptions(CLI::App* cmd, AuditSource* source) {
  cmd->add_option("--db", source->db, "The SQLite session log");
  cmd->add_option("--config", source->config, "A server configuration; its log is read")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--json", source->json, "JSON output, one object per line");
}

Result<std::string> AuditLogPath(const AuditSource& source) {
  if (!source.db.empty()) return source.db;
  ConfigLoader loader = DefaultConfigLoader();
  auto config = LoadServerFile(loader, source.config);
  if (!config.ok()) return config.status();
  return LogPathOf(**config, "");
}

Result<std::unique_ptr<LogStore>> OpenAuditLog(const AuditSource& source) {
  auto path = AuditLogPath(source);
  if (!path.ok()) return path.status();
  std::error_code ec;
  if (!std::filesystem::exists(*path, ec)) {
    return Status::NotFound("no session log at " + *path + " (give --db PATH or --config FILE)");
  }
  SqliteOptions options;
  options.read_only = true;
  auto store = OpenSqliteLogStore(*path, options);
  if (!store.ok()) return store.status().WithPrefix(*path);
  return store;
}

Result<TimeUs> ParseAuditTime(const std::string& text, TimeUs now) {
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    return ParseRfc3339(text + "T00:00:00Z");
  }
  if (auto t = ParseRfc3339(text); t.ok()) return t;
  if (auto ago = ParseDuration(text); ago.ok()) return now - *ago;
  return Status::InvalidArgument("'" + text +
                                 "' is not a date (2026-11-21), a time (2026-11-21T09:00:00Z) "
                                 "or a duration ago (24h, 7d)");
}

void AddAuditCommand(CLI::App& app, int* exit_code) {
  CLI::App* audit =
      app.add_subcommand("audit", "Read, total and verify session logs (docs/audit.md)");
  audit->require_subcommand(1);
  AddAuditSessionsCommand(*audit, exit_code);
  AddAuditShowCommand(*audit, exit_code);
  AddAuditCostCommand(*audit, exit_code);
  AddAuditVerifyCommand(*audit, exit_code);
  AddAuditExportCommand(*audit, exit_code);
}

}  // namespace reins
