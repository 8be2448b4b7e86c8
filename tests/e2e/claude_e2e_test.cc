// Claude Code itself (the pinned npm release), run headless against a fake
// Anthropic server, with reins as its hooks: what reins decides is what
// happens on disk, and the reins log holds the whole session.
#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/e2e/fake_model_server.h"
#include "tests/e2e/harness_env.h"
#include "tests/support/process.h"
#include "tests/support/serve_process.h"

using namespace reins;
using namespace reins::testing;

namespace {

constexpr const char* kModel = "claude-sonnet-4-5";

const char* kGuards = R"(  never:
    use: deny_commands
    with: {patterns: ["rm -rf *"]}
  supply_chain:
    use: npm_then_push
  rewrite:
    lua: rewrite.lua
)";

// Rewrites a command before it runs: "original" becomes "rewritten".
const char* kRewriteLua = R"(return {
  name = "rewrite",
  events = { "tool_call" },
  evaluate = function(event, session, params)
    local cmd = event.input.command
    if event.tool ~= "Bash" or not cmd or not cmd:find("original") then return nil end
    return reins.modify({ input = { command = cmd:gsub("original", "rewritten") } },
                        "says rewritten instead")
  end,
}
)";

// Installs reins as the project's hooks, as a user would.
void Install(const HarnessEnv& env, const std::vector<std::string>& hook_args) {
  std::vector<std::string> argv = {ReinsBin(), "hook",      "claude",
                                   "install",  "--project", env.project()};
  argv.insert(argv.end(), hook_args.begin(), hook_args.end());
  ProcessResult r = Run(argv, "", "", env.Env());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

struct ClaudeRun {
  ProcessResult process;
  Json result;  // the --output-format json result
  std::string session() const { return result.value("session_id", ""); }
};

ClaudeRun Claude(const HarnessEnv& env, const FakeModelServer& model,
                 const std::vector<std::string>& args) {
  std::vector<std::string> argv = {HarnessCli("claude"), "-p"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--output-format", "json", "--model", kModel, "--allowedTools=Bash"});
  ClaudeRun run;
  run.process = Run(argv, "", env.project(),
                    env.Env({{"ANTHROPIC_BASE_URL", model.url()},
                             {"ANTHROPIC_API_KEY", "sk-ant-test"},
                             {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"},
                             {"DISABLE_TELEMETRY", "1"},
                             {"DISABLE_AUTOUPDATER", "1"}}));
  INFO("claude stdout: " << run.process.out << "\nstderr: " << run.process.err);
  run.result = Json::parse(run.process.out, nullptr, false);
  REQUIRE(run.result.is_object());
  return run;
}

// The decision on the tool_call whose command is `command`.
Json DecisionOn(const HarnessEnv& env, const std::string& session, const std::string& command) {
  auto decisions = env.Decisions(session);
  for (const Json& e : env.Events(session)) {
    if (e.value("type", "") == "tool_call" && e["input"].value("command", "") == command) {
      return decisions[e["seq"].get<int64_t>()];
    }
  }
  FAIL("no tool_call '" << command << "' in session " << session);
  return {};
}

int Count(const std::vector<Json>& events, const std::string& type) {
  return static_cast<int>(std::count_if(
      events.begin(), events.end(), [&](const Json& e) { return e.value("type", "") == type; }));
}

double LoggedCost(const std::vector<Json>& events, const std::map<int64_t, Json>& decisions) {
  double usd = 0;
  for (const Json& e : events) {
    auto d = decisions.find(e["seq"].get<int64_t>());
    if (e.value("type", "") == "llm_response" && d != decisions.end()) {
      usd += d->second["cost"].value("usd", 0.0);
    }
  }
  return usd;
}

}  // namespace

TEST_CASE("Claude Code: reins denies, allows and rewrites tool calls, and logs the cost",
          "[e2e][claude]") {
  HarnessEnv env(kGuards, {{"rewrite.lua", kRewriteLua}});
  std::filesystem::create_directories(env.project() + "/victim");
  FakeModelServer model(
      {.commands = {"rm -rf victim", "touch allowed.txt", "echo original > said.txt"}});
  Install(env, {"--config", env.config()});

  ClaudeRun run = Claude(env, model, {"Clean up, then mark the project."});
  CHECK(run.result["is_error"] == false);
  CHECK(run.result["result"] == "All done.");
  CHECK(model.tool_calls_answered() == 3);

  // Denied: the directory is still there. Allowed: the file exists.
  // Modified: the command ran as reins rewrote it.
  CHECK(std::filesystem::is_directory(env.project() + "/victim"));
  CHECK(std::filesystem::exists(env.project() + "/allowed.txt"));
  CHECK(ReadFile(env.project() + "/said.txt") == "rewritten\n");

  std::string session = run.session();
  REQUIRE(!session.empty());
  CHECK(DecisionOn(env, session, "rm -rf victim")["verdict"] == "deny");
  CHECK(DecisionOn(env, session, "touch allowed.txt")["verdict"] == "allow");
  CHECK(DecisionOn(env, session, "echo original > said.txt")["verdict"] == "modify");

  // The whole session: its start, the prompt, three tool calls and their
  // results, the final answer, and every model response priced.
  auto events = env.Events(session);
  CHECK(Count(events, "session_start") == 1);
  CHECK(Count(events, "request") == 1);
  CHECK(Count(events, "tool_call") == 3);
  CHECK(Count(events, "tool_result") == 2);  // the denied call never ran
  CHECK(Count(events, "response") == 1);
  CHECK(Count(events, "llm_response") == 4);
  CHECK(LoggedCost(events, env.Decisions(session)) ==
        Approx(PricedCost(kModel, 1000, 100, 4)).epsilon(1e-9));
  CHECK(env.ChainsVerify());
}

TEST_CASE("Claude Code: a cost budget stops the agent once the reported usage passes the cap",
          "[e2e][claude]") {
  // Each response: 10,000 input and 100 output tokens, $0.0315 on Sonnet.
  HarnessEnv env(R"(  budget:
    use: cost_budget
    with: {max_cost_usd: 0.05}
)");
  FakeModelServer model(
      {.commands = {"touch one.txt", "touch two.txt", "touch three.txt"}, .input_tokens = 10000});
  Install(env, {"--config", env.config()});

  ClaudeRun run = Claude(env, model, {"Make three files."});
  CHECK(std::filesystem::exists(env.project() + "/one.txt"));
  CHECK_FALSE(std::filesystem::exists(env.project() + "/two.txt"));
  CHECK_FALSE(std::filesystem::exists(env.project() + "/three.txt"));
  Json denied = DecisionOn(env, run.session(), "touch two.txt");
  CHECK(denied["verdict"] == "deny");
  CHECK(denied["policies"] == Json::array({"budget"}));
}

TEST_CASE(
    "Claude Code through reins serve: npm install then git push is deferred, then resumed "
    "after approval",
    "[e2e][claude]") {
  HarnessEnv env("  supply_chain:\n    use: npm_then_push\n");
  ServeProcess serve(env.File("reins"));
  FakeModelServer model({.commands = {"npm install left-pad", "git push origin main"}});
  Install(env, {"--server", serve.url(), "--token-file", serve.TokenFile("admin"), "--ask-mode",
                "defer"});

  ClaudeRun first = Claude(env, model, {"Add left-pad and push."});
  CHECK(first.result["stop_reason"] == "tool_deferred");
  CHECK(env.Ran() == std::vector<std::string>{"npm install left-pad"});
  std::string session = first.session();
  Json asked = DecisionOn(env, session, "git push origin main");
  REQUIRE(asked["verdict"] == "ask");
  std::string approval = asked["approval_id"];

  ProcessResult ok = Run({ReinsBin(), "approve", approval, "--note", "left-pad is fine"}, "", "",
                         serve.Env("approver"));
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);

  ClaudeRun resumed = Claude(env, model, {"--resume", session});
  CHECK(resumed.result["is_error"] == false);
  CHECK(env.Ran() == std::vector<std::string>{"npm install left-pad", "git push origin main"});
  CHECK(env.ChainsVerify());
}
