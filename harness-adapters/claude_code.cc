#include "harness-adapters/claude_code.h"

namespace reins {

namespace {

bool Blocking(const std::string& event_name) {
  return event_name == "PreToolUse" || event_name == "UserPromptSubmit";
}

HookAnswer PreToolUse(const std::string& decision, const std::string& reason,
                      const Json& updated_input = Json()) {
  Json h = {{"hookEventName", "PreToolUse"}, {"permissionDecision", decision}};
  if (!reason.empty()) h["permissionDecisionReason"] = reason;
  if (!updated_input.is_null()) h["updatedInput"] = updated_input;
  return JsonAnswer({{"hookSpecificOutput", h}});
}

// Whether a modify changes anything but the model.
bool ChangesMoreThanModel(const Json& decision) {
  if (!decision.contains("patch") || !decision["patch"].is_object()) return false;
  for (const auto& [key, value] : decision["patch"].items()) {
    if (key != "model") return true;
  }
  return false;
}

// The tool input with the decision's patch of `input` applied.
Json PatchedInput(const Json& hook, const Json& decision) {
  Json input = hook.contains("tool_input") ? hook["tool_input"] : Json::object();
  if (decision.contains("patch") && decision["patch"].contains("input")) {
    input.merge_patch(decision["patch"]["input"]);
  }
  return input;
}

}  // namespace

HookAnswer ClaudeRefusal(const std::string& event_name, const std::string& reason) {
  if (event_name == "PreToolUse") return PreToolUse("deny", reason);
  if (event_name == "UserPromptSubmit")
    return JsonAnswer({{"decision", "block"}, {"reason", reason}});
  // An unknown event might be a tool call: exit 2 blocks those, and is only
  // shown to the user elsewhere.
  if (event_name.empty()) return {2, "", reason + "\n"};
  return {1, "", reason + "\n"};
}

HookAnswer ClaudeCodeAdapter::Handle(std::string_view input) {
  Json hook;
  std::string event_name, session_id;
  HookAnswer failed;
  if (!ParseHook(input, &hook, &event_name, &session_id, &failed)) return failed;

  std::string session = session_id;
  std::string model = StrOf(hook, "model");
  Json start = {
      {"type", "session_start"}, {"harness", style_.harness}, {"cwd", StrOf(hook, "cwd")}};
  if (!options_.user.empty()) start["user"] = options_.user;
  if (!model.empty()) start["model"] = model;
  if (event_name == "SessionStart" && hook.contains("source")) {
    start["labels"] = {{"source", hook["source"]}};
  }
  start["session"] = session;
  Status st = EnsureSession(start);
  std::string transcript = StrOf(hook, "transcript_path");
  std::string agent_id = StrOf(hook, "agent_id");
  if (st.ok() && !agent_id.empty()) {
    // A sub-agent: its own session under the parent, its own transcript.
    session = session_id + "/" + agent_id;
    Json child = {{"type", "session_start"},
                  {"harness", style_.harness},
                  {"parent", session_id},
                  {"agent", StrOf(hook, "agent_type")},
                  {"cwd", StrOf(hook, "cwd")}};
    child["session"] = session;
    st = EnsureSession(child);
    std::string dir = transcript.size() > 6 && transcript.ends_with(".jsonl")
                          ? transcript.substr(0, transcript.size() - 6)
                          : transcript;
    if (!StrOf(hook, "agent_transcript_path").empty()) {
      transcript = StrOf(hook, "agent_transcript_path");
    } else if (!style_.subagent_transcript_given) {
      transcript = dir + "/subagents/agent-" + agent_id + ".jsonl";
    }
  }
  // A tool call waits (briefly) for the response that asked for it, so its
  // cost is counted before the call is judged.
  std::string awaited = event_name == "PreToolUse" && style_.await_tool_in_transcript
                            ? StrOf(hook, "tool_use_id")
                            : "";
  if (st.ok() && !transcript.empty())
    st = SyncTranscript(session, transcript, style_.format, awaited, model);
  if (!st.ok()) return Failed(event_name, st.message());

  auto event = Translate(hook, session);
  if (!event.ok()) return Failed(event_name, event.status().message());
  if (event->is_null()) return JsonAnswer(Json::object());  // nothing to govern
  auto decision = client_->Submit(std::move(event).value());
  if (!decision.ok()) return Failed(event_name, decision.status().message());
  return Answer(hook, event_name, *decision);
}

Result<Json> ClaudeCodeAdapter::Translate(const Json& hook, const std::string& session) {
  std::string name = StrOf(hook, "hook_event_name");
  Json e = {{"session", session}};
  bool tool_event = name == "PreToolUse" || name == "PostToolUse" || name == "PostToolUseFailure";
  if (tool_event && StrOf(hook, "tool_name").empty()) {
    return Status::InvalidArgument("the " + name + " hook input has no 'tool_name'");
  }
  if (name == "UserPromptSubmit") {
    e["type"] = "request";
    e["text"] = StrOf(hook, "prompt");
  } else if (name == "PreToolUse") {
    e["type"] = "tool_call";
    e["tool"] = StrOf(hook, "tool_name");
    e["input"] = hook.contains("tool_input") && hook["tool_input"].is_object() ? hook["tool_input"]
                                                                               : Json::object();
    e["call_id"] = StrOf(hook, "tool_use_id");
  } else if (name == "PostToolUse" || name == "PostToolUseFailure") {
    e["type"] = "tool_result";
    e["tool"] = StrOf(hook, "tool_name");
    e["call_id"] = StrOf(hook, "tool_use_id");
    bool failed = name == "PostToolUseFailure";
    const char* field = failed ? "error" : "tool_response";
    e["output"] = hook.contains(field) ? hook[field] : Json("");
    e["is_error"] = failed;
  } else if (name == "Stop" || name == "SubagentStop") {
    e["type"] = "response";
    e["text"] = StrOf(hook, "last_assistant_message");
  } else if (name == "SessionEnd") {
    e["type"] = "session_end";
  } else {
    return Json();  // SessionStart is the session's start; other events carry nothing to decide
  }
  return e;
}

HookAnswer ClaudeCodeAdapter::Answer(const Json& hook, const std::string& event_name,
                                     const Json& decision) {
  std::string verdict = StrOf(decision, "verdict");
  std::string reason = StrOf(decision, "reason");
  if (!Blocking(event_name)) return JsonAnswer(Json::object());  // after the fact: never blocks
  if (verdict == "ask") return AnswerAsk(hook, event_name, decision);
  if (event_name == "UserPromptSubmit") {
    if (verdict == "deny")
      return JsonAnswer({{"decision", "block"}, {"reason", "reins: " + reason}});
    // The harness cannot rewrite a prompt: one that reins would change (a
    // redaction) is refused rather than sent as it is. A model change
    // alone is left to the harness's own model choice.
    if (verdict == "modify" && ChangesMoreThanModel(decision)) {
      return JsonAnswer({{"decision", "block"},
                         {"reason", "reins: " + reason +
                                        " (this prompt was not sent: the harness cannot apply the "
                                        "change; send it again without what reins would change)"}});
    }
    return JsonAnswer(Json::object());
  }
  if (verdict == "deny") return PreToolUse("deny", "reins: " + reason);
  if (verdict == "modify")
    return PreToolUse("allow", "reins: " + reason, PatchedInput(hook, decision));
  return JsonAnswer(Json::object());
}

HookAnswer ClaudeCodeAdapter::AnswerAsk(const Json& hook, const std::string& event_name,
                                        const Json& decision) {
  bool prompt = event_name == "UserPromptSubmit";
  if (options_.ask_mode == AskMode::kHold) {
    std::string why;
    auto approved = Hold(decision, &why);
    if (!approved.ok()) return Failed(event_name, approved.status().message());
    if (*approved) {
      if (!prompt && decision.contains("patch")) {
        return PreToolUse("allow", "reins: approved", PatchedInput(hook, decision));
      }
      return JsonAnswer(Json::object());
    }
    if (prompt) return JsonAnswer({{"decision", "block"}, {"reason", why}});
    return PreToolUse("deny", why);
  }
  // A prompt cannot be put on hold by Claude Code: it is refused until approved.
  std::string reason = AskReason(decision);
  if (prompt) return JsonAnswer({{"decision", "block"}, {"reason", reason}});
  if (options_.ask_mode == AskMode::kDeny || !style_.harness_can_ask) {
    return PreToolUse("deny", reason);
  }
  return PreToolUse(options_.ask_mode == AskMode::kDefer ? "defer" : "ask", reason);
}

}  // namespace reins
