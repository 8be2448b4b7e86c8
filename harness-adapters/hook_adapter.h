// HookAdapter: one harness's hook protocol. A hook invocation (the JSON a
// harness writes to a hook command's stdin, or posts to an http hook) goes
// in; what the hook prints and how it exits comes out. Adapters translate
// to canonical events and ask a DecisionClient; they never see the engine.
//
// Every adapter:
//   - starts the session on its first hook (once, across processes);
//   - before each event, records the model responses the harness's
//     transcript gained since the last hook (llm_response with model and
//     usage), so a budget is current at every tool call;
//   - fails closed: when reins cannot decide, a tool call or prompt is
//     refused, while hooks that come after the fact never block.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/clock.h"
#include "harness-adapters/decision_client.h"
#include "harness-adapters/transcript.h"

namespace reins {

// What to do with an `ask`, which not every harness can express.
enum class AskMode {
  kHarness,  // the harness's own permission prompt (Claude Code only)
  kDefer,    // Claude Code headless: "defer"; `claude -p --resume` asks again
  kHold,     // wait for a reins approval (up to hold_wait), then allow or deny
  kDeny,     // refuse, with the approval id and how to approve in the reason
};

// Parses "harness", "defer", "hold" or "deny".
Result<AskMode> ParseAskMode(std::string_view name);

struct AdapterOptions {
  AskMode ask_mode = AskMode::kHarness;
  TimeUs hold_wait = 600 * 1000000LL;
  std::string user;  // recorded on session_start
  // How long a tool call waits for its model response to reach the
  // transcript (harnesses may run the hook a little before writing it).
  int transcript_wait_ms = 1000;
};

// What the hook process prints and how it exits.
struct HookAnswer {
  int exit_code = 0;
  std::string out;  // stdout: JSON for the harness, or empty
  std::string err;  // stderr
};

class HookAdapter {
 public:
  // `client` must outlive the adapter.
  HookAdapter(DecisionClient* client, AdapterOptions options)
      : client_(client), options_(std::move(options)) {}
  virtual ~HookAdapter() = default;

  virtual HookAnswer Handle(std::string_view input) = 0;

 protected:
  // The harness's answer when reins cannot decide hook `event_name` ("" when
  // the input is unreadable): ClaudeRefusal, GeminiRefusal.
  virtual HookAnswer Refusal(const std::string& event_name, const std::string& reason) const = 0;
  // The refusal, saying reins could not evaluate the hook and why.
  HookAnswer Failed(const std::string& event_name, const std::string& message) const;
  // Hook JSON nesting deeper than this is refused (and the call with it).
  static constexpr int kMaxInputDepth = 256;
  // Reads hook JSON: an object naming its hook_event_name and session_id.
  // Returns false with the refusal in *failed when it is not.
  bool ParseHook(std::string_view input, Json* hook, std::string* event_name, std::string* session,
                 HookAnswer* failed) const;

  // Submits `start` (a session_start naming its session) unless the session
  // has started already.
  Status EnsureSession(Json start);
  // Records the responses `path` gained since this session's last read.
  // With `awaited` non-empty, first waits (up to transcript_wait_ms) until
  // the transcript contains that text (a tool call's id).
  // `model` names the model of responses whose transcript line does not.
  Status SyncTranscript(const std::string& session, const std::string& path,
                        TranscriptFormat format, const std::string& awaited = "",
                        const std::string& model = "");
  // The ask as a refusal: its reason, the approval id and how to approve.
  static std::string AskReason(const Json& decision);
  // Waits (up to hold_wait) for the approval of an ask. Approved: true.
  // Otherwise false, with why in *reason (denied, expired, not answered).
  Result<bool> Hold(const Json& decision, std::string* reason);

  DecisionClient* client_;
  AdapterOptions options_;
};

// The adapter for `harness` ("claude", "codex" or "gemini"); nullptr when
// there is none. `client` must outlive it.
std::unique_ptr<HookAdapter> MakeHookAdapter(std::string_view harness, DecisionClient* client,
                                             AdapterOptions options);

// The answer when reins cannot decide hook `event_name` of `harness` (""
// when the input is unreadable): tool calls and prompts are refused with
// `reason`; other hooks pass with the reason on stderr.
HookAnswer HookRefusal(std::string_view harness, const std::string& event_name,
                       const std::string& reason);

// Common helpers for adapters.
std::string StrOf(const Json& j, const char* key);  // j[key] if a string, else ""
HookAnswer JsonAnswer(const Json& out);             // exit 0, `out` on stdout

}  // namespace reins
