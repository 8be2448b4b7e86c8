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

class CostBudget : public Policy {
 public:
  CostBudget(const Json& params, std::vector<ParamError>* errors) {
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
                         "cost_budget needs at least one of max_cost_usd, ask_thresholds_usd, "
                         "pause_every_usd"});
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
    double cost = session.cost_usd();
    std::string model(session.model());
    if (max_ && cost >= *max_) {
      if (!IsExpensive(model)) return PolicyResult::Allow();
      return PolicyResult::Deny(OverBudgetReason(event, cost, model));
    }

    std::vector<std::string> reasons;
    std::vector<StateUpdate> updates;

    // Unpriced models: spend that the budget cannot see.
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
      for (const std::string& m : fresh)
        updates.push_back(StateUpdate::Append(kApprovedUnpricedKey, m));
    }

    // Soft thresholds: one ask for the highest threshold crossed.
    double approved = session.GetNumber(kApprovedThresholdKey);
    double crossed = 0;
    for (double t : thresholds_) {
      if (cost >= t) crossed = t;
    }
    if (crossed > approved) {
      std::string limit = max_ ? " (budget " + Usd(*max_) + ")" : "";
      reasons.push_back("session spend " + Usd(cost) + " passed the " + Usd(crossed) +
                        " warning threshold" + limit + "; continue?");
      updates.push_back(StateUpdate::Set(kApprovedThresholdKey, crossed));
    }

    // Pause every N dollars.
    if (pause_) {
      double mark = std::floor(cost / *pause_) * *pause_;
      if (mark > 0 && mark > session.GetNumber(kApprovedPauseKey)) {
        reasons.push_back("session spend " + Usd(cost) + " passed " + Usd(mark) +
                          " (a pause every " + Usd(*pause_) + "); continue?");
        updates.push_back(StateUpdate::Set(kApprovedPauseKey, mark));
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
  bool IsExpensive(const std::string& model) const {
    if (expensive_.empty() || model.empty()) return true;
    std::string lower = Lower(model);
    return std::any_of(expensive_.begin(), expensive_.end(), [&](const std::string& token) {
      return lower.find(token) != std::string::npos;
    });
  }

  std::string OverBudgetReason(const Event& event, double cost, const std::string& model) const {
    std::string reason =
        "Session spend " + Usd(cost) + " has reached the " + Usd(*max_) + " budget. ";
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

  std::optional<double> max_, pause_;
  std::vector<double> thresholds_;
  std::vector<std::string> expensive_;
};

}  // namespace

Status RegisterCostPolicies(PolicyRegistry* registry) {
  PolicyType t;
  t.name = "cost_budget";
  t.description =
      "Session spend gate: denies expensive models at the hard cap, asks at warning thresholds, "
      "on every pause_every_usd of spend, and once for models it cannot price.";
  t.events = {EventType::kRequest, EventType::kLlmRequest, EventType::kToolCall};
  t.params = {
      {"max_cost_usd", ParamType::kNumber, nullptr, false,
       "Hard cap in USD: at or above it, expensive models are denied."},
      {"ask_thresholds_usd", ParamType::kNumberList, nullptr, false,
       "Warning thresholds in USD, strictly between 0 and the cap; crossing one asks once."},
      {"expensive_models", ParamType::kStringList, nullptr, false,
       "Case-insensitive substrings naming the models blocked over the cap; omitted or empty: "
       "every model."},
      {"pause_every_usd", ParamType::kNumber, nullptr, false,
       "Ask each time spend reaches another multiple of this amount."},
  };
  t.create = FactoryOf<CostBudget>();
  return registry->Register(std::move(t), {ReferenceHandler("cost", "cost_budget")});
}

}  // namespace reins
