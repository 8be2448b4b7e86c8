// The Gemini CLI adapter: a Gemini CLI hook's JSON in, the answer Gemini CLI
// reads out. Facts about the protocol, with sources: gemini_facts.md.
//
//   SessionStart   session_start (cwd, source)
//   BeforeAgent    request (the prompt)
//   BeforeModel    llm_request (model, the last message's text)
//   BeforeTool     tool_call
//   AfterTool      tool_result (is_error when the tool failed)
//   AfterAgent     response
//   SessionEnd     session_end
// Other hooks only bring the transcript up to date. Model usage comes from
// the transcript (`transcript_path`), whose records carry cached and
// thought tokens that AfterModel's usage lacks.
//
// Answers: deny -> {"decision": "deny", "reason"} (Gemini CLI blocks the
// tool, prompt or model call); modify of a tool call -> the whole new input
// as hookSpecificOutput.tool_input (Gemini replaces, never merges); modify
// of a model call's `model` -> hookSpecificOutput.llm_request.model (the
// reroute). A modify Gemini cannot apply (a rewritten prompt) is refused
// rather than let through. An ask is never answered "ask": headless Gemini
// CLI then exits without an answer. It is held (hold) or refused with the
// approval id (deny, the default). Hooks after the fact never block.
#pragma once

#include "harness-adapters/hook_adapter.h"

namespace reins {

class GeminiCliAdapter : public HookAdapter {
 public:
  using HookAdapter::HookAdapter;
  HookAnswer Handle(std::string_view input) override;

 private:
  HookAnswer Refusal(const std::string& event_name, const std::string& reason) const override;
  Result<Json> Translate(const Json& hook, const std::string& session);
  HookAnswer Answer(const Json& hook, const std::string& event_name, const Json& decision);
};

// The answer when reins cannot decide `event_name`: BeforeTool, BeforeAgent
// and BeforeModel are refused with `reason`; other hooks pass with a warning.
HookAnswer GeminiRefusal(const std::string& event_name, const std::string& reason);

}  // namespace reins
