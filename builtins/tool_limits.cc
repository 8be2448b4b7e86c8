// max_tool_calls_per_session: a hard ceiling on tool calls per session
// (docs/policies.md#max_tool_calls_per_session). The count lives in the
// policy's own state and counts calls it allowed, so calls 1..limit pass and
// the next is denied; if another policy asks, the increment waits for the
// approval like every other state update.
#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "engine/session_view.h"

namespace reins {

namespace {

class MaxToolCallsPerSession : public Policy {
 public:
  MaxToolCallsPerSession(const Json& params, std::vector<ParamError>* errors)
      : limit_(params.at("limit").get<int64_t>()) {
    if (limit_ < 0) errors->push_back({"limit", "limit must be >= 0"});
  }

  EvalResult Evaluate(const Event&, const SessionView& session) const override {
    auto count = static_cast<int64_t>(session.GetNumber(kCountKey));
    if (count >= limit_) {
      return PolicyResult::Deny("Exceeded " + std::to_string(limit_) + " tool calls this session");
    }
    return PolicyResult::Allow().With(StateUpdate::Increment(kCountKey, 1));
  }

 private:
  static constexpr const char* kCountKey = "_policy_tool_call_count";
  int64_t limit_;
};

}  // namespace

Status RegisterToolLimitPolicies(PolicyRegistry* registry) {
  PolicyType t;
  t.name = "max_tool_calls_per_session";
  t.description = "Denies tool calls once the session has made `limit` of them.";
  t.events = {EventType::kToolCall};
  t.params = {{"limit", ParamType::kInteger, 100, false, "Tool calls allowed per session."}};
  t.create = FactoryOf<MaxToolCallsPerSession>();
  return registry->Register(std::move(t),
                            {ReferenceHandler("safety", "max_tool_calls_per_session")});
}

}  // namespace reins
