#include "harness-adapters/gemini_cli.h"

namespace reins {

namespace {

constexpr const char* kHarness = "gemini-cli";

bool Blocking(const std::string& event_name) {
  return event_name == "BeforeTool" || event_name == "BeforeAgent" || event_name == "BeforeModel";
}

HookAnswer Deny(const std::string& reason) {
  return JsonAnswer({{"decision", "deny"}, {"reason", reason}});
}

// The text of the last message of a BeforeModel request.
std::string LastMessage(const Json& request) {
  if (!request.contains("messages") || !request["messages"].is_array() ||
      request["messages"].empty()) {
    return "";
  }
  return StrOf(request["messages"].back(), "content");
}

}  // namespace

HookAnswer GeminiRefusal(const std::string& event_name, const std::string& reason) {
  // Any JSON with a deny blocks; exit 2 with text on stderr also blocks when
  // the event is unknown (it may be a tool call). Elsewhere exit 1 warns.
  if (event_name.empty() || Blocking(event_name)) return Deny(reason);
  return {1, "", reason + "\n"};
}

HookAnswer GeminiCliAdapter::Refusal(const std::string& event_name,
                                     const std::string& reason) const {
  return GeminiRefusal(event_name, reason);
}

HookAnswer GeminiCliAdapter::Handle(std::string_view input) {
  Json hook;
  std::string event_name, session;
  HookAnswer failed;
  if (!ParseHook(input, &hook, &event_name, &session, &failed)) return failed;

  Json start = {{"session", session},
                {"type", "session_start"},
                {"harness", kHarness},
                {"cwd", StrOf(hook, "cwd")}};
  if (!options_.user.empty()) start["user"] = options_.user;
  if (event_name == "SessionStart" && hook.contains("source")) {
    start["labels"] = {{"source", hook["source"]}};
  }
  Status st = EnsureSession(start);
  std::string transcript = StrOf(hook, "transcript_path");
  if (st.ok() && !transcript.empty()) {
    st = SyncTranscript(session, transcript, TranscriptFormat::kGemini);
  }
  if (!st.ok()) return Failed(event_name, st.message());

  auto event = Translate(hook, session);
  if (!event.ok()) return Failed(event_name, event.status().message());
  if (event->is_null()) return JsonAnswer(Json::object());
  auto decision = client_->Submit(std::move(event).value());
  if (!decision.ok()) return Failed(event_name, decision.status().message());
  return Answer(hook, event_name, *decision);
}

Result<Json> GeminiCliAdapter::Translate(const Json& hook, const std::string& session) {
  std::string name = StrOf(hook, "hook_event_name");
  Json e = {{"session", session}};
  if ((name == "BeforeTool" || name == "AfterTool") && StrOf(hook, "tool_name").empty()) {
    return Status::InvalidArgument("the " + name + " hook input has no 'tool_name'");
  }
  if (name == "BeforeAgent") {
    e["type"] = "request";
    e["text"] = StrOf(hook, "prompt");
  } else if (name == "BeforeModel") {
    const Json& request = hook.contains("llm_request") && hook["llm_request"].is_object()
                              ? hook["llm_request"]
                              : Json::object();
    if (StrOf(request, "model").empty()) {
      return Status::InvalidArgument("the BeforeModel hook input has no 'llm_request.model'");
    }
    e["type"] = "llm_request";
    e["model"] = request["model"];
    e["text"] = LastMessage(request);
    if (request.contains("messages") && request["messages"].is_array()) {
      e["messages_count"] = request["messages"].size();
    }
  } else if (name == "BeforeTool") {
    e["type"] = "tool_call";
    e["tool"] = hook["tool_name"];
    e["input"] = hook.contains("tool_input") && hook["tool_input"].is_object() ? hook["tool_input"]
                                                                               : Json::object();
  } else if (name == "AfterTool") {
    e["type"] = "tool_result";
    e["tool"] = hook["tool_name"];
    bool failed = hook.contains("error") && !hook["error"].is_null();
    const Json& response = hook.contains("tool_response") ? hook["tool_response"] : Json();
    e["output"] = failed                                                    ? hook["error"]
                  : response.is_object() && response.contains("llmContent") ? response["llmContent"]
                                                                            : response;
    e["is_error"] = failed;
  } else if (name == "AfterAgent") {
    e["type"] = "response";
    e["text"] = StrOf(hook, "prompt_response");
  } else if (name == "SessionEnd") {
    e["type"] = "session_end";
    if (!StrOf(hook, "reason").empty()) e["reason"] = hook["reason"];
  } else {
    return Json();  // nothing to decide
  }
  return e;
}

HookAnswer GeminiCliAdapter::Answer(const Json& hook, const std::string& event_name,
                                    const Json& decision) {
  if (!Blocking(event_name)) return JsonAnswer(Json::object());  // after the fact
  std::string verdict = StrOf(decision, "verdict");
  std::string reason = StrOf(decision, "reason");
  Json patch = decision.contains("patch") ? decision["patch"] : Json::object();
  if (verdict == "ask") {
    if (options_.ask_mode != AskMode::kHold) return Deny(AskReason(decision));
    auto approved = Hold(decision, &reason);
    if (!approved.ok()) return Failed(event_name, approved.status().message());
    if (!*approved) return Deny(reason);
    verdict = patch.empty() ? "allow" : "modify";
    reason = "approved";
  }
  if (verdict == "deny") return Deny("reins: " + reason);
  if (verdict != "modify") return JsonAnswer(Json::object());

  // Only what Gemini CLI can apply: a tool's input, a model call's model.
  if (event_name == "BeforeTool" && patch.size() == 1 && patch.contains("input")) {
    Json input = hook.contains("tool_input") ? hook["tool_input"] : Json::object();
    input.merge_patch(patch["input"]);
    return JsonAnswer(
        {{"hookSpecificOutput", {{"tool_input", input}}}, {"reason", "reins: " + reason}});
  }
  // A prompt's reroute is applied at the model call that follows it.
  if (event_name == "BeforeAgent" && patch.size() == 1 && patch.contains("model")) {
    return JsonAnswer(Json::object());
  }
  if (event_name == "BeforeModel" && patch.size() == 1 && patch.contains("model") &&
      patch["model"].is_string()) {
    return JsonAnswer({{"hookSpecificOutput", {{"llm_request", {{"model", patch["model"]}}}}},
                       {"reason", "reins: " + reason}});
  }
  return Deny("reins: " + reason +
              " (refused: Gemini CLI cannot apply this change: " + patch.dump() + ")");
}

}  // namespace reins
