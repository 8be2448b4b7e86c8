#include "engine/evaluator.h"

#include <catch2/catch.hpp>

#include "engine/testing.h"

using namespace reins;

namespace {

struct Fixture {
  std::unique_ptr<PolicyRegistry> registry = reins::testing::TestRegistry();
  SessionState state{"s"};

  // Builds a set from "server" YAML policies and evaluates `event` against it.
  Evaluation Run(const std::string& policies_yaml, const std::string& event_json) {
    std::vector<ConfigError> errors;
    ConfigLoader loader(registry.get());
    auto config = loader.ParseServer("policies:\n" + policies_yaml, "t.yaml", "/", &errors);
    for (const auto& e : errors) FAIL(e.ToString());
    auto set = PolicySet::Compose(nullptr, nullptr, &config->policies);
    REQUIRE(set.ok());
    auto event = Event::Parse(event_json);
    REQUIRE(event.ok());
    event->set_ts(1);
    return EvaluatePolicies(**set, *event, state, nullptr, nullptr);
  }
};

const char* kBash = R"({"session":"s","type":"tool_call","tool":"Bash","input":{"command":"ls"}})";

}  // namespace

TEST_CASE("no policies, or no answers, means allow", "[compose]") {
  Fixture f;
  auto ev = f.Run("  quiet: {use: scripted}\n", kBash);
  CHECK(ev.verdict == Verdict::kAllow);
  CHECK(ev.policies.empty());
  CHECK(ev.results.empty());
}

TEST_CASE("the first deny stops evaluation and keeps earlier updates", "[compose]") {
  Fixture f;
  auto ev = f.Run(R"(
  counter: {use: scripted, with: {verdict: allow, increment: a}}
  asker: {use: scripted, with: {verdict: ask, reason: check, increment: b}}
  denier: {use: scripted, with: {verdict: deny, reason: nope, increment: c}}
  never: {use: scripted, with: {verdict: deny, reason: unreachable, increment: d}}
)",
                  kBash);
  CHECK(ev.verdict == Verdict::kDeny);
  CHECK(ev.reason == "nope");
  CHECK(ev.policies == std::vector<std::string>{"denier"});
  REQUIRE(ev.updates.size() == 3);
  CHECK(ev.updates[0]["policy"] == "server:counter");
  CHECK(ev.updates[1]["policy"] == "server:asker");
  CHECK(ev.updates[2]["policy"] == "server:denier");
  CHECK(ev.results.size() == 3);
}

TEST_CASE("asks combine their reasons and withhold every update", "[compose]") {
  Fixture f;
  auto ev = f.Run(R"(
  one: {use: scripted, with: {verdict: ask, reason: first reason, increment: x}}
  allow: {use: scripted, with: {verdict: allow, increment: y}}
  two: {use: scripted, with: {verdict: ask}}
)",
                  kBash);
  CHECK(ev.verdict == Verdict::kAsk);
  CHECK(ev.reason == "one: first reason; two: approval required");
  CHECK(ev.policies == std::vector<std::string>{"one", "two"});
  CHECK(ev.updates.size() == 2);
}

TEST_CASE("modifies chain: later policies see the patched event", "[compose]") {
  Fixture f;
  auto ev = f.Run(R"(
  reroute: {use: scripted, with: {verdict: modify, reason: cheaper, patch: {input: {command: "ls -la"}}}}
  only_on_original: {use: scripted, with: {tool: Bash, verdict: modify, patch: {tool: Shell}}}
  sees_patched: {use: scripted, with: {tool: Bash, verdict: deny, reason: should not fire}}
)",
                  kBash);
  CHECK(ev.verdict == Verdict::kModify);
  CHECK(ev.patch == Json{{"input", {{"command", "ls -la"}}}, {"tool", "Shell"}});
  CHECK(ev.policies == std::vector<std::string>{"reroute", "only_on_original"});
  CHECK(ev.reason == "reroute: cheaper; only_on_original: modified");
}

TEST_CASE("a failing policy denies unless on_error: allow", "[compose]") {
  Fixture f;
  auto ev = f.Run(R"(
  before: {use: scripted, with: {verdict: allow, increment: a}}
  broken: {use: scripted, with: {verdict: fail, reason: disk on fire, increment: b}}
)",
                  kBash);
  CHECK(ev.verdict == Verdict::kDeny);
  CHECK(ev.reason == "policy 'broken' failed: disk on fire");
  CHECK(ev.updates.size() == 1);
  CHECK(ev.failures.size() == 1);

  ev = f.Run("  thrower: {use: scripted, with: {verdict: throw}}\n", kBash);
  CHECK(ev.verdict == Verdict::kDeny);
  CHECK(ev.reason == "policy 'thrower' failed: scripted exception");

  ev = f.Run(R"(
  broken: {use: scripted, with: {verdict: fail}, on_error: allow}
  fine: {use: scripted, with: {verdict: allow}}
)",
             kBash);
  CHECK(ev.verdict == Verdict::kAllow);
  CHECK(ev.failures == std::vector<std::string>{"policy 'broken' failed: scripted failure"});
}

TEST_CASE("an invalid modify is a policy failure", "[compose]") {
  Fixture f;
  auto ev = f.Run("  bad: {use: scripted, with: {verdict: modify, patch: {tool: 42}}}\n", kBash);
  CHECK(ev.verdict == Verdict::kDeny);
  CHECK(ev.reason ==
        "policy 'bad' failed: invalid modify: patched event: field 'tool': expected string, got "
        "number");
  ev = f.Run("  empty: {use: scripted, with: {verdict: modify}}\n", kBash);
  CHECK(ev.reason ==
        "policy 'empty' failed: invalid modify: modify without a non-empty patch object");
}

TEST_CASE("entries only see the events and tools they select", "[compose]") {
  Fixture f;
  auto ev = f.Run(R"(
  off: {use: scripted, with: {verdict: deny}, enabled: false}
  other_tool: {use: scripted, with: {verdict: deny}, on: ["tool_call:Write"]}
  requests: {use: scripted, with: {verdict: deny}, on: [request]}
)",
                  kBash);
  CHECK(ev.verdict == Verdict::kAllow);
}
