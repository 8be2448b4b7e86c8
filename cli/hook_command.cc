// reins hook claude|codex|gemini: the hook command a harness runs
// (docs/adapters.md). Reads the hook JSON on stdin, evaluates it in this
// process against the session log the server uses (or forwards it to a
// server), prints the harness's answer and exits. `install` and `uninstall`
// write reins into the harness's hook settings.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "cli/embedded_engine.h"
#include "cli/hook_install.h"
#include "cli/server_client.h"
#include "cli/setup.h"
#include "engine/engine.h"
#include "engine/json_fields.h"
#include "engine/pricing.h"
#include "harness-adapters/hook_adapter.h"
#include "server/http_client.h"
#include "server/server_policies.h"
#include "server/settings.h"

namespace reins {

namespace {

namespace fs = std::filesystem;

struct HookOptions : ClientOptions {
  std::string harness;   // claude | codex | gemini
  std::string ask_mode;  // empty: the harness's default
  std::string config, db, hold_wait = "10m";
  bool forward = false;  // --server given
};

// What each harness can do with an ask, its default first.
std::vector<std::string> AskModes(const std::string& harness) {
  if (harness == "claude") return {"harness", "defer", "hold", "deny"};
  return {"deny", "hold"};
}

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

// Forwards the hook JSON to a server's POST /v1/hooks/HARNESS and prints
// its answer. When the server cannot answer, a tool call or prompt is refused.
int ForwardHook(const HookOptions& opt, const std::string& input) {
  Json hook = Json::parse(input, nullptr, false);
  std::string event = hook.is_object() ? StrOf(hook, "hook_event_name") : "";
  auto refuse = [&](const std::string& why) {
    return Print(
        HookRefusal(opt.harness, event, "reins server " + ServerAddress(opt) + ": " + why));
  };
  auto token = ClientToken(opt, "agent.token");
  if (!token.ok()) return refuse(token.status().message());
  HttpClient client(ServerAddress(opt), std::chrono::seconds(30));
  std::string target = "/v1/hooks/" + opt.harness + "?ask_mode=" + opt.ask_mode;
  if (const char* user = std::getenv("USER")) target += std::string("&user=") + user;
  auto r = client.Request("POST", target, input, *token);
  if (!r.ok()) return refuse(r.status().message());
  if (r->status != 200) {
    Json j = r->json();
    return refuse(j.is_object() && j.contains("error") ? JsonString(j["error"], "message", r->body)
                                                       : "HTTP " + std::to_string(r->status));
  }
  std::cout << r->body;
  return 0;
}

int RunHook(HookOptions opt) {
  if (opt.ask_mode.empty()) opt.ask_mode = AskModes(opt.harness).front();
  if (opt.forward) {
    if (opt.ask_mode == "hold")
      return CannotStart("--ask-mode hold is not available with --server");
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return ForwardHook(opt, input);
  }
  AdapterOptions options;
  options.ask_mode = ParseAskMode(opt.ask_mode).value();
  auto wait = ParseDuration(opt.hold_wait);
  if (!wait.ok()) return CannotStart("--hold-wait: " + wait.status().message());
  options.hold_wait = *wait;
  if (const char* user = std::getenv("USER")) options.user = user;

  SqliteOptions sqlite;
  sqlite.group_commit = false;  // one append at a time in a hook process
  sqlite.short_lived = true;
  EngineOptions engine_options;
  // Each hook process loads its session anew: a snapshot every few records
  // keeps that to a short tail however long the session grows.
  engine_options.snapshot_every = 32;
  auto embedded = EmbeddedEngine::Open(opt.config, opt.db, sqlite, engine_options);
  if (!embedded.ok()) return CannotStart(embedded.status().message());
  EngineDecisionClient& client = *(*embedded)->client;
  auto adapter = MakeHookAdapter(opt.harness, &client, options);
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  int code = Print(adapter->Handle(input));
  // The answer is committed and printed: leave without tearing down the
  // engine, the Lua states and the connection (SQLite treats an exit like a
  // closed connection; the WAL holds every commit). A harness waits for
  // the hook process to exit, so this is time off every tool call.
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(code);
}

// Where a harness keeps its hook settings, and what reins hooks there.
struct InstallTarget {
  std::string project = ".", settings;
  bool user = false;
};

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
      argv.insert(argv.end(), {"--token-file", AbsolutePath(opt.token_file)});
  } else {
    if (!opt.config.empty()) argv.insert(argv.end(), {"--config", AbsolutePath(opt.config)});
    if (!opt.db.empty()) argv.insert(argv.end(), {"--db", AbsolutePath(opt.db)});
  }
  if (!opt.ask_mode.empty()) argv.insert(argv.end(), {"--ask-mode", opt.ask_mode});
  if (opt.hold_wait != "10m") argv.insert(argv.end(), {"--hold-wait", opt.hold_wait});
  return argv;
}

// Where each harness keeps its hook settings, and what reins hooks there.
struct HarnessHooks {
  std::string name, title;
  std::string settings;  // relative to the project directory or home
  std::string home_env;  // overrides home's settings directory (CODEX_HOME)
  std::vector<HookEvent> events;
  long timeout_unit;  // the settings' timeout unit, in seconds^-1 (1: seconds, 1000: ms)
};

const std::vector<HarnessHooks>& Harnesses() {
  static const std::vector<HarnessHooks> kHarnesses = {
      {"claude",
       "Claude Code",
       ".claude/settings.json",
       "",
       {{"SessionStart", ""},
        {"UserPromptSubmit", ""},
        {"PreToolUse", "*"},
        {"PostToolUse", "*"},
        {"PostToolUseFailure", "*"},
        {"Stop", ""},
        {"SubagentStop", ""},
        {"SessionEnd", ""}},
       1},
      {"codex",
       "Codex",
       ".codex/hooks.json",
       "CODEX_HOME",
       {{"SessionStart", ""},
        {"UserPromptSubmit", ""},
        {"PreToolUse", "*"},
        {"PostToolUse", "*"},
        {"Stop", ""},
        {"SubagentStop", ""},
        {"SessionEnd", ""}},
       1},
      {"gemini",
       "Gemini CLI",
       ".gemini/settings.json",
       "",
       {{"SessionStart", ""},
        {"BeforeAgent", ""},
        {"BeforeModel", ""},
        {"BeforeTool", "*"},
        {"AfterTool", "*"},
        {"AfterAgent", ""},
        {"SessionEnd", ""}},
       1000},
  };
  return kHarnesses;
}

HookInstall InstallSpec(const HarnessHooks& h, const InstallTarget& t, const HookOptions& opt) {
  HookInstall spec;
  spec.harness = h.name;
  const char* env_home = h.home_env.empty() ? nullptr : std::getenv(h.home_env.c_str());
  std::string user_file =
      env_home && *env_home ? std::string(env_home) + "/" + fs::path(h.settings).filename().string()
                            : HomeDir() + "/" + h.settings;
  spec.path = !t.settings.empty() ? t.settings
              : t.user            ? user_file
                                  : AbsolutePath(t.project) + "/" + h.settings;
  spec.events = h.events;
  spec.command = HookArgv(h.name, opt);
  // A held ask must not be cut short by the harness's hook timeout.
  if (opt.ask_mode == "hold") {
    auto wait = ParseDuration(opt.hold_wait);
    if (wait.ok()) spec.timeout = (*wait / 1000000 + 30) * h.timeout_unit;
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
  std::vector<std::string> modes = AskModes(opt->harness);
  cmd->add_option("--config", opt->config, "Server configuration (YAML)")->check(CLI::ExistingFile);
  cmd->add_option("--db", opt->db, "Session log (SQLite); default: the configuration's");
  cmd->add_option("--ask-mode", opt->ask_mode,
                  opt->harness == "claude"
                      ? "What an ask does: harness (Claude's prompt; the default), defer "
                        "(headless -p; resume after approval), hold (wait for a reins approval) "
                        "or deny (refuse, saying how to approve)"
                      : "What an ask does: deny (refuse, saying how to approve; the default) or "
                        "hold (wait for a reins approval)")
      ->check(CLI::IsMember(modes));
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
  for (const HarnessHooks& h : Harnesses()) {
    auto opt = std::make_shared<HookOptions>();
    opt->harness = h.name;
    auto target = std::make_shared<InstallTarget>();
    CLI::App* cmd = hook->add_subcommand(h.name, h.title + "'s hook: hook JSON on stdin");
    cmd->require_subcommand(0, 1);
    CLI::Option* server = nullptr;
    AddHookOptions(cmd, opt.get(), &server);
    CLI::App* install = cmd->add_subcommand(
        "install", "Add reins to " + h.title + "'s hooks (the options above go into the command)");
    AddInstallTarget(install, target.get(), h.settings);
    install->fallthrough();  // the hook's own options may follow `install`
    CLI::App* uninstall =
        cmd->add_subcommand("uninstall", "Remove exactly the hooks install added");
    AddInstallTarget(uninstall, target.get(), h.settings);
    install->callback([=, &h] {
      opt->forward = server->count() > 0;
      *exit_code = Report(InstallHooks(InstallSpec(h, *target, *opt)));
    });
    uninstall->callback([=, &h] {
      *exit_code = Report(UninstallHooks(InstallSpec(h, *target, *opt).path, h.name));
    });
    cmd->callback([=] {
      if (install->parsed() || uninstall->parsed()) return;
      opt->forward = server->count() > 0;
      *exit_code = RunHook(*opt);
    });
  }
}

}  // namespace reins
