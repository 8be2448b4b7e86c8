// Claude Code itself (the pinned npm release), run headless against a fake
// Anthropic server, with reins as its hooks: what reins decides is what
// happens on disk, and the reins log holds the whole session.
#include <catch2/catch.hpp>

#include "tests/e2e/scenarios.h"
#include "tests/support/serve_process.h"

using namespace reins;
using namespace reins::testing;

namespace {

class ClaudeDriver : public HarnessDriver {
 public:
  std::string name() const override { return "claude"; }
  std::string model() const override { return "claude-sonnet-4-5"; }
  // A settings file given with --settings, as docs/adapters.md runs it.
  std::vector<std::string> InstallTarget(const HarnessEnv& env) const override {
    return {"--settings", Settings(env)};
  }
  static std::string Settings(const HarnessEnv& env) { return env.File("claude-settings.json"); }
  // `claude -p PROMPT` (an empty prompt with `args` such as --resume ID).
  HarnessRun Run(const HarnessEnv& env, const FakeModelServer& server, const std::string& prompt,
                 const std::vector<std::string>& args) override {
    std::vector<std::string> argv = {HarnessCli("claude"), "-p"};
    if (!prompt.empty()) argv.push_back(prompt);
    argv.insert(argv.end(), args.begin(), args.end());
    // Bash is allowed by Claude Code's own rules; reins decides on top.
    argv.insert(argv.end(), {"--output-format", "json", "--model", model(), "--settings",
                             Settings(env), "--allowedTools=Bash"});
    HarnessRun run;
    run.process = reins::testing::Run(argv, "", env.project(),
                                      env.Env({{"ANTHROPIC_BASE_URL", server.url()},
                                               {"ANTHROPIC_API_KEY", "sk-ant-test"},
                                               {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"},
                                               {"DISABLE_TELEMETRY", "1"},
                                               {"DISABLE_AUTOUPDATER", "1"}}));
    INFO("claude stdout: " << run.process.out << "\nstderr: " << run.process.err);
    run.result = Json::parse(run.process.out, nullptr, false);
    REQUIRE(run.result.is_object());
    run.session = run.result.value("session_id", "");
    return run;
  }
};

}  // namespace

TEST_CASE("Claude Code: reins denies, allows and rewrites tool calls, and logs the cost",
          "[e2e][claude]") {
  ClaudeDriver claude;
  GuardsScenario(claude);
}

TEST_CASE("Claude Code: a cost budget stops the agent once the reported usage passes the cap",
          "[e2e][claude]") {
  ClaudeDriver claude;
  BudgetScenario(claude);
}

TEST_CASE(
    "Claude Code through reins serve: npm install then git push is deferred, then resumed "
    "after approval",
    "[e2e][claude]") {
  ClaudeDriver claude;
  HarnessEnv env("  supply_chain:\n    use: npm_then_push\n");
  ServeProcess serve(env.File("reins"));
  FakeModelServer model({.commands = {"npm install left-pad", "git push origin main"}});
  InstallHooks(
      env, claude,
      {"--server", serve.url(), "--token-file", serve.TokenFile("admin"), "--ask-mode", "defer"});

  HarnessRun first = claude.Run(env, model, "Add left-pad and push.", {});
  CHECK(first.result["stop_reason"] == "tool_deferred");
  CHECK(env.Ran() == std::vector<std::string>{"npm install left-pad"});
  Json asked = DecisionOn(env, first.session, "git push origin main");
  REQUIRE(asked["verdict"] == "ask");
  std::string approval = asked["approval_id"];

  ProcessResult ok = Run({ReinsBin(), "approve", approval, "--note", "left-pad is fine"}, "", "",
                         serve.Env("approver"));
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);

  HarnessRun resumed = claude.Run(env, model, "", {"--resume", first.session});
  CHECK(resumed.result["is_error"] == false);
  CHECK(env.Ran() == std::vector<std::string>{"npm install left-pad", "git push origin main"});
  CHECK(env.ChainsVerify());
}

TEST_CASE("Claude Code headless with ask-mode deny: the push is refused with its approval",
          "[e2e][claude]") {
  ClaudeDriver claude;
  SupplyChainRefusedScenario(claude);
}
