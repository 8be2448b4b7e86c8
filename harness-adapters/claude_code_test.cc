// The Claude Code adapter against a real engine and SQLite log, with hook
// JSON shaped as Claude Code sends it (claude_code_facts.md).
#include "harness-adapters/claude_code.h"

#include <fstream>
#include <thread>

#include "builtins/builtins.h"
#include "engine/testing.h"
#include "harness-adapters/adapter_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

const std::string kPolicies = GuardPolicies(R"(  quiet:
    use: scripted
    with: {verdict: modify, tool: Write, patch: {input: {content: "[redacted]"}}, reason: no secrets}
)");

struct Fixture {
  explicit Fixture(AskMode mode = AskMode::kHarness)
      : h(kPolicies, dir.File("reins.db"), BuiltinsRegistry()),
        client(h.engine.get(), h.store.get()),
        adapter(&client, {mode, 2 * kSecond, "ada", /*transcript_wait_ms=*/50}) {}

  Json Hook(const std::string& event, Json fields = Json::object()) {
    fields["hook_event_name"] = event;
    if (!fields.contains("session_id")) fields["session_id"] = "cc1";
    fields["cwd"] = "/work/app";
    if (!fields.contains("transcript_path")) fields["transcript_path"] = dir.File("cc1.jsonl");
    return fields;
  }

  HookAnswer Tool(const std::string& tool, Json input, Json extra = Json::object()) {
    extra["tool_name"] = tool;
    extra["tool_input"] = std::move(input);
    extra["tool_use_id"] = "toolu_" + std::to_string(++calls);
    return adapter.Handle(Hook("PreToolUse", extra).dump());
  }

  static Json Out(const HookAnswer& a) {
    INFO(a.out << a.err);
    REQUIRE(a.exit_code == 0);
    return Json::parse(a.out);
  }

  TempDir dir;
  EngineHarness h;
  EngineDecisionClient client;
  ClaudeCodeAdapter adapter;
  int calls = 0;
};

std::string AssistantLine(const std::string& id, int block, bool done, int output_tokens,
                          bool sidechain = false) {
  Json line = {{"type", "assistant"},
               {"isSidechain", sidechain},
               {"requestId", "req_" + id},
               {"apiBlockIndex", block},
               {"message",
                {{"id", "msg_" + id},
                 {"model", "claude-sonnet-4-5"},
                 {"stop_reason", done ? Json("tool_use") : Json()},
                 {"usage",
                  {{"input_tokens", 1000},
                   {"output_tokens", output_tokens},
                   {"cache_read_input_tokens", 0},
                   {"cache_creation_input_tokens", 0}}}}}};
  return line.dump() + "\n";
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

}  // namespace

TEST_CASE("Claude Code: tool calls are denied, passed and rewritten", "[claude]") {
  Fixture f;
  Json denied = Fixture::Out(f.Tool("Bash", {{"command", "rm -rf /"}}));
  CHECK(denied["hookSpecificOutput"]["hookEventName"] == "PreToolUse");
  CHECK(denied["hookSpecificOutput"]["permissionDecision"] == "deny");
  CHECK(denied["hookSpecificOutput"]["permissionDecisionReason"].get<std::string>().find(
            "rm -rf") != std::string::npos);

  // No objection: no decision, so Claude Code's own permissions still apply.
  CHECK(Fixture::Out(f.Tool("Bash", {{"command", "ls"}})) == Json::object());

  Json modified = Fixture::Out(f.Tool("Write", {{"file_path", "a.txt"}, {"content", "key=123"}}));
  CHECK(modified["hookSpecificOutput"]["permissionDecision"] == "allow");
  CHECK(modified["hookSpecificOutput"]["updatedInput"] ==
        Json({{"file_path", "a.txt"}, {"content", "[redacted]"}}));

  SessionState st = f.h.State("cc1");
  CHECK(st.harness == "claude-code");
  CHECK(st.user == "ada");
  CHECK(st.cwd == "/work/app");
  CHECK(st.tool_calls_total == 3);
}

TEST_CASE("Claude Code: an ask goes to Claude's prompt, is deferred, or is held", "[claude]") {
  SECTION("harness and defer") {
    AskMode mode = GENERATE(AskMode::kHarness, AskMode::kDefer);
    Fixture f(mode);
    f.Tool("Bash", {{"command", "npm install left-pad"}});
    Json ask = Fixture::Out(f.Tool("Bash", {{"command", "git push"}}));
    CHECK(ask["hookSpecificOutput"]["permissionDecision"] ==
          (mode == AskMode::kDefer ? "defer" : "ask"));
    CHECK(ask["hookSpecificOutput"]["permissionDecisionReason"].get<std::string>().find(
              "reins approve cc1:") != std::string::npos);
  }
  SECTION("hold: a person approves meanwhile") {
    Fixture f(AskMode::kHold);
    f.Tool("Bash", {{"command", "npm install left-pad"}});
    std::thread person = ApproveWhenAsked(f.h, "cc1");
    HookAnswer a = f.Tool("Bash", {{"command", "git push"}});
    person.join();
    CHECK(Fixture::Out(a) == Json::object());
  }
  SECTION("hold: nobody answers in time") {
    Fixture f(AskMode::kHold);
    f.Tool("Bash", {{"command", "npm install left-pad"}});
    Json out = Fixture::Out(f.Tool("Bash", {{"command", "git push"}}));
    CHECK(out["hookSpecificOutput"]["permissionDecision"] == "deny");
    CHECK(out["hookSpecificOutput"]["permissionDecisionReason"].get<std::string>().find(
              "not answered in time") != std::string::npos);
  }
}

TEST_CASE("Claude Code: prompts, results, stops and the end become canonical events", "[claude]") {
  Fixture f;
  Json start = f.Hook("SessionStart", {{"source", "startup"}, {"model", "claude-opus-4-1"}});
  CHECK(Fixture::Out(f.adapter.Handle(start.dump())) == Json::object());
  CHECK(f.h.State("cc1").model == "claude-opus-4-1");
  CHECK(Fixture::Out(f.adapter.Handle(f.Hook("UserPromptSubmit", {{"prompt", "fix it"}}).dump())) ==
        Json::object());
  Json result = f.Hook("PostToolUse", {{"tool_name", "Bash"},
                                       {"tool_input", {{"command", "ls"}}},
                                       {"tool_use_id", "toolu_9"},
                                       {"tool_response", {{"stdout", "a b"}}}});
  CHECK(Fixture::Out(f.adapter.Handle(result.dump())) == Json::object());
  Json failure = f.Hook("PostToolUseFailure", {{"tool_name", "Bash"},
                                               {"tool_input", {{"command", "make"}}},
                                               {"tool_use_id", "toolu_10"},
                                               {"error", "exit 2"}});
  CHECK(Fixture::Out(f.adapter.Handle(failure.dump())) == Json::object());
  f.adapter.Handle(
      f.Hook("Stop", {{"stop_hook_active", false}, {"last_assistant_message", "done"}}).dump());
  f.adapter.Handle(f.Hook("SessionEnd", {{"reason", "other"}}).dump());
  SessionState st = f.h.State("cc1");
  CHECK(st.turns == 1);
  CHECK(st.ended);
  std::vector<std::string> types;
  CHECK(f.h.store
            ->ScanEvents("cc1", "", "", 0, 100,
                         [&](const Record& r) {
                           types.push_back(r.body["type"]);
                           return true;
                         })
            .ok());
  CHECK(types == std::vector<std::string>{"session_start", "request", "tool_result", "tool_result",
                                          "response", "session_end"});
}

TEST_CASE("Claude Code: each model call in the transcript is priced once", "[claude]") {
  Fixture f;
  std::string transcript = f.dir.File("cc1.jsonl");
  // Two blocks of one finished response, then a response still streaming.
  Append(transcript, AssistantLine("a", 0, true, 500) + AssistantLine("a", 1, true, 500) +
                         R"({"type":"user","message":{"role":"user","content":"x"}})"
                         "\n" +
                         AssistantLine("b", 0, false, 1));
  f.Tool("Bash", {{"command", "ls"}});
  SessionState st = f.h.State("cc1");
  CHECK(st.tokens.output == 500);
  CHECK(st.cost_usd > 0);
  // The streaming response finishes, a sub-agent's line is in the main file.
  Append(transcript, AssistantLine("b", 1, true, 700) + AssistantLine("c", 0, true, 5, true));
  f.Tool("Bash", {{"command", "pwd"}});
  f.Tool("Bash", {{"command", "pwd"}});
  st = f.h.State("cc1");
  CHECK(st.tokens.output == 1200);
  CHECK(st.tokens.input == 2000);
  CHECK(st.by_model.at("claude-sonnet-4-5").calls == 2);
}

TEST_CASE("Claude Code: a sub-agent's calls go to a child session priced toward its parent",
          "[claude]") {
  Fixture f;
  f.Tool("Bash", {{"command", "ls"}});
  std::string sub = f.dir.File("cc1/subagents/agent-a17.jsonl");
  std::filesystem::create_directories(f.dir.File("cc1/subagents"));
  Append(sub, AssistantLine("s", 0, true, 300));
  f.Tool("Bash", {{"command", "ls"}}, {{"agent_id", "a17"}, {"agent_type", "Explore"}});
  SessionState child = f.h.State("cc1/a17");
  CHECK(child.parent == "cc1");
  CHECK(child.agent == "Explore");
  CHECK(child.tokens.output == 300);
  CHECK(f.h.State("cc1").cost_usd == child.cost_usd);  // the child's spend counts at the root
}

TEST_CASE("Claude Code: when reins cannot decide, tool calls and prompts are refused", "[claude]") {
  Fixture f;
  HookAnswer garbage = f.adapter.Handle("{not json");
  CHECK(garbage.exit_code == 2);
  CHECK(garbage.err.find("not a JSON object") != std::string::npos);
  // A tool input nested a million levels deep (found crashing the hook, which
  // Claude Code would have taken as "go ahead") is refused.
  std::string deep = R"({"hook_event_name":"PreToolUse","session_id":"s","tool_name":"Bash",)"
                     R"("tool_input":{"command":"ls","x":)" +
                     std::string(1000000, '[') + std::string(1000000, ']') + "}}";
  HookAnswer deep_answer = f.adapter.Handle(deep);
  CHECK(deep_answer.exit_code == 2);
  CHECK(deep_answer.err.find("nests deeper than 256 levels") != std::string::npos);
  Json no_tool = f.Hook("PreToolUse", {{"tool_input", {{"command", "ls"}}}});
  Json denied = Fixture::Out(f.adapter.Handle(no_tool.dump()));
  CHECK(denied["hookSpecificOutput"]["permissionDecision"] == "deny");
  CHECK(denied["hookSpecificOutput"]["permissionDecisionReason"].get<std::string>().find(
            "reins could not evaluate") != std::string::npos);
  Json prompt = f.Hook("UserPromptSubmit", {{"prompt", 42}, {"session_id", ""}});
  CHECK(Fixture::Out(f.adapter.Handle(prompt.dump()))["decision"] == "block");
  Json after = f.Hook("PostToolUse", {{"session_id", ""}});
  CHECK(f.adapter.Handle(after.dump()).exit_code == 1);  // reported, never blocking
}
