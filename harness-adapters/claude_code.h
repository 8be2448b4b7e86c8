// The Claude Code adapter: one hook invocation (the hook JSON Claude Code
// sends on stdin or POSTs to an http hook) in, the answer Claude Code reads
// out. Facts about the protocol, with sources: claude_code_facts.md.
//
//   SessionStart                      session_start (model, cwd, source)
//   UserPromptSubmit                  request
//   PreToolUse                        tool_call
//   PostToolUse, PostToolUseFailure   tool_result
//   Stop, SubagentStop                response
//   SessionEnd                        session_end
//
// A hook from inside a sub-agent (it carries `agent_id`) goes to the child
// session "SESSION/AGENT_ID", whose cost counts toward SESSION. Before the
// event itself, the model calls the transcript gained since the last hook are
// recorded as llm_response events, so a budget is current at every tool call.
//
// Answers: deny -> permissionDecision "deny" with the reason; modify ->
// "allow" with the whole updated input; allow -> no decision at all, so
// Claude Code's own permission rules still apply; ask -> by AskMode. A
// denied prompt is {"decision": "block"}. When reins itself fails, a tool
// call or prompt is denied (fail closed) and any other event passes.
#pragma once

#include <string>
#include <string_view>

#include "harness-adapters/hook_adapter.h"

namespace reins {

// The answer when reins cannot decide `event_name` (a hook_event_name, ""
// when unknown): a tool call is denied and a prompt blocked with `reason`;
// any other hook passes with the reason on stderr.
HookAnswer ClaudeRefusal(const std::string& event_name, const std::string& reason);

class ClaudeCodeAdapter : public HookAdapter {
 public:
  using HookAdapter::HookAdapter;
  HookAnswer Handle(std::string_view input) override;

 private:
  Result<Json> Translate(const Json& hook, const std::string& session);
  HookAnswer Answer(const Json& hook, const std::string& event_name, const Json& decision);
  HookAnswer AnswerAsk(const Json& hook, const std::string& event_name, const Json& decision);
};

}  // namespace reins
