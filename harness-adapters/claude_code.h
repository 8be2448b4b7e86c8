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
  ClaudeCodeAdapter(DecisionClient* client, AdapterOptions options)
      : ClaudeCodeAdapter(client, std::move(options), ClaudeStyle{}) {}
  HookAnswer Handle(std::string_view input) override;

 protected:
  // Codex speaks a dialect of the same protocol (codex.h).
  struct ClaudeStyle {
    const char* harness = "claude-code";  // recorded on session_start
    TranscriptFormat format = TranscriptFormat::kClaude;
    // A tool call waits for its id to reach the transcript (Claude Code
    // writes the response a little after running the hook).
    bool await_tool_in_transcript = true;
    // A sub-agent's own transcript is given as transcript_path (Codex);
    // otherwise it is derived from the parent's (Claude Code).
    bool subagent_transcript_given = false;
    // The harness can prompt on "ask" (Codex cannot: it runs the tool).
    bool harness_can_ask = true;
  };
  ClaudeCodeAdapter(DecisionClient* client, AdapterOptions options, ClaudeStyle style)
      : HookAdapter(client, std::move(options)), style_(style) {}

 private:
  HookAnswer Refusal(const std::string& event_name, const std::string& reason) const override {
    return ClaudeRefusal(event_name, reason);
  }
  Result<Json> Translate(const Json& hook, const std::string& session);
  HookAnswer Answer(const Json& hook, const std::string& event_name, const Json& decision);
  HookAnswer AnswerAsk(const Json& hook, const std::string& event_name, const Json& decision);

  ClaudeStyle style_;
};

}  // namespace reins
