// The Codex CLI adapter. Codex's hooks (hooks.json) are a dialect of Claude
// Code's, so this is the Claude Code adapter with Codex's differences
// (facts with sources: codex_facts.md):
//   - events: SessionStart, UserPromptSubmit, PreToolUse, PostToolUse, Stop,
//     SubagentStop, SessionEnd (shell commands arrive as tool "Bash" with
//     input {"command"}); a sub-agent's hooks carry agent_id and its own
//     rollout as transcript_path;
//   - usage comes from the rollout file's token_usage_record lines, priced
//     with the price table (the model from turn_context lines or the hook);
//   - Codex runs the tool when a hook answers "ask" and rejects unknown
//     output keys (then runs it too): an ask is held (hold) or denied with
//     the approval id in the reason (deny, the default), and the adapter
//     writes only the fields Codex accepts.
#pragma once

#include "harness-adapters/claude_code.h"

namespace reins {

class CodexAdapter : public ClaudeCodeAdapter {
 public:
  CodexAdapter(DecisionClient* client, AdapterOptions options)
      : ClaudeCodeAdapter(client, std::move(options),
                          ClaudeStyle{"codex", TranscriptFormat::kCodex,
                                      /*await_tool_in_transcript=*/false,
                                      /*subagent_transcript_given=*/true,
                                      /*harness_can_ask=*/false}) {}
};

}  // namespace reins
