// detect_loop and detect_thrashing: an agent that repeats itself or keeps
// failing is stuck; pause it so a person can redirect it
// (docs/policies.md#detect_loop, #detect_thrashing).
#include <algorithm>

#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "engine/session_view.h"

namespace reins {

namespace {

// A stable 64-bit fingerprint (FNV-1a) of a call; it lives in the policy's
// state, so it must not change between versions or machines.
std::string Fnv1a64Hex(std::string_view bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
  static const char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[i] = kHex[h & 15];
  return out;
}

PolicyResult Escalate(const std::string& action, std::string reason) {
  return action == "deny" ? PolicyResult::Deny(std::move(reason))
                          : PolicyResult::Ask(std::move(reason));
}

// detect_loop: the same tool with identical input `threshold` times within
// the last `window` tool calls asks (or denies). The window resets at each
// user request unless reset_on_request is false.
class DetectLoop : public Policy {
 public:
  DetectLoop(const Json& params, std::vector<ParamError>* errors)
      : window_(params.at("window").get<int64_t>()),
        threshold_(params.at("threshold").get<int64_t>()),
        action_(params.at("action").get<std::string>()),
        reset_on_request_(params.at("reset_on_request").get<bool>()),
        exempt_(StringList(params, "exempt_tools")) {
    if (window_ < 1) errors->push_back({"window", "window must be >= 1"});
    if (threshold_ < 2) errors->push_back({"threshold", "threshold must be >= 2"});
    if (threshold_ > window_) {
      errors->push_back({"threshold", "threshold must not exceed window"});
    }
  }

  EvalResult Evaluate(const Event& event, const SessionView& session) const override {
    if (event.type() == EventType::kRequest) {
      if (!reset_on_request_ || !session.Get(kKey)) return std::optional<PolicyResult>();
      return PolicyResult::Allow().With(StateUpdate::Delete(kKey));
    }
    std::string tool(event.tool());
    if (std::find(exempt_.begin(), exempt_.end(), tool) != exempt_.end()) {
      return std::optional<PolicyResult>();
    }
    std::string digest = Fnv1a64Hex(CanonicalJson(Json{{"tool", tool}, {"input", event.input()}}));
    Json recent = Json::array();
    if (const Json* stored = session.Get(kKey); stored && stored->is_array()) recent = *stored;
    recent.push_back(digest);
    while (static_cast<int64_t>(recent.size()) > window_) recent.erase(recent.begin());
    auto count = std::count(recent.begin(), recent.end(), Json(digest));
    PolicyResult r = count >= threshold_
                         ? Escalate(action_, "The agent called " + tool + " with identical input " +
                                                 std::to_string(count) + " times in its last " +
                                                 std::to_string(recent.size()) +
                                                 " tool calls; it looks stuck in a loop.")
                         : PolicyResult::Allow();
    r.updates.push_back(StateUpdate::Set(kKey, std::move(recent)));
    return r;
  }

 private:
  static constexpr const char* kKey = "_policy_loop_recent";
  int64_t window_, threshold_;
  std::string action_;
  bool reset_on_request_;
  std::vector<std::string> exempt_;
};

// Whether a tool result reports a failure: its is_error flag, an error
// object, a non-zero exit code, or output that starts like an error message.
bool LooksLikeError(const Event& event) {
  if (event.GetBool("is_error")) return true;
  const Json* output = event.Get("output");
  if (!output) return false;
  if (output->is_object()) {
    for (const char* key : {"is_error", "isError"}) {
      if (output->value(key, false) == true) return true;
    }
    auto err = output->find("error");
    if (err != output->end() && !err->is_null() && *err != false && *err != "") return true;
    auto code = output->find("exit_code");
    if (code != output->end() && code->is_number() && code->get<double>() != 0) return true;
    return false;
  }
  if (!output->is_string()) return false;
  std::string head = Lower(output->get<std::string>().substr(0, 500));
  head.erase(0, head.find_first_not_of(" \t\r\n"));
  static const char* const kPrefixes[] = {"error:",
                                          "error -",
                                          "failed:",
                                          "traceback (most recent call last)",
                                          "exception:",
                                          "fatal:",
                                          "command failed",
                                          "permission denied",
                                          "no such file or directory",
                                          "enoent:",
                                          "eacces:",
                                          "eperm:"};
  for (const char* p : kPrefixes) {
    if (head.rfind(p, 0) == 0) return true;
  }
  return false;
}

// detect_thrashing: `consecutive_threshold` failing tool results in a row,
// or an error rate of at least window_error_rate over the last `window`
// results, pauses the agent.
class DetectThrashing : public Policy {
 public:
  DetectThrashing(const Json& params, std::vector<ParamError>* errors)
      : consecutive_(params.at("consecutive_threshold").get<int64_t>()),
        window_(params.at("window").get<int64_t>()),
        rate_(params.at("window_error_rate").get<double>()),
        action_(params.at("action").get<std::string>()) {
    if (consecutive_ < 1) errors->push_back({"consecutive_threshold", "must be >= 1"});
    if (window_ < 1) errors->push_back({"window", "window must be >= 1"});
    if (rate_ <= 0 || rate_ > 1) {
      errors->push_back({"window_error_rate", "window_error_rate must be in (0, 1]"});
    }
  }

  EvalResult Evaluate(const Event& event, const SessionView& session) const override {
    Json history = Json::array();
    if (const Json* stored = session.Get(kKey); stored && stored->is_array()) history = *stored;
    history.push_back(LooksLikeError(event) ? 1 : 0);
    size_t keep = static_cast<size_t>(std::max(window_, consecutive_));
    while (history.size() > keep) history.erase(history.begin());

    int64_t run = 0;
    for (auto it = history.rbegin(); it != history.rend() && *it == 1; ++it) ++run;
    int64_t errors = 0;
    size_t from = history.size() > static_cast<size_t>(window_) ? history.size() - window_ : 0;
    for (size_t i = from; i < history.size(); ++i) errors += history[i].get<int64_t>();
    int64_t seen = static_cast<int64_t>(history.size() - from);

    PolicyResult r = PolicyResult::Allow();
    if (run >= consecutive_) {
      r = Escalate(action_, "The agent has hit " + std::to_string(run) +
                                " tool errors in a row; it may be stuck. Review and redirect it, "
                                "or start a fresh session.");
    } else if (seen >= window_ && errors >= rate_ * static_cast<double>(seen)) {
      r = Escalate(action_, "The agent's last " + std::to_string(seen) + " tool calls failed " +
                                std::to_string(errors) +
                                " times; it may be stuck. Review and "
                                "redirect it, or start a fresh session.");
    }
    r.updates.push_back(StateUpdate::Set(kKey, std::move(history)));
    return r;
  }

 private:
  static constexpr const char* kKey = "_policy_thrashing_results";
  int64_t consecutive_, window_;
  double rate_;
  std::string action_;
};

}  // namespace

Status RegisterLoopPolicies(PolicyRegistry* registry) {
  PolicyType loop;
  loop.name = "detect_loop";
  loop.description =
      "Pauses an agent that calls the same tool with identical input `threshold` times within its "
      "last `window` tool calls.";
  loop.events = {EventType::kToolCall, EventType::kRequest};
  loop.params = {
      {"window", ParamType::kInteger, 10, false, "How many recent tool calls to remember."},
      {"threshold", ParamType::kInteger, 3, false, "Identical calls in the window that trip it."},
      {"action", ParamType::kString, "ask", false, "ask or deny.", {"ask", "deny"}},
      {"exempt_tools", ParamType::kStringList, Json::array(), false,
       "Tools that may repeat (e.g. polling)."},
      {"reset_on_request", ParamType::kBoolean, true, false,
       "Forget the window when the user sends a new message."},
  };
  loop.create = FactoryOf<DetectLoop>();
  REINS_RETURN_IF_ERROR(
      registry->Register(std::move(loop), {ReferenceHandler("safety", "detect_loop")}));

  PolicyType thrash;
  thrash.name = "detect_thrashing";
  thrash.description =
      "Pauses an agent whose tool calls keep failing: a run of errors, or a high error rate over "
      "the recent window.";
  thrash.events = {EventType::kToolResult};
  thrash.params = {
      {"consecutive_threshold", ParamType::kInteger, 5, false, "Failures in a row that trip it."},
      {"window", ParamType::kInteger, 10, false, "How many recent results the rate looks at."},
      {"window_error_rate", ParamType::kNumber, 0.8, false,
       "Share of failures in a full window that trips it."},
      {"action", ParamType::kString, "ask", false, "ask or deny.", {"ask", "deny"}},
  };
  thrash.create = FactoryOf<DetectThrashing>();
  return registry->Register(std::move(thrash), {ReferenceHandler("context", "detect_thrashing")});
}

}  // namespace reins
