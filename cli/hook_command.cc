// reins hook claude: the hook command Claude Code runs (docs/adapters.md).
// Reads the hook JSON on stdin, evaluates it in this process against the
// session log the server uses, prints Claude Code's answer and exits.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
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
  auto* server = claude->add_option(
      "--server", opt->server,
      "Forward to a reins server (URL or unix:PATH) instead of evaluating here; the token "
      "comes from REINS_TOKEN, --token-file, REINS_TOKEN_FILE or ~/.reins/agent.token");
  claude->add_option("--token-file", opt->token_file, "Agent token file (with --server)");
  claude->callback([opt, exit_code, server] {
    opt->forward = server->count() > 0;
    *exit_code = RunClaudeHook(*opt);
  });
}

}  // namespace reins
