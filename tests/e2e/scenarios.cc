#include "tests/e2e/scenarios.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support/serve_process.h"

namespace reins::testing {

namespace {

const char* kGuards = R"(  never:
    use: deny_commands
    with: {patterns: ["rm -rf *"]}
  rewrite:
    lua: rewrite.lua
)";

// Rewrites a shell command before it runs: "original" becomes "rewritten".
const char* kRewriteLua = R"(return {
  name = "rewrite",
  events = { "tool_call" },
  evaluate = function(event, session, params)
    local cmd = event.input.command
    if type(cmd) ~= "string" or not cmd:find("original") then return nil end
    return reins.modify({ input = { command = cmd:gsub("original", "rewritten") } },
                        "says rewritten instead")
  end,
}
)";

}  // namespace

void InstallHooks(const HarnessEnv& env, const HarnessDriver& driver,
                  const std::vector<std::string>& hook_args) {
  std::vector<std::string> argv = {ReinsBin(), "hook", driver.name(), "install"};
  for (const std::string& a : driver.InstallTarget(env)) argv.push_back(a);
  argv.insert(argv.end(), hook_args.begin(), hook_args.end());
  ProcessResult r = Run(argv, "", "", env.Env());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

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

int CountEvents(const std::vector<Json>& events, const std::string& type) {
  return static_cast<int>(std::count_if(
      events.begin(), events.end(), [&](const Json& e) { return e.value("type", "") == type; }));
}

double LoggedCost(const HarnessEnv& env, const std::string& session) {
  auto decisions = env.Decisions(session);
  double usd = 0;
  for (const Json& e : env.Events(session)) {
    auto d = decisions.find(e["seq"].get<int64_t>());
    if (e.value("type", "") == "llm_response" && d != decisions.end()) {
      usd += d->second["cost"].value("usd", 0.0);
    }
  }
  return usd;
}

void GuardsScenario(HarnessDriver& driver) {
  HarnessEnv env(kGuards, {{"rewrite.lua", kRewriteLua}});
  std::filesystem::create_directories(env.project() + "/victim");
  FakeModelServer model(
      {.commands = {"rm -rf victim", "touch allowed.txt", "echo original > said.txt"}});
  InstallHooks(env, driver, {"--config", env.config()});

  HarnessRun run = driver.Run(env, model, "Clean up, then mark the project.");
  CHECK(model.tool_calls_answered() == 3);
  // Denied: the directory is still there. Allowed: the file exists.
  // Modified: the command ran as reins rewrote it.
  CHECK(std::filesystem::is_directory(env.project() + "/victim"));
  CHECK(std::filesystem::exists(env.project() + "/allowed.txt"));
  CHECK(ReadFile(env.project() + "/said.txt") == "rewritten\n");

  REQUIRE(!run.session.empty());
  CHECK(DecisionOn(env, run.session, "rm -rf victim")["verdict"] == "deny");
  CHECK(DecisionOn(env, run.session, "touch allowed.txt")["verdict"] == "allow");
  CHECK(DecisionOn(env, run.session, "echo original > said.txt")["verdict"] == "modify");

  // The whole session: its start, the prompt, three tool calls, the results
  // of the two that ran, the final answer, and every model response priced.
  auto events = env.Events(run.session);
  CHECK(CountEvents(events, "session_start") == 1);
  CHECK(CountEvents(events, "request") == 1);
  CHECK(CountEvents(events, "tool_call") == 3);
  CHECK(CountEvents(events, "tool_result") >= 2);
  CHECK(CountEvents(events, "response") >= 1);
  int responses = static_cast<int>(model.requests().size());
  CHECK(CountEvents(events, "llm_response") == responses);
  CHECK(LoggedCost(env, run.session) ==
        Approx(PricedCost(driver.model(), 1000, 100, responses)).epsilon(1e-9));
  CHECK(env.ChainsVerify());
}

void BudgetScenario(HarnessDriver& driver) {
  // Each response reports 10,000 input and 100 output tokens; the cap lies
  // between the cost of one and of two responses.
  double one = PricedCost(driver.model(), 10000, 100, 1);
  HarnessEnv env("  budget:\n    use: cost_budget\n    with: {max_cost_usd: " +
                 std::to_string(one * 1.5) + "}\n");
  FakeModelServer model(
      {.commands = {"touch one.txt", "touch two.txt", "touch three.txt"}, .input_tokens = 10000});
  InstallHooks(env, driver, {"--config", env.config()});

  HarnessRun run = driver.Run(env, model, "Make three files.");
  CHECK(std::filesystem::exists(env.project() + "/one.txt"));
  CHECK_FALSE(std::filesystem::exists(env.project() + "/two.txt"));
  CHECK_FALSE(std::filesystem::exists(env.project() + "/three.txt"));
  Json denied = DecisionOn(env, run.session, "touch two.txt");
  CHECK(denied["verdict"] == "deny");
  CHECK(denied["policies"] == Json::array({"budget"}));
}

void SupplyChainRefusedScenario(HarnessDriver& driver) {
  HarnessEnv env("  supply_chain:\n    use: npm_then_push\n");
  ServeProcess serve(env.File("reins"));
  FakeModelServer model({.commands = {"npm install left-pad", "git push origin main"}});
  InstallHooks(
      env, driver,
      {"--server", serve.url(), "--token-file", serve.TokenFile("admin"), "--ask-mode", "deny"});

  HarnessRun run = driver.Run(env, model, "Add left-pad and push.");
  CHECK(env.Ran() == std::vector<std::string>{"npm install left-pad"});
  Json asked = DecisionOn(env, run.session, "git push origin main");
  REQUIRE(asked["verdict"] == "ask");
  // The model was told why, and which approval the push waits for.
  std::string told = model.requests().back()["body"].dump();
  CHECK(told.find("approval " + asked["approval_id"].get<std::string>()) != std::string::npos);
  ProcessResult pending = Run({ReinsBin(), "approvals"}, "", "", serve.Env("approver"));
  CHECK(pending.out.find(asked["approval_id"].get<std::string>()) != std::string::npos);
  CHECK(env.ChainsVerify());
}

}  // namespace reins::testing
