// Claude Code's hook JSON posted to the server (an http hook, or `reins hook
// claude --server`).
#include "server/server_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

Json Hook(const std::string& session, const std::string& command) {
  return {{"hook_event_name", "PreToolUse"},
          {"session_id", session},
          {"cwd", "/work"},
          {"transcript_path", "/nonexistent.jsonl"},
          {"tool_name", "Bash"},
          {"tool_input", {{"command", command}}},
          {"tool_use_id", "toolu_1"}};
}

std::string PermissionDecision(const HttpResult& r) {
  INFO(r.body);
  REQUIRE(r.status == 200);
  Json j = r.json();
  return j.contains("hookSpecificOutput") ? j["hookSpecificOutput"]["permissionDecision"] : "none";
}

}  // namespace

TEST_CASE("the server answers Claude Code hooks for the agent that owns the session",
          "[server][claude]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  std::string agent = ts.AgentToken("claude-1"), other = ts.AgentToken("claude-2");

  CHECK(PermissionDecision(
            Call(c, "POST", "/v1/hooks/claude", agent, Hook("cc", "npm install x"))) == "none");
  CHECK(PermissionDecision(Call(c, "POST", "/v1/hooks/claude", agent, Hook("cc", "git push"))) ==
        "ask");
  CHECK(PermissionDecision(Call(c, "POST", "/v1/hooks/claude?ask_mode=defer", agent,
                                Hook("cc", "git push"))) == "defer");
  auto state = Call(c, "GET", "/v1/sessions/cc", ts.admin).json();
  CHECK(state["owner"] == "claude-1");
  CHECK(state["harness"] == "claude-code");
  CHECK(state["pending_approvals"].size() == 2);

  // Another agent's token cannot write into that session: its call is denied.
  auto foreign = Call(c, "POST", "/v1/hooks/claude", other, Hook("cc", "ls"));
  CHECK(PermissionDecision(foreign) == "deny");
  CHECK(foreign.body.find("belongs to another token") != std::string::npos);

  CHECK(Call(c, "POST", "/v1/hooks/claude", ts.approver, Hook("cc", "ls")).status == 403);
  CHECK(Call(c, "POST", "/v1/hooks/claude?ask_mode=hold", agent, Hook("cc", "ls")).status == 400);
  auto garbage = c.Request("POST", "/v1/hooks/claude", "{nope", agent);
  REQUIRE(garbage.ok());
  CHECK(garbage->status == 400);
}
