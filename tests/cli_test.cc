// The `reins` binary on the bundled examples and on bad input.
#include <catch2/catch.hpp>
#include <filesystem>

#include "engine/engine.h"
#include "engine/testing.h"
#include "tests/support/process.h"

using namespace reins;
using namespace reins::testing;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> EvalArgs(const std::string& name) {
  std::string policies = SourceDir() + "/examples/policies/" + name;
  std::vector<std::string> args = {ReinsBin(), "eval", "--server", policies + ".yaml"};
  if (fs::exists(policies + ".agent.yaml"))
    args.insert(args.end(), {"--agent", policies + ".agent.yaml"});
  if (fs::exists(policies + ".session.yaml")) {
    args.insert(args.end(), {"--session", policies + ".session.yaml"});
  }
  args.insert(args.end(), {"--events", SourceDir() + "/examples/sessions/" + name + ".jsonl"});
  return args;
}

const char* kLimitPolicies =
    "policies:\n  cap: {use: max_tool_calls_per_session, with: {limit: 3}}\n";
const char* kToolCall =
    R"({"session":"s1","type":"tool_call","tool":"Bash","input":{"command":"ls"}})";

}  // namespace

TEST_CASE("golden: every example session through its policies", "[cli][golden]") {
  bool update = std::getenv("REINS_UPDATE_GOLDEN") != nullptr;
  int count = 0;
  for (const auto& entry : fs::directory_iterator(SourceDir() + "/examples/sessions")) {
    if (entry.path().extension() != ".jsonl") continue;
    std::string name = entry.path().stem().string();
    INFO("example " << name);
    ProcessResult r = Run(EvalArgs(name));
    CHECK(r.err == "");
    REQUIRE(r.exit_code == 0);
    std::string golden = SourceDir() + "/tests/golden/" + name + ".jsonl";
    if (update) WriteFile(golden, r.out);
    CHECK(r.out == ReadFile(golden));
    // One decision per input line, in order.
    CHECK(Lines(r.out).size() == Lines(ReadFile(entry.path().string())).size());
    ++count;
  }
  CHECK(count >= 5);
}

TEST_CASE("every example configuration passes reins check", "[cli][examples]") {
  std::vector<std::string> args = {ReinsBin(), "check"};
  for (const auto& entry : fs::directory_iterator(SourceDir() + "/examples/policies")) {
    // NAME.test.yaml files are policy tests (`reins test`), not configurations.
    std::string file = entry.path().filename().string();
    if (file.ends_with(".test.yaml")) continue;
    if (entry.path().extension() == ".yaml") args.push_back(entry.path().string());
  }
  REQUIRE(args.size() > 5);
  ProcessResult r = Run(args);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(Lines(r.out).size() == args.size() - 2);
}

TEST_CASE("a malformed line stops eval with FILE:LINE and loses nothing before it", "[cli]") {
  TempDir dir;
  WriteFile(dir.File("p.yaml"), kLimitPolicies);
  WriteFile(dir.File("events.jsonl"), std::string(kToolCall) + "\n\n" + kToolCall + "\n" +
                                          R"({"session":"s1","type":"tool_call"})" + "\n" +
                                          kToolCall + "\n");
  ProcessResult r = Run({ReinsBin(), "eval", "--server", dir.File("p.yaml"), "--events",
                         dir.File("events.jsonl"), "--db", dir.File("log.db")});
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        dir.File("events.jsonl") + ":4: field 'tool': required for tool_call events (string)\n");
  auto out = Lines(r.out);
  REQUIRE(out.size() == 2);
  CHECK(Json::parse(out[1])["seq"] == 4);

  auto store = OpenSqliteLogStore(dir.File("log.db"));
  REQUIRE(store.ok());
  auto state = Engine::Fold(store->get(), "s1");
  REQUIRE(state.ok());
  CHECK(state->tool_calls_total == 2);
  CHECK((*store)->Verify("s1")->ok());

  // The same log carries on in a second run: the limit of 3 counts both runs.
  r = Run({ReinsBin(), "eval", "--server", dir.File("p.yaml"), "--events", "-", "--db",
           dir.File("log.db")},
          std::string(kToolCall) + "\n" + kToolCall + "\n");
  CHECK(r.exit_code == 0);
  out = Lines(r.out);
  REQUIRE(out.size() == 2);
  CHECK(Json::parse(out[0])["verdict"] == "allow");
  CHECK(Json::parse(out[1])["verdict"] == "deny");
  CHECK(Json::parse(out[1])["reason"] == "Exceeded 3 tool calls this session");
}

TEST_CASE("eval reports bad input from stdin and impossible approvals", "[cli]") {
  ProcessResult r = Run({ReinsBin(), "eval", "--events", "-"}, "{\"session\": 1}\n");
  CHECK(r.exit_code == 2);
  CHECK(r.err == "<stdin>:1: field 'type': required\n");

  r = Run({ReinsBin(), "eval", "--events", "-"},
          R"({"session":"s","type":"approval","approved":true})"
          "\n");
  CHECK(r.exit_code == 2);
  CHECK(r.err == "<stdin>:1: session 's' has no pending approval to resolve\n");

  r = Run({ReinsBin(), "eval", "--events", "-"}, "not json\n");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("<stdin>:1: malformed JSON") == 0);
}

TEST_CASE("configuration errors print file:line:column and exit 2", "[cli]") {
  TempDir dir;
  WriteFile(dir.File("bad.yaml"),
            "policies:\n  cap:\n    use: max_tool_calls_per_session\n    with: {limit: many}\n"
            "  budget:\n    use: cost_budgt\n");
  ProcessResult r =
      Run({ReinsBin(), "eval", "--server", dir.File("bad.yaml"), "--events", "-"}, kToolCall);
  CHECK(r.exit_code == 2);
  CHECK(r.out == "");
  CHECK(r.err ==
        dir.File("bad.yaml") +
            ":4:19: policy 'cap' (max_tool_calls_per_session): parameter 'limit': expected "
            "integer, got string\n" +
            dir.File("bad.yaml") +
            ":6:10: policy 'budget': unknown policy 'cost_budgt' (did you mean: cost_budget?); "
            "`reins policies` lists them\n");

  r = Run(
      {ReinsBin(), "check", dir.File("bad.yaml"), SourceDir() + "/examples/policies/budget.yaml"});
  CHECK(r.exit_code == 2);
  CHECK(r.out == SourceDir() + "/examples/policies/budget.yaml: ok\n");
  CHECK(r.err.find("1 of 2 files have errors") != std::string::npos);
}

TEST_CASE("reins policies lists the registry with schemas", "[cli]") {
  ProcessResult r = Run({ReinsBin(), "policies"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("cost_budget") != std::string::npos);
  CHECK(r.out.find("pause_every_usd") != std::string::npos);
  r = Run({ReinsBin(), "policies", "omnigent.policies.builtins.safety.max_tool_calls_per_session",
           "--json"});
  REQUIRE(r.exit_code == 0);
  Json j = Json::parse(r.out);
  CHECK(j["name"] == "max_tool_calls_per_session");
  CHECK(j["params"][0]["default"] == 100);
  CHECK(Run({ReinsBin(), "policies", "nope"}).exit_code == 2);
}
