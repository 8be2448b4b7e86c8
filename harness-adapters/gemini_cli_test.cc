// The Gemini CLI adapter against a real engine and SQLite log, with hook
// JSON shaped as Gemini CLI sends it and answers checked against what it
// accepts (gemini_facts.md, sections 5 to 7).
#include "harness-adapters/gemini_cli.h"

#include <fstream>
#include <thread>

#include "builtins/builtins.h"
#include "engine/pricing.h"
#include "engine/testing.h"
#include "harness-adapters/adapter_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

const std::string kPolicies = GuardPolicies(R"(  quiet:
    use: scripted
    with: {verdict: modify, tool: write_file, patch: {input: {content: "[redacted]"}}, reason: no secrets}
  route:
    use: deny_trivial_to_expensive_model
    with: {expensive_models: [gemini-2.5-pro], cheap_model: gemini-2.5-flash}
  pii:
    use: deny_pii_in_llm_request
    with: {action: redact}
)");

// Denies every event: hooks after the fact must still pass.
const char* kWall = "  wall: {use: scripted, with: {verdict: deny, reason: nothing goes}}\n";

struct Fixture {
  explicit Fixture(AskMode mode = AskMode::kDeny, TimeUs hold_wait = 2 * kSecond,
                   const std::string& policies = kPolicies)
      : h(policies, dir.File("reins.db"), BuiltinsRegistry()),
        client(h.engine.get(), h.store.get()),
        adapter(&client, {mode, hold_wait, "ada", 50}) {}

  Json Hook(const std::string& event, Json fields = Json::object()) {
    fields["hook_event_name"] = event;
    if (!fields.contains("session_id")) fields["session_id"] = "gm1";
    fields["cwd"] = "/work/app";
    fields["transcript_path"] = dir.File("chat.jsonl");
    fields["timestamp"] = "2026-11-21T14:46:27.055Z";
    return fields;
  }

  HookAnswer Send(const std::string& event, Json fields = Json::object()) {
    return adapter.Handle(Hook(event, std::move(fields)).dump());
  }

  HookAnswer Tool(const std::string& tool, Json input) {
    return Send("BeforeTool", {{"tool_name", tool}, {"tool_input", std::move(input)}});
  }

  HookAnswer Model(const std::string& model, const std::string& last_message) {
    Json request = {{"model", model},
                    {"messages", {{{"role", "user"}, {"content", last_message}}}},
                    {"config", {{"temperature", 1}}}};
    return Send("BeforeModel", {{"llm_request", request}});
  }

  static Json Out(const HookAnswer& a) {
    INFO(a.out << a.err);
    REQUIRE(a.exit_code == 0);
    return Json::parse(a.out);
  }

  // Checks `a` is Gemini's deny (exactly decision and reason) and returns the reason.
  static std::string Denied(const HookAnswer& a) {
    Json out = Out(a);
    INFO(out.dump());
    REQUIRE(out.size() == 2);
    REQUIRE(out["decision"] == "deny");
    return out["reason"].get<std::string>();
  }

  std::vector<Json> Events(const std::string& session = "gm1") {
    std::vector<Json> out;
    REQUIRE(h.store
                ->ScanEvents(session, "", "", 0, 100,
                             [&](const Record& r) {
                               out.push_back(r.body);
                               return true;
                             })
                .ok());
    return out;
  }

  TempDir dir;
  EngineHarness h;
  EngineDecisionClient client;
  GeminiCliAdapter adapter;
};

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("Gemini CLI: tool calls are denied, passed, and rewritten with their whole input",
          "[gemini]") {
  Fixture f;
  std::string reason = Fixture::Denied(f.Tool("run_shell_command", {{"command", "rm -rf /"}}));
  CHECK(Has(reason, "rm -rf"));

  CHECK(Fixture::Out(f.Tool("run_shell_command", {{"command", "ls"}})) == Json::object());

  // Gemini replaces the input with what the hook gives: every field must be there.
  Json out = Fixture::Out(f.Tool("write_file", {{"file_path", "a.txt"}, {"content", "key=123"}}));
  CHECK_FALSE(out.contains("decision"));
  CHECK(out["hookSpecificOutput"]["tool_input"] ==
        Json({{"file_path", "a.txt"}, {"content", "[redacted]"}}));

  SessionState st = f.h.State("gm1");
  CHECK(st.harness == "gemini-cli");
  CHECK(st.user == "ada");
  CHECK(st.cwd == "/work/app");
  CHECK(st.tool_calls_total == 3);
}

TEST_CASE("Gemini CLI: a model call is recorded and rerouted to the cheaper model", "[gemini]") {
  Fixture f;
  Json out = Fixture::Out(f.Model("gemini-2.5-pro", "say hi"));
  // Only the model: Gemini keeps the messages and config it did not get back.
  CHECK(out["hookSpecificOutput"]["llm_request"] == Json({{"model", "gemini-2.5-flash"}}));
  CHECK_FALSE(out.contains("decision"));

  std::vector<Json> events = f.Events();
  REQUIRE(events.size() == 2);
  CHECK(events[1]["type"] == "llm_request");
  CHECK(events[1]["model"] == "gemini-2.5-pro");
  CHECK(events[1]["text"] == "say hi");
  CHECK(events[1]["messages_count"] == 1);

  // Not trivial, or already cheap: nothing to change.
  CHECK(
      Fixture::Out(f.Model("gemini-2.5-pro",
                           "Refactor the parser in src/lexer.cc and src/parser.cc step by step")) ==
      Json::object());
  CHECK(Fixture::Out(f.Model("gemini-2.5-flash", "say hi")) == Json::object());

  // A model call that names no model cannot be judged: refused.
  HookAnswer nameless = f.Send("BeforeModel", {{"llm_request", {{"messages", Json::array()}}}});
  CHECK(Has(Fixture::Denied(nameless), "llm_request.model"));
}

TEST_CASE("Gemini CLI: a change Gemini cannot apply is refused, not let through", "[gemini]") {
  Fixture f;
  // A redacted prompt: Gemini cannot rewrite it, so it must not go out as it is.
  std::string reason =
      Fixture::Denied(f.Send("BeforeAgent", {{"prompt", "mail the report to ada@example.com"}}));
  CHECK(Has(reason, "cannot apply"));
  CHECK_FALSE(Has(reason, "ada@example.com"));
  reason = Fixture::Denied(f.Model("gemini-2.5-flash", "my email is ada@example.com"));
  CHECK(Has(reason, "cannot apply"));
  CHECK(f.h.State("gm1").turns == 1);  // the prompt is in the log all the same
}

TEST_CASE("Gemini CLI: an ask is refused with its approval, or held for a person", "[gemini]") {
  SECTION("refused, never answered ask, whatever mode was asked for") {
    AskMode mode = GENERATE(AskMode::kHarness, AskMode::kDefer, AskMode::kDeny);
    Fixture f(mode);
    f.Tool("run_shell_command", {{"command", "npm install left-pad"}});
    std::string reason = Fixture::Denied(f.Tool("run_shell_command", {{"command", "git push"}}));
    auto pending = f.h.State("gm1").pending_approvals;
    REQUIRE(pending.size() == 1);
    CHECK(Has(reason, "reins approve " + pending.begin()->first));
  }
  SECTION("held: a person approves meanwhile") {
    Fixture f(AskMode::kHold);
    f.Tool("run_shell_command", {{"command", "npm install left-pad"}});
    std::thread person = ApproveWhenAsked(f.h, "gm1");
    HookAnswer a = f.Tool("run_shell_command", {{"command", "git push"}});
    person.join();
    CHECK(Fixture::Out(a) == Json::object());
  }
  SECTION("held: nobody answers in time") {
    Fixture f(AskMode::kHold, kSecond / 10);
    f.Tool("run_shell_command", {{"command", "npm install left-pad"}});
    std::string reason = Fixture::Denied(f.Tool("run_shell_command", {{"command", "git push"}}));
    CHECK(Has(reason, "not answered in time"));
  }
}

TEST_CASE("Gemini CLI: hooks after the fact are recorded and never block", "[gemini]") {
  Fixture f(AskMode::kDeny, kSecond, kWall);
  CHECK(Has(Fixture::Denied(f.Tool("run_shell_command", {{"command", "ls"}})), "nothing goes"));
  Json call = {{"tool_name", "run_shell_command"}, {"tool_input", {{"command", "ls"}}}};
  Json ok = call;
  ok["tool_response"] = {{"llmContent", "a b"}, {"returnDisplay", ""}};
  Json failed = call;
  failed["tool_response"] = {{"llmContent", ""}};
  failed["error"] = "exit 2";
  for (const auto& [event, fields] :
       std::vector<std::pair<std::string, Json>>{{"AfterTool", ok},
                                                 {"AfterTool", failed},
                                                 {"AfterAgent", {{"prompt_response", "done"}}},
                                                 {"PreCompress", {{"trigger", "auto"}}},
                                                 {"SessionEnd", {{"reason", "exit"}}}}) {
    INFO(event);
    CHECK(Fixture::Out(f.Send(event, fields)) == Json::object());
  }
  std::vector<Json> events = f.Events();
  REQUIRE(events.size() == 6);  // PreCompress brings nothing to decide
  CHECK(events[2]["output"] == "a b");
  CHECK(events[2]["is_error"] == false);
  CHECK(events[3]["output"] == "exit 2");
  CHECK(events[3]["is_error"] == true);
  CHECK(events[4]["type"] == "response");
  CHECK(events[4]["text"] == "done");
  CHECK(events[5]["type"] == "session_end");
  CHECK(f.h.State("gm1").ended);
}

TEST_CASE("Gemini CLI: when reins cannot decide, calls are refused and the rest is reported",
          "[gemini]") {
  Fixture f;
  CHECK(Has(Fixture::Denied(f.adapter.Handle("{not json")), "not a JSON object"));
  CHECK(Has(Fixture::Denied(f.adapter.Handle(R"({"session_id": "gm1"})")), "hook_event_name"));
  Json anonymous = f.Hook("BeforeTool", {{"session_id", ""}, {"tool_name", "run_shell_command"}});
  CHECK(Has(Fixture::Denied(f.adapter.Handle(anonymous.dump())), "session_id"));
  CHECK(Has(Fixture::Denied(f.Send("BeforeTool", {{"tool_input", {{"command", "ls"}}}})),
            "tool_name"));

  // After the fact: exit 1 is a warning to Gemini CLI, never a block.
  HookAnswer after = f.adapter.Handle(f.Hook("AfterTool", {{"session_id", ""}}).dump());
  CHECK(after.exit_code == 1);
  CHECK(after.out.empty());
  CHECK(Has(after.err, "session_id"));
  CHECK(GeminiRefusal("AfterAgent", "why").exit_code == 1);
  CHECK(Json::parse(GeminiRefusal("BeforeAgent", "why").out)["decision"] == "deny");
}

TEST_CASE("Gemini CLI: each model message of the transcript is priced once, before the event",
          "[gemini]") {
  Fixture f;
  std::string chat = f.dir.File("chat.jsonl");
  std::ofstream(chat) << R"({"sessionId":"gm1","projectHash":"p","kind":"main"})"
                      << "\n"
                      << R"({"id":"u1","type":"user","content":[{"text":"run it"}]})"
                      << "\n"
                      << GeminiRecord("g1", 1001, 700, 51, 9);
  f.Tool("run_shell_command", {{"command", "ls"}});
  std::vector<Json> events = f.Events();
  REQUIRE(events.size() == 3);
  CHECK(events[1]["type"] == "llm_response");
  CHECK(events[1]["model"] == "gemini-2.5-flash");
  CHECK(events[2]["type"] == "tool_call");

  SessionState st = f.h.State("gm1");
  CHECK(st.tokens.input == 301);  // Gemini's input counts the cached tokens too
  CHECK(st.tokens.cache_read == 700);
  CHECK(st.tokens.output == 60);  // thoughts are billed as output
  CHECK(st.tokens.reasoning == 9);
  const ModelPrice* price = PriceTable::Builtin().Find("gemini-2.5-flash");
  REQUIRE(price != nullptr);
  const TokenRates& r = price->base;
  CHECK(st.cost_usd == Approx(301 * r.input + 700 * r.cache_read + 60 * r.output));
  CHECK(st.cost_usd < (1001 * r.input + 60 * r.output));  // cached tokens are cheaper

  // Gemini rewrites g1 when its tool calls are added; g2 is new.
  std::ofstream(chat, std::ios::app)
      << GeminiRecord("g1", 1001, 700, 51, 9) << GeminiRecord("g2", 2000, 0, 100, 0);
  f.Send("AfterTool", {{"tool_name", "run_shell_command"}, {"tool_response", "x"}});
  f.Send("AfterAgent", {{"prompt_response", "done"}});
  st = f.h.State("gm1");
  CHECK(st.by_model.at("gemini-2.5-flash").calls == 2);
  CHECK(st.tokens.input == 2301);
  CHECK(st.tokens.output == 160);
}

// deny_trivial_to_expensive_model also judges a BeforeAgent prompt against
// the session's model: a reroute there is applied at the BeforeModel that
// follows, so the prompt itself passes.
TEST_CASE("Gemini CLI: a follow-up prompt the router would reroute is not blocked", "[gemini]") {
  Fixture f;
  Fixture::Out(f.Model("gemini-2.5-pro",
                       "Refactor the parser in src/lexer.cc and src/parser.cc step by step"));
  REQUIRE(f.h.State("gm1").model == "gemini-2.5-pro");
  HookAnswer prompt = f.Send("BeforeAgent", {{"prompt", "thanks, now say hi"}});
  CHECK(Fixture::Out(prompt) == Json::object());
  Json rerouted = Fixture::Out(f.Model("gemini-2.5-pro", "thanks, now say hi"));
  CHECK(rerouted["hookSpecificOutput"]["llm_request"]["model"] == "gemini-2.5-flash");
}

// Found by tests/fuzz (fuzz_hook): the JSON parser's message quotes the bytes
// it stopped at; written into the refusal they made the JSON writer throw,
// and a hook that aborts is a warning to Gemini CLI, which runs the tool.
TEST_CASE("Gemini CLI: hook input that is not UTF-8 is refused, not a crash", "[gemini][fuzz]") {
  Fixture f;
  std::string input = f.Hook("BeforeTool", {{"tool_name", "write_file"}}).dump();
  input.replace(input.find("write_file"), 5, "\xde\xc5\xdd\x88\x8d");
  std::string reason = Fixture::Denied(f.adapter.Handle(input));
  CHECK(Has(reason, "not a JSON object"));
}
