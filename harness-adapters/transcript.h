// Model usage from a harness's transcript (JSON lines), read incrementally.
//
// Claude Code (kClaude) writes one `type: "assistant"` line per content block of a
// model response; the lines of one response share `message.id` and
// `requestId`, and once the response has finished each carries its final
// `usage` and a non-null `stop_reason` (harness-adapters/claude_code_facts.md).
// The reader reports each finished response once, with the usage of its last
// line, and leaves the cursor before the first line of a response still
// streaming, so a later read sees it whole. Sidechain lines (sub-agents) are
// skipped: sub-agents have transcripts of their own.
//
// Gemini CLI (kGemini) writes one record per model message, `type:
// "gemini"` with `id`, `model` and `tokens` {input (with cached), output,
// cached, thoughts}; it rewrites a record under the same id when the
// message's tool calls are added, so each id is reported once
// (harness-adapters/gemini_facts.md).
//
// Codex (kCodex) writes a rollout file: a `token_usage_record` line per
// model response (payload.response_id, payload.usage with input tokens that
// include the cached ones) and `turn_context` lines naming the model, which
// the cursor remembers across reads (harness-adapters/codex_facts.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/canonical_json.h"
#include "engine/status.h"

namespace reins {

enum class TranscriptFormat { kClaude, kGemini, kCodex };

struct TranscriptCursor {
  int64_t offset = 0;               // bytes of the file already consumed
  std::vector<std::string> recent;  // keys of responses reported (the last few)
  std::string model;                // Codex: the model the last turn_context named

  Json ToJson() const;
  static TranscriptCursor FromJson(const Json& j);  // null or malformed: the start
};

struct ModelCall {
  std::string key;    // message.id + "/" + requestId
  std::string model;  // message.model
  Json usage;         // canonical llm_response usage
};

// Reads `path` from `cursor`, appends each finished response not reported
// yet to `*calls` and advances `*cursor`. A missing file is no calls.
// Malformed lines are skipped (a transcript is not ours to validate), but a
// partial last line is left for the next read.
Status ReadTranscript(const std::string& path, TranscriptFormat format, TranscriptCursor* cursor,
                      std::vector<ModelCall>* calls);

// Whether the complete lines of `path` after byte `offset` contain `text`.
// Claude Code may run a tool's hook a few milliseconds before the response
// asking for that tool reaches the transcript; the adapter waits for it.
// A missing file has nothing to wait for: true.
bool TranscriptHas(const std::string& path, int64_t offset, std::string_view text);

}  // namespace reins
