// reins check: validates configuration files and prints every error with
// file:line:column. The file's kind (server, agent, session) is detected from
// its top-level keys unless --as says otherwise.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/setup.h"

namespace reins {

namespace {

struct CheckOptions {
  std::vector<std::string> files;
  std::string as = "auto";
};

int RunCheck(const CheckOptions& opt) {
  ConfigLoader loader = DefaultConfigLoader();
  int failed = 0;
  for (const std::string& file : opt.files) {
    std::vector<ConfigError> errors;
    if (opt.as == "server") {
      (void)loader.LoadServer(file, &errors);
    } else if (opt.as == "agent") {
      (void)loader.LoadAgent(file, &errors);
    } else if (opt.as == "session") {
      (void)loader.LoadSession(file, &errors);
    } else {
      (void)loader.Check(file, &errors);
    }
    for (const ConfigError& e : errors) std::cerr << e.ToString() << '\n';
    if (errors.empty()) {
      std::cout << file << ": ok\n";
    } else {
      ++failed;
    }
  }
  if (failed) {
    std::cerr << failed << " of " << opt.files.size() << " files have errors\n";
    return 2;
  }
  return 0;
}

}  // namespace

void AddCheckCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<CheckOptions>();
  CLI::App* cmd = app.add_subcommand("check", "Validate configuration files");
  cmd->add_option("files", opt->files, "YAML files to check")->required();
  cmd->add_option("--as", opt->as, "Treat every file as: auto, server, agent or session")
      ->check(CLI::IsMember({"auto", "server", "agent", "session"}));
  cmd->callback([opt, exit_code] { *exit_code = RunCheck(*opt); });
}

}  // namespace reins
