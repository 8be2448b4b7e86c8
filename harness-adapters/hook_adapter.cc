#include "harness-adapters/hook_adapter.h"

#include <chrono>
#include <thread>

#include "harness-adapters/claude_code.h"
#include "harness-adapters/codex.h"
#include "harness-adapters/gemini_cli.h"

namespace reins {

namespace {

// Per session and transcript format: where the adapter stopped reading.
const char* CursorNote(TranscriptFormat format) {
  switch (format) {
    case TranscriptFormat::kGemini:
      return "gemini_transcript";
    case TranscriptFormat::kCodex:
      return "codex_transcript";
    default:
      return "claude_transcript";
  }
}

}  // namespace

Result<AskMode> ParseAskMode(std::string_view name) {
  if (name == "harness") return AskMode::kHarness;
  if (name == "defer") return AskMode::kDefer;
  if (name == "hold") return AskMode::kHold;
  if (name == "deny") return AskMode::kDeny;
  return Status::InvalidArgument("unknown ask mode '" + std::string(name) +
                                 "' (harness, defer, hold or deny)");
}

std::string StrOf(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// Invalid UTF-8 (from a hook's own bytes quoted in a reason) is replaced, not
// thrown: a hook that crashed would let the call through.
HookAnswer JsonAnswer(const Json& out) {
  return {0, out.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n", ""};
}

HookAnswer HookAdapter::Failed(const std::string& event_name, const std::string& message) const {
  return Refusal(event_name, "reins could not evaluate this " +
                                 (event_name.empty() ? std::string("hook") : event_name) + ": " +
                                 message);
}

bool HookAdapter::ParseHook(std::string_view input, Json* hook, std::string* event_name,
                            std::string* session, HookAnswer* failed) const {
  // Bounded: a hook that crashed on a hostile tool input would let the call
  // through (a harness treats most hook failures as "go ahead").
  auto parsed = ParseJsonBounded(input, kMaxInputDepth);
  if (!parsed.ok() || !parsed->is_object()) {
    *failed = Failed("", "the hook input is not a JSON object" +
                             (parsed.ok() ? "" : ": " + parsed.status().message()));
    return false;
  }
  *hook = std::move(parsed).value();
  *event_name = StrOf(*hook, "hook_event_name");
  *session = StrOf(*hook, "session_id");
  if (event_name->empty()) {
    *failed = Failed("", "the hook input has no 'hook_event_name'");
    return false;
  }
  if (session->empty()) {
    *failed = Failed(*event_name, "the hook input has no 'session_id'");
    return false;
  }
  return true;
}

Status HookAdapter::EnsureSession(Json start) {
  return client_->StartSession(std::move(start)).status();
}

Status HookAdapter::SyncTranscript(const std::string& session, const std::string& path,
                                   TranscriptFormat format, const std::string& awaited,
                                   const std::string& model) {
  auto note = client_->GetNote(session, CursorNote(format));
  if (!note.ok()) return note.status();
  TranscriptCursor cursor = TranscriptCursor::FromJson(*note);
  if (!awaited.empty()) {
    std::string quoted = "\"" + awaited + "\"";
    auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.transcript_wait_ms);
    while (!TranscriptHas(path, cursor.offset, quoted) &&
           std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  int64_t before = cursor.offset;
  std::vector<ModelCall> calls;
  REINS_RETURN_IF_ERROR(ReadTranscript(path, format, &cursor, &calls));
  for (const ModelCall& call : calls) {
    Json e = {{"session", session},
              {"type", "llm_response"},
              {"model", call.model.empty() ? model : call.model},
              {"usage", call.usage},
              {"labels", {{"source", "transcript"}, {"message", call.key}}}};
    auto d = client_->Submit(std::move(e));
    if (!d.ok()) return d.status().WithPrefix("recording a model call from the transcript");
  }
  if (calls.empty() && cursor.offset == before) return Status::OK();
  return client_->PutNote(session, CursorNote(format), cursor.ToJson());
}

std::string HookAdapter::AskReason(const Json& decision) {
  std::string id = StrOf(decision, "approval_id");
  return "reins: approval needed: " + StrOf(decision, "reason") + " (approval " + id +
         "; a person answers with `reins approve " + id + "` or `reins deny " + id + "`)";
}

Result<bool> HookAdapter::Hold(const Json& decision, std::string* reason) {
  std::string id = StrOf(decision, "approval_id");
  auto status = client_->AwaitApproval(id, options_.hold_wait);
  if (!status.ok()) return status.status();
  if (*status == "approved") return true;
  *reason = "reins: approval " + id + " " +
            (*status == "pending" ? "was not answered in time" : "was " + *status) + " (" +
            StrOf(decision, "reason") + ")";
  return false;
}

std::unique_ptr<HookAdapter> MakeHookAdapter(std::string_view harness, DecisionClient* client,
                                             AdapterOptions options) {
  if (harness == "claude") return std::make_unique<ClaudeCodeAdapter>(client, std::move(options));
  if (harness == "gemini") return std::make_unique<GeminiCliAdapter>(client, std::move(options));
  if (harness == "codex") return std::make_unique<CodexAdapter>(client, std::move(options));
  return nullptr;
}

HookAnswer HookRefusal(std::string_view harness, const std::string& event_name,
                       const std::string& reason) {
  if (harness == "gemini") return GeminiRefusal(event_name, reason);
  return ClaudeRefusal(event_name, reason);
}

}  // namespace reins
