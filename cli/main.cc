// reins: a policy engine for AI coding-agent harnesses.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"reins: stateful policies for AI coding agents"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "reins 0.1.0");
  int exit_code = 0;
  reins::AddEvalCommand(app, &exit_code);
  reins::AddCheckCommand(app, &exit_code);
  reins::AddPoliciesCommand(app, &exit_code);
  reins::AddServeCommand(app, &exit_code);
  reins::AddTokenCommand(app, &exit_code);
  reins::AddApprovalsCommands(app, &exit_code);
  reins::AddHookCommand(app, &exit_code);
  reins::AddProxyCommand(app, &exit_code);
  reins::AddAuditCommand(app, &exit_code);
  reins::AddReplayCommand(app, &exit_code);
  reins::AddTestCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
