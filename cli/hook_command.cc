// reins hook claude: the hook command Claude Code runs (docs/adapters.md).
// Reads the hook JSON on stdin, evaluates it in this process against the
// session log the server uses, prints Claude Code's answer and exits.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "cli/hook_install.h"
#include "cli/server_client.h"
#include "cli/setup.h"
#include "engine/engine.h"
#include "engine/pricing.h"
#include "harness-adapters/claude_code.h"
#include "server/http_client.h"
#include "server/server_policies.h"
#include "server/settings.h"

namespace reins {

namespace {

namespace fs = std::filesystem;

struct HookOptions : ClientOptions {
  std::string config, db, ask_mode = "harness", hold_wait = "10m";
  bool forward = false;  // --server given
};

// The answer when the hook cannot even start: a tool call or prompt must
// not pass unevaluated (exit 2 blocks them; elsewhere it is only shown).
int CannotStart(const std::string& message) {
  std::cerr << "reins hook: " << message << '\n';
  return 2;
}

int Print(const HookAnswer& answer) {
  std::cout << answer.out;
  std::cerr << answer.err;
  return answer.exit_code;
}

// Forwards the hook JSON to a server's POST /v1/hooks/claude and prints its
// answer. When the server cannot answer, a tool call or prompt is refused.
int ForwardClaudeHook(const HookOptions& opt, const std::string& input) {
  Json hook = Json::parse(input, nullptr, false);
  std::string event = hook.is_object() ? hook.value("hook_event_name", "") : "";
  auto refuse = [&](const std::string& why) {
    return Print(ClaudeRefusal(event, "reins server " + ServerAddress(opt) + ": " + why));
  };
  auto token = ClientToken(opt, "agent.token");
  if (!token.ok()) return refuse(token.status().message());
  HttpClient client(ServerAddress(opt), std::chrono::seconds(30));
  std::string target = "/v1/hooks/claude?ask_mode=" + opt.ask_mode;
  if (const char* user = std::getenv("USER")) target += std::string("&user=") + user;
  auto r = client.Request("POST", target, input, *token);
  if (!r.ok()) return refuse(r.status().message());
  if (r->status != 200) {
    Json j = r->json();
    return refuse(j.is_object() && j.contains("error") ? j["error"].value("message", r->body)
                                                       : "HTTP " + std::to_string(r->status));
  }
  std::cout << r->body;
  return 0;
}

int RunClaudeHook(const HookOptions& opt) {
  if (opt.forward) {
    if (opt.ask_mode == "hold")
      return CannotStart("--ask-mode hold is not available with --server");
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return ForwardClaudeHook(opt, input);
  }
  ClaudeOptions options;
  options.ask_mode = opt.ask_mode == "defer"  ? AskMode::kDefer
                     : opt.ask_mode == "hold" ? AskMode::kHold
                                              : AskMode::kHarness;
  auto wait = ParseDuration(opt.hold_wait);
  if (!wait.ok()) return CannotStart("--hold-wait: " + wait.status().message());
  options.hold_wait = *wait;
  if (const char* user = std::getenv("USER")) options.user = user;

  ConfigLoader loader = DefaultConfigLoader();
  auto config = LoadServerFile(loader, opt.config);
  if (!config.ok())
    return CannotStart("configuration does not load:\n" + config.status().message());
  std::shared_ptr<const ServerConfig> shared = *config;
  // The same log `reins serve` uses with this configuration.
  std::string db = LogPathOf(*shared, opt.db);
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
  std::vector<ConfigError> errors;
  Status installed = policies.Install(shared, &errors);
  if (!installed.ok()) return CannotStart(installed.ToString());
  engine.SetPolicyResolver([&](const SessionState& st) { return policies.Resolve(st); });

  EngineDecisionClient client(&engine, store->get());
  ClaudeCodeAdapter adapter(&client, options);
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return Print(adapter.Handle(input));
}

// Where a harness keeps its hook settings, and what reins hooks there.
struct InstallTarget {
  std::string project = ".", settings;
  bool user = false;
};

std::string Absolute(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

std::string HomeDir() {
  const char* home = std::getenv("HOME");
  return home && *home ? home : ".";
}

// The hook command written into the settings: this reins binary with the
// options given to install (paths made absolute: hooks run in other dirs).
std::vector<std::string> HookArgv(const std::string& harness, const HookOptions& opt) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  std::vector<std::string> argv = {ec ? "reins" : self.string(), "hook", harness};
  if (opt.forward) {
    argv.insert(argv.end(), {"--server", opt.server});
    if (!opt.token_file.empty())
      argv.insert(argv.end(), {"--token-file", Absolute(opt.token_file)});
  } else {
    if (!opt.config.empty()) argv.insert(argv.end(), {"--config", Absolute(opt.config)});
    if (!opt.db.empty()) argv.insert(argv.end(), {"--db", Absolute(opt.db)});
  }
  if (opt.ask_mode != "harness") argv.insert(argv.end(), {"--ask-mode", opt.ask_mode});
  if (opt.hold_wait != "10m") argv.insert(argv.end(), {"--hold-wait", opt.hold_wait});
  return argv;
}

HookInstall ClaudeInstall(const InstallTarget& t, const HookOptions& opt) {
  HookInstall spec;
  spec.harness = "claude";
  spec.path = !t.settings.empty() ? t.settings
              : t.user            ? HomeDir() + "/.claude/settings.json"
                                  : Absolute(t.project) + "/.claude/settings.json";
  spec.events = {{"SessionStart", ""}, {"UserPromptSubmit", ""},    {"PreToolUse", "*"},
                 {"PostToolUse", "*"}, {"PostToolUseFailure", "*"}, {"Stop", ""},
                 {"SubagentStop", ""}, {"SessionEnd", ""}};
  spec.command = HookArgv("claude", opt);
  // A held ask must not be cut short by Claude Code's hook timeout (seconds).
  if (opt.ask_mode == "hold") {
    auto wait = ParseDuration(opt.hold_wait);
    if (wait.ok()) spec.timeout = *wait / 1000000 + 30;
  }
  return spec;
}

int Report(const Result<std::string>& r) {
  if (!r.ok()) {
    std::cerr << "reins hook: " << r.status().message() << '\n';
    return 1;
  }
  std::cout << *r << '\n';
  return 0;
}

// Options of the hook command itself; install copies them into the settings.
void AddHookOptions(CLI::App* cmd, HookOptions* opt, CLI::Option** server) {
  cmd->add_option("--config", opt->config, "Server configuration (YAML)")->check(CLI::ExistingFile);
  cmd->add_option("--db", opt->db, "Session log (SQLite); default: the configuration's");
  cmd->add_option("--ask-mode", opt->ask_mode,
                  "harness (Claude's prompt), defer (headless -p; resume after approval) or "
                  "hold (wait for a reins approval)")
      ->check(CLI::IsMember({"harness", "defer", "hold"}));
  cmd->add_option("--hold-wait", opt->hold_wait, "With --ask-mode hold: the longest wait");
  *server = cmd->add_option(
      "--server", opt->server,
      "Forward to a reins server (URL or unix:PATH) instead of evaluating here; the token "
      "comes from REINS_TOKEN, --token-file, REINS_TOKEN_FILE or ~/.reins/agent.token");
  cmd->add_option("--token-file", opt->token_file, "Agent token file (with --server)");
}

void AddInstallTarget(CLI::App* cmd, InstallTarget* t, const std::string& file) {
  auto* project = cmd->add_option("--project", t->project,
                                  "Project directory (default: the current one): DIR/" + file);
  auto* user = cmd->add_flag("--user", t->user, "The user's settings: ~/" + file);
  auto* settings = cmd->add_option("--settings", t->settings, "This settings file");
  project->excludes(user)->excludes(settings);
  user->excludes(settings);
}

}  // namespace

void AddHookCommand(CLI::App& app, int* exit_code) {
  CLI::App* hook = app.add_subcommand("hook", "Hook commands for agent harnesses");
  hook->require_subcommand(1);
  auto opt = std::make_shared<HookOptions>();
  auto target = std::make_shared<InstallTarget>();
  CLI::App* claude = hook->add_subcommand("claude", "Claude Code's hook: hook JSON on stdin");
  claude->require_subcommand(0, 1);
  CLI::Option* server = nullptr;
  AddHookOptions(claude, opt.get(), &server);
  CLI::App* install = claude->add_subcommand(
      "install", "Add reins to Claude Code's hooks (the options above go into the hook command)");
  AddInstallTarget(install, target.get(), ".claude/settings.json");
  install->fallthrough();  // the hook's own options may follow `install`
  CLI::App* uninstall =
      claude->add_subcommand("uninstall", "Remove exactly the hooks install added");
  AddInstallTarget(uninstall, target.get(), ".claude/settings.json");
  install->callback([=] {
    opt->forward = server->count() > 0;
    *exit_code = Report(InstallHooks(ClaudeInstall(*target, *opt)));
  });
  uninstall->callback(
      [=] { *exit_code = Report(UninstallHooks(ClaudeInstall(*target, *opt).path, "claude")); });
  claude->callback([=] {
    if (install->parsed() || uninstall->parsed()) return;
    opt->forward = server->count() > 0;
    *exit_code = RunClaudeHook(*opt);
  });
}

}  // namespace reins
