// cost_budget: a session spend gate (docs/policies.md#cost_budget).
//
// Acts on request, llm_request and tool_call, reading the session's spend
// (its own plus its descendants'). In order:
//   1. At or over max_cost_usd, while the current model is "expensive", deny.
//      Over the cap on a cheaper model it allows and asks nothing more (the
//      user downgraded to continue).
//   2. Below the cap, each of these asks, combined into one ask:
//      - a model whose usage could not be priced, once per model;
//      - the highest ask_thresholds_usd threshold crossed above the approved
//        high-water mark (jumping over two thresholds asks once);
//      - another multiple of pause_every_usd reached since the last approval.
// The state updates that remember what was approved ride on the ask, so
// they take effect only when a person approves.
#include <algorithm>
#include <cmath>

#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "engine/session_view.h"

namespace reins {

namespace {

constexpr const char* kApprovedThresholdKey = "_policy_cost_ask_approved_usd";
constexpr const char* kApprovedPauseKey = "_policy_cost_pause_approved_usd";
constexpr const char* kApprovedUnpricedKey = "_policy_cost_unpriced_approved";

// Whose spend the gate watches: the session's (with its sub-agents), or the
// session owner's across all their sessions for the current UTC day.
enum class BudgetScope { kSession, kUserDaily };

class CostBudget : public Policy {
 public:
  CostBudget(const Json& params, std::vector<ParamError>* errors, BudgetScope scope)
      : scope_(scope) {
    if (auto it = params.find("max_cost_usd"); it != params.end()) max_ = it->get<double>();
    if (auto it = params.find("pause_every_usd"); it != params.end()) pause_ = it->get<double>();
    thresholds_ = NumberList(params, "ask_thresholds_usd");
    for (const std::string& m : StringList(params, "expensive_models")) {
      if (m.empty()) {
        errors->push_back({"expensive_models", "expensive_models entries must be non-empty"});
      }
      expensive_.push_back(Lower(m));
    }
    if (!max_ && thresholds_.empty() && !pause_) {
      errors->push_back({"",
                         "at least one of max_cost_usd, ask_thresholds_usd, pause_every_usd "
                         "is required"});
    }
    if (max_ && *max_ <= 0) errors->push_back({"max_cost_usd", "max_cost_usd must be > 0"});
    if (pause_ && *pause_ <= 0)
      errors->push_back({"pause_every_usd", "pause_every_usd must be > 0"});
    for (double t : thresholds_) {
      if (t <= 0 || (max_ && t >= *max_)) {
        errors->push_back(
            {"ask_thresholds_usd",
             "each threshold must lie strictly between 0 and max_cost_usd; got " + Usd(t)});
      }
    }
    std::sort(thresholds_.begin(), thresholds_.end());
    thresholds_.erase(std::unique(thresholds_.begin(), thresholds_.end()), thresholds_.end());
  }

  EvalResult Evaluate(const Event& event, const SessionView& session) const override {
    double cost = 0;
    if (scope_ == BudgetScope::kSession) {
      cost = session.cost_usd();
    } else {
      auto spend = session.UserSpendToday();
      if (!spend.ok()) return spend.status();
      cost = *spend;
    }
    std::string model(session.model());
    if (max_ && cost >= *max_) {
      if (!IsExpensive(model)) return PolicyResult::Allow();
      return PolicyResult::Deny(OverBudgetReason(event, session, cost, model));
    }

    std::vector<std::string> reasons;
    std::vector<StateUpdate> updates;

    // Unpriced models: spend that the budget cannot see (per session).
    const Json* approved_unpriced = session.Get(kApprovedUnpricedKey);
    std::vector<std::string> fresh;
    for (const std::string& m : session.state().unpriced_models) {
      bool known = approved_unpriced && approved_unpriced->is_array() &&
                   std::find(approved_unpriced->begin(), approved_unpriced->end(), m) !=
                       approved_unpriced->end();
      if (!known) fresh.push_back(m);
    }
    if (!fresh.empty()) {
      std::string names;
      for (const std::string& m : fresh) names += (names.empty() ? "'" : ", '") + m + "'";
      reasons.push_back("no price is known for " + names +
                        ", so that spend is not counted toward the budget; approve to continue "
                        "without enforcement for it");
      for (const std::string& m : fresh) {
        updates.push_back(StateUpdate::Append(kApprovedUnpricedKey, m));
      }
    }

    // Soft thresholds: one ask for the highest threshold crossed.
    auto approved = Approved(session, kApprovedThresholdKey);
    if (!approved.ok()) return approved.status();
    double crossed = 0;
    for (double t : thresholds_) {
      if (cost >= t) crossed = t;
    }
    if (crossed > *approved) {
      std::string limit = max_ ? " (budget " + Usd(*max_) + ")" : "";
      reasons.push_back(Subject(session) + " " + Usd(cost) + " passed the " + Usd(crossed) +
                        " warning threshold" + limit + "; continue?");
      updates.push_back(Remember(session, kApprovedThresholdKey, crossed));
    }

    // Pause every N dollars.
    if (pause_) {
      auto paused = Approved(session, kApprovedPauseKey);
      if (!paused.ok()) return paused.status();
      double mark = std::floor(cost / *pause_) * *pause_;
      if (mark > 0 && mark > *paused) {
        reasons.push_back(Subject(session) + " " + Usd(cost) + " passed " + Usd(mark) +
                          " (a pause every " + Usd(*pause_) + "); continue?");
        updates.push_back(Remember(session, kApprovedPauseKey, mark));
      }
    }

    if (reasons.empty()) return std::optional<PolicyResult>();
    std::string reason;
    for (const std::string& r : reasons) reason += (reason.empty() ? "" : "; ") + r;
    reason[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(reason[0])));
    PolicyResult result = PolicyResult::Ask(std::move(reason));
    result.updates = std::move(updates);
    return result;
  }

 private:
  // The daily budget remembers approvals per user and UTC day, across the
  // user's sessions; the session budget in the session's own state.
  std::string DayKey(const SessionView& session, const char* key) const {
    return std::string(key) + ":" + UtcDay(session.now());
  }

  Result<double> Approved(const SessionView& session, const char* key) const {
    if (scope_ == BudgetScope::kSession) return session.GetNumber(key);
    auto v = session.GetUserValue(DayKey(session, key));
    if (!v.ok()) return v.status();
    return v->is_number() ? v->get<double>() : 0.0;
  }

  StateUpdate Remember(const SessionView& session, const char* key, double value) const {
    if (scope_ == BudgetScope::kSession) return StateUpdate::Set(key, value);
    return StateUpdate::Set(DayKey(session, key), value).ForUser();
  }

  std::string Subject(const SessionView& session) const {
    if (scope_ == BudgetScope::kSession) return "session spend";
    return session.user().empty() ? "today's spend" : session.user() + "'s spend today";
  }

  bool IsExpensive(const std::string& model) const {
    if (expensive_.empty() || model.empty()) return true;
    std::string lower = Lower(model);
    return std::any_of(expensive_.begin(), expensive_.end(), [&](const std::string& token) {
      return lower.find(token) != std::string::npos;
    });
  }

  std::string OverBudgetReason(const Event& event, const SessionView& session, double cost,
                               const std::string& model) const {
    std::string subject = Subject(session);
    subject[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(subject[0])));
    std::string reason = subject + " " + Usd(cost) + " has reached the " + Usd(*max_) +
                         (scope_ == BudgetScope::kSession ? " budget. " : " daily budget. ");
    if (expensive_.empty()) {
      reason += "Every model is blocked over budget.";
    } else {
      std::string list;
      for (const std::string& m : expensive_) list += (list.empty() ? "" : ", ") + m;
      reason += "Models matching " + list + " are blocked over budget (current: " +
                (model.empty() ? std::string("unknown") : model) +
                "); switch to a cheaper model to continue.";
    }
    if (event.type() == EventType::kToolCall) {
      reason += " Tell the user and wait for them; do not retry this tool call until they act.";
    }
    return reason;
  }

  BudgetScope scope_;
  std::optional<double> max_, pause_;
  std::vector<double> thresholds_;
  std::vector<std::string> expensive_;
};

ParamSchema BudgetParams(const char* whose) {
  return {
      {"max_cost_usd", ParamType::kNumber, nullptr, false,
       std::string("Hard cap on ") + whose +
           " in USD: at or above it, expensive models are denied."},
      {"ask_thresholds_usd", ParamType::kNumberList, nullptr, false,
       "Warning thresholds in USD, strictly between 0 and the cap; crossing one asks once."},
      {"expensive_models", ParamType::kStringList, nullptr, false,
       "Case-insensitive substrings naming the models blocked over the cap; omitted or empty: "
       "every model."},
      {"pause_every_usd", ParamType::kNumber, nullptr, false,
       "Ask each time spend reaches another multiple of this amount."},
  };
}

}  // namespace

Status RegisterCostPolicies(PolicyRegistry* registry) {
  const EventTypeSet gated = {EventType::kRequest, EventType::kLlmRequest, EventType::kToolCall};
  PolicyType session;
  session.name = "cost_budget";
  session.description =
      "Session spend gate (sub-agents included): denies expensive models at the hard cap, asks at "
      "warning thresholds, on every pause_every_usd of spend, and once for models it cannot price.";
  session.events = gated;
  session.params = BudgetParams("the session's spend");
  session.create = [](const Json& params,
                      std::vector<ParamError>* errors) -> Result<std::shared_ptr<const Policy>> {
    return MakePolicy<CostBudget>(params, errors, BudgetScope::kSession);
  };
  REINS_RETURN_IF_ERROR(
      registry->Register(std::move(session), {ReferenceHandler("cost", "cost_budget")}));

  PolicyType daily;
  daily.name = "user_daily_cost_budget";
  daily.description =
      "The cost_budget gate over the session owner's spend across all their sessions for the "
      "current UTC day; an approved threshold is remembered per user and day.";
  daily.events = gated;
  daily.params = BudgetParams("the user's spend today");
  daily.create = [](const Json& params,
                    std::vector<ParamError>* errors) -> Result<std::shared_ptr<const Policy>> {
    return MakePolicy<CostBudget>(params, errors, BudgetScope::kUserDaily);
  };
  return registry->Register(std::move(daily), {ReferenceHandler("cost", "user_daily_cost_budget")});
}

}  // namespace reins
