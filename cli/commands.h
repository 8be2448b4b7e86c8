// The `reins` subcommands. Each Run* returns the process exit status:
// 0 success, 1 a runtime failure (I/O, database), 2 bad input or
// configuration (with "file:line..." messages on stderr).
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace reins {

// Registers each subcommand on the CLI11 app; the callback runs it and
// stores the exit status in *exit_code.
void AddEvalCommand(CLI::App& app, int* exit_code);
void AddCheckCommand(CLI::App& app, int* exit_code);
void AddPoliciesCommand(CLI::App& app, int* exit_code);
void AddServeCommand(CLI::App& app, int* exit_code);
void AddTokenCommand(CLI::App& app, int* exit_code);
void AddApprovalsCommands(CLI::App& app, int* exit_code);  // approvals, approve, deny
void AddHookCommand(CLI::App& app, int* exit_code);        // hook claude
void AddProxyCommand(CLI::App& app, int* exit_code);       // proxy
void AddAuditCommand(CLI::App& app, int* exit_code);       // audit sessions|show|cost|verify|export
void AddReplayCommand(CLI::App& app, int* exit_code);      // replay (docs/audit.md)
void AddTestCommand(CLI::App& app, int* exit_code);        // test (policy tests)

}  // namespace reins
