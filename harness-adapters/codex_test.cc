// The Codex adapter against a real engine and SQLite log, with hook JSON and
// rollout lines shaped as Codex 0.169 writes them. Codex ignores any answer
// holding a key it does not know (and then runs the tool), so answers are
// checked key by key (codex_facts.md, sections 4 and 5).
#include "harness-adapters/codex.h"

#include <fstream>
#include <set>
#include <thread>

#include "builtins/builtins.h"
#include "engine/pricing.h"
#include "engine/testing.h"
#include "harness-adapters/adapter_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

const std::string kPolicies = GuardPolicies(R"(  silent:
    use: scripted
    with: {verdict: deny, tool: spawn_agent}
)");

const char* kRewrite =
    "  rewrite: {use: scripted, with: {verdict: modify, tool: Bash, "
    "patch: {input: {command: 'echo rewritten'}}, reason: rewritten}}\n";

// Denies every event: hooks after the fact must still pass.
const char* kWall = "  wall: {use: scripted, with: {verdict: deny, reason: nothing goes}}\n";

struct Fixture {
  explicit Fixture(AskMode mode = AskMode::kDeny, const std::string& policies = kPolicies)
      : h(policies, dir.File("reins.db"), BuiltinsRegistry()),
        client(h.engine.get(), h.store.get()),
        adapter(&client, {mode, 2 * kSecond, "ada", 50}) {}

  Json Hook(const std::string& event, Json fields = Json::object()) {
    fields["hook_event_name"] = event;
    fields["session_id"] = "cx1";
    fields["turn_id"] = "t1";
    fields["cwd"] = "/work/app";
    if (!fields.contains("model")) fields["model"] = "gpt-5";
    fields["permission_mode"] = "bypassPermissions";
    if (!fields.contains("transcript_path")) fields["transcript_path"] = dir.File("rollout.jsonl");
    return fields;
  }

  HookAnswer Send(const std::string& event, Json fields = Json::object()) {
    return adapter.Handle(Hook(event, std::move(fields)).dump());
  }

  HookAnswer Bash(const std::string& command, Json extra = Json::object()) {
    extra["tool_name"] = "Bash";
    extra["tool_input"] = {{"command", command}};
    extra["tool_use_id"] = "call_" + std::to_string(++calls);
    return Send("PreToolUse", std::move(extra));
  }

  // The PreToolUse answer's hookSpecificOutput, checked to hold only what
  // Codex accepts.
  static Json Decision(const HookAnswer& a) {
    INFO(a.out << a.err);
    REQUIRE(a.exit_code == 0);
    Json out = Json::parse(a.out);
    REQUIRE(out.size() == 1);
    Json h = out["hookSpecificOutput"];
    static const std::set<std::string> kAccepted = {"hookEventName", "permissionDecision",
                                                    "permissionDecisionReason", "updatedInput"};
    for (const auto& [key, value] : h.items()) CHECK(kAccepted.count(key) == 1);
    CHECK(h["hookEventName"] == "PreToolUse");
    return h;
  }

  static Json Out(const HookAnswer& a) {
    INFO(a.out << a.err);
    REQUIRE(a.exit_code == 0);
    return Json::parse(a.out);
  }

  TempDir dir;
  EngineHarness h;
  EngineDecisionClient client;
  CodexAdapter adapter;
  int calls = 0;
};

bool Has(const Json& text, const std::string& part) {
  return text.is_string() && text.get<std::string>().find(part) != std::string::npos;
}

std::string TurnContext(const std::string& model) {
  return Json{{"timestamp", "t"},
              {"type", "turn_context"},
              {"payload", {{"cwd", "/work/app"}, {"approval_policy", "never"}, {"model", model}}}}
             .dump() +
         "\n";
}

std::string UsageRecord(const std::string& id, int input, int cached, int output) {
  Json usage = {{"input_tokens", input},         {"cached_input_tokens", cached},
                {"cache_write_input_tokens", 0}, {"output_tokens", output},
                {"reasoning_output_tokens", 5},  {"total_tokens", input + output}};
  return Json{{"timestamp", "t"},
              {"type", "token_usage_record"},
              {"payload",
               {{"thread_id", "cx1"},
                {"response_id", id},
                {"usage", usage},
                {"turn_token_usage", usage},
                {"thread_token_usage", usage}}}}
             .dump() +
         "\n";
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

}  // namespace

TEST_CASE("Codex: tool calls are denied with a reason and only the keys Codex accepts", "[codex]") {
  Fixture f;
  Json denied = Fixture::Decision(f.Bash("rm -rf /"));
  CHECK(denied["permissionDecision"] == "deny");
  CHECK(Has(denied["permissionDecisionReason"], "rm -rf"));

  // Codex runs the tool when a deny has no reason: a policy that gives none still gets one.
  Json bare = Fixture::Decision(
      f.Send("PreToolUse", {{"tool_name", "spawn_agent"}, {"tool_input", {{"message", "go"}}}}));
  CHECK(bare["permissionDecision"] == "deny");
  REQUIRE(bare["permissionDecisionReason"].is_string());
  CHECK_FALSE(bare["permissionDecisionReason"].get<std::string>().empty());

  CHECK(Fixture::Out(f.Bash("ls")) == Json::object());
  SessionState st = f.h.State("cx1");
  CHECK(st.harness == "codex");
  CHECK(st.model == "gpt-5");
  CHECK(st.tool_calls_total == 3);
}

TEST_CASE("Codex: a rewritten command is allowed with a string command", "[codex]") {
  Fixture f(AskMode::kDeny, kRewrite);
  Json h = Fixture::Decision(f.Bash("echo original"));
  CHECK(h["permissionDecision"] == "allow");
  CHECK(h["updatedInput"] == Json({{"command", "echo rewritten"}}));
}

TEST_CASE("Codex: an ask is refused with its approval, or held for a person", "[codex]") {
  SECTION("refused whatever mode was asked for: Codex would run the tool") {
    AskMode mode = GENERATE(AskMode::kHarness, AskMode::kDefer, AskMode::kDeny);
    Fixture f(mode);
    f.Bash("npm install left-pad");
    Json h = Fixture::Decision(f.Bash("git push"));
    CHECK(h["permissionDecision"] == "deny");
    auto pending = f.h.State("cx1").pending_approvals;
    REQUIRE(pending.size() == 1);
    CHECK(Has(h["permissionDecisionReason"], "reins approve " + pending.begin()->first));
  }
  SECTION("held: a person approves meanwhile") {
    Fixture f(AskMode::kHold);
    f.Bash("npm install left-pad");
    std::thread person = ApproveWhenAsked(f.h, "cx1");
    HookAnswer a = f.Bash("git push");
    person.join();
    CHECK(Fixture::Out(a) == Json::object());
  }
}

TEST_CASE("Codex: a denied prompt is blocked; results and stops never are", "[codex]") {
  Fixture f(AskMode::kDeny, kWall);
  Json blocked = Fixture::Out(f.Send("UserPromptSubmit", {{"prompt", "run a command"}}));
  CHECK(blocked.size() == 2);
  CHECK(blocked["decision"] == "block");
  CHECK(Has(blocked["reason"], "nothing goes"));

  Json result = {{"tool_name", "Bash"},
                 {"tool_input", {{"command", "ls"}}},
                 {"tool_use_id", "call_9"},
                 {"tool_response", "a b\n"}};
  CHECK(Fixture::Out(f.Send("PostToolUse", result)) == Json::object());
  // A blocking Stop would make Codex loop: it never blocks.
  for (bool active : {false, true}) {
    Json stop = {{"stop_hook_active", active}, {"last_assistant_message", "done"}};
    CHECK(Fixture::Out(f.Send("Stop", stop)) == Json::object());
  }
  CHECK(Fixture::Out(f.Send("SessionEnd", {{"reason", "other"}})) == Json::object());
  SessionState st = f.h.State("cx1");
  CHECK(st.turns == 1);
  CHECK(st.ended);
}

TEST_CASE("Codex: each response of the rollout is priced with its turn's model", "[codex]") {
  Fixture f;
  std::string rollout = f.dir.File("rollout.jsonl");
  Append(rollout, R"({"type":"session_meta","payload":{"id":"cx1"}})"
                  "\n" +
                      TurnContext("gpt-5-mini") + UsageRecord("resp_1", 1200, 200, 30) +
                      R"({"type":"event_msg","payload":{"type":"token_count"}})"
                      "\n");
  f.Bash("ls");
  SessionState st = f.h.State("cx1");
  REQUIRE(st.by_model.count("gpt-5-mini") == 1);  // the turn's model, not the hook's
  CHECK(st.tokens.input == 1000);                 // Codex's input counts the cached tokens too
  CHECK(st.tokens.cache_read == 200);
  CHECK(st.tokens.output == 30);
  CHECK(st.tokens.reasoning == 5);

  // The turn_context line was read by the last hook: its model is remembered.
  Append(rollout, UsageRecord("resp_2", 2000, 1500, 40) + UsageRecord("resp_1", 1200, 200, 30));
  f.Send("Stop", {{"stop_hook_active", false}, {"last_assistant_message", "done"}});
  st = f.h.State("cx1");
  CHECK(st.by_model.count("gpt-5") == 0);
  CHECK(st.by_model.at("gpt-5-mini").calls == 2);  // resp_1 written twice, counted once
  const TokenRates& r = PriceTable::Builtin().Find("gpt-5-mini")->base;
  CHECK(st.by_model.at("gpt-5-mini").cost_usd ==
        Approx(1000 * r.input + 200 * r.cache_read + 30 * r.output + 500 * r.input +
               1500 * r.cache_read + 40 * r.output));
}

TEST_CASE("Codex: a rollout that names no model is priced with the hook's", "[codex]") {
  Fixture f;
  Append(f.dir.File("rollout.jsonl"), UsageRecord("resp_1", 1200, 200, 30));
  f.Bash("ls");
  SessionState st = f.h.State("cx1");
  REQUIRE(st.by_model.count("gpt-5") == 1);
  CHECK(st.by_model.at("gpt-5").calls == 1);
}

TEST_CASE("Codex: a sub-agent's calls go to a child session priced toward its parent", "[codex]") {
  Fixture f;
  Append(f.dir.File("rollout.jsonl"), TurnContext("gpt-5") + UsageRecord("resp_1", 1000, 0, 10));
  f.Bash("ls");
  double parent_own = f.h.State("cx1").cost_usd;
  REQUIRE(parent_own > 0);

  std::string sub = f.dir.File("rollout-sub.jsonl");
  Append(sub, TurnContext("gpt-5") + UsageRecord("resp_s1", 3000, 0, 300));
  f.Bash("pwd", {{"agent_id", "ag1"}, {"agent_type", "default"}, {"transcript_path", sub}});
  SessionState child = f.h.State("cx1/ag1");
  CHECK(child.parent == "cx1");
  CHECK(child.agent == "default");
  CHECK(child.harness == "codex");
  CHECK(child.tokens.input == 3000);
  CHECK(child.tool_calls_total == 1);
  SessionState parent = f.h.State("cx1");
  CHECK(parent.tool_calls_total == 1);
  CHECK(parent.cost_usd == Approx(parent_own + child.cost_usd));

  // SubagentStop names the parent's rollout and the child's: each stays with its session.
  Append(sub, UsageRecord("resp_s2", 500, 0, 5));
  f.Send("SubagentStop", {{"agent_id", "ag1"},
                          {"agent_type", "default"},
                          {"agent_transcript_path", sub},
                          {"stop_hook_active", false},
                          {"last_assistant_message", "found it"}});
  child = f.h.State("cx1/ag1");
  CHECK(child.by_model.at("gpt-5").calls == 2);
  parent = f.h.State("cx1");
  CHECK(parent.by_model.at("gpt-5").calls == 1);  // its own calls; the child's spend rolls up
  CHECK(parent.cost_usd == Approx(parent_own + child.cost_usd));
}

// Codex cannot rewrite a prompt: one that reins would redact is blocked
// rather than sent as it is (fail closed), with a reason that does not
// repeat what was redacted.
TEST_CASE("Codex: a prompt whose redaction Codex cannot apply is not sent as it is", "[codex]") {
  Fixture f(AskMode::kDeny, "  pii: {use: deny_pii_in_llm_request, with: {action: redact}}\n");
  Json out = Fixture::Out(f.Send("UserPromptSubmit", {{"prompt", "mail it to ada@example.com"}}));
  CHECK(out["decision"] == "block");
  CHECK_FALSE(Has(out["reason"], "ada@example.com"));
}
