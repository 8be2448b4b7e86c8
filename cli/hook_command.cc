// reins hook claude: the hook command Claude Code runs (docs/adapters.md).
// Reads the hook JSON on stdin, evaluates it in this process against the
// session log the server uses, prints Claude Code's answer and exits.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "cli/setup.h"
#include "engine/engine.h"
#include "engine/pricing.h"
#include "harness-adapters/claude_code.h"
#include "server/server_policies.h"
#include "server/settings.h"

namespace reins {

namespace {

namespace fs = std::filesystem;

struct HookOptions {
  std::string config, db, ask_mode = "harness", hold_wait = "10m";
};

// The answer when the hook cannot even start: a tool call or prompt must
// not pass unevaluated (exit 2 blocks them; elsewhere it is only shown).
int CannotStart(const std::string& message) {
  std::cerr << "reins hook: " << message << '\n';
  return 2;
}

int RunClaudeHook(const HookOptions& opt) {
  ClaudeOptions options;
  options.ask_mode = opt.ask_mode == "defer"  ? AskMode::kDefer
                     : opt.ask_mode == "hold" ? AskMode::kHold
                                              : AskMode::kHarness;
  auto wait = ParseDuration(opt.hold_wait);
  if (!wait.ok()) return CannotStart("--hold-wait: " + wait.status().message());
  options.hold_wait = *wait;
  if (const char* user = std::getenv("USER")) options.user = user;

  ConfigLoader loader = DefaultConfigLoader();
  std::vector<ConfigError> errors;
  auto config = opt.config.empty()
                    ? loader.ParseServer("", "<defaults>", fs::current_path().string(), &errors)
                    : loader.LoadServer(opt.config, &errors);
  if (!config.ok()) {
    std::string all;
    for (const ConfigError& e : errors) all += "\n  " + e.ToString();
    return CannotStart("configuration does not load:" + all);
  }
  auto shared = std::make_shared<const ServerConfig>(std::move(config).value());
  // The same log `reins serve` uses with this configuration.
  std::string db = !opt.db.empty() ? opt.db
                   : !shared->settings.db_path.empty()
                       ? shared->settings.db_path
                       : ServerSettingsOf(*shared).token_dir + "/reins.db";
  std::error_code ec;
  if (db != ":memory:") fs::create_directories(fs::path(db).parent_path(), ec);
  SqliteOptions sqlite;
  sqlite.durability = shared->settings.durability;
  sqlite.group_commit = false;  // one append at a time in a hook process
  auto store = OpenSqliteLogStore(db, sqlite);
  if (!store.ok()) return CannotStart(store.status().ToString());
  SystemClock clock;
  EngineOptions engine_options;
  engine_options.default_ask_timeout = shared->settings.ask_timeout;
  Engine engine(store->get(), shared->settings.prices, &clock, engine_options);
  ServerPolicies policies(&engine);
  Status installed = policies.Install(shared, &errors);
  if (!installed.ok()) return CannotStart(installed.ToString());
  engine.SetPolicyResolver([&](const SessionState& st) { return policies.Resolve(st); });

  EngineDecisionClient client(&engine, store->get());
  ClaudeCodeAdapter adapter(&client, options);
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  HookAnswer answer = adapter.Handle(input);
  std::cout << answer.out;
  std::cerr << answer.err;
  return answer.exit_code;
}

}  // namespace

void AddHookCommand(CLI::App& app, int* exit_code) {
  CLI::App* hook = app.add_subcommand("hook", "Hook commands for agent harnesses");
  hook->require_subcommand(1);
  auto opt = std::make_shared<HookOptions>();
  CLI::App* claude = hook->add_subcommand("claude", "Claude Code's hook: hook JSON on stdin");
  claude->add_option("--config", opt->config, "Server configuration (YAML)")
      ->check(CLI::ExistingFile);
  claude->add_option("--db", opt->db, "Session log (SQLite); default: the configuration's");
  claude
      ->add_option("--ask-mode", opt->ask_mode,
                   "harness (Claude's prompt), defer (headless -p; resume after approval) or "
                   "hold (wait for a reins approval)")
      ->check(CLI::IsMember({"harness", "defer", "hold"}));
  claude->add_option("--hold-wait", opt->hold_wait, "With --ask-mode hold: the longest wait");
  claude->callback([opt, exit_code] { *exit_code = RunClaudeHook(*opt); });
}

}  // namespace reins
