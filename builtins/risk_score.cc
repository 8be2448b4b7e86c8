// risk_score_policy: a cumulative risk score (docs/policies.md#risk_score_policy).
//
// Tool calls add points; tool results whose data classification is
// sensitive add the highest matching weight. Once the score reaches the
// threshold, calls to guarded tools escalate (ask or deny) and add nothing.
// The score lives in the policy's state under `state_key`; a per-actor
// starting offset (by user, else agent) comes from initial_scores_by_actor.
#include <algorithm>

#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "engine/session_view.h"

namespace reins {

namespace {

// Collects label values (strings) under `keys` anywhere in `v`, to a bounded depth.
void CollectLabels(const Json& v, const std::vector<std::string>& keys, int depth,
                   std::vector<std::string>* out) {
  if (depth > 20 || out->size() > 256) return;
  if (v.is_object()) {
    for (const auto& [k, child] : v.items()) {
      bool label = std::find(keys.begin(), keys.end(), Lower(k)) != keys.end();
      if (label && child.is_string()) out->push_back(child.get<std::string>());
      if (label && child.is_array()) {
        for (const Json& item : child) {
          if (item.is_string()) out->push_back(item.get<std::string>());
        }
      }
      CollectLabels(child, keys, depth + 1, out);
    }
  } else if (v.is_array()) {
    for (const Json& child : v) CollectLabels(child, keys, depth + 1, out);
  }
}

class RiskScore : public Policy {
 public:
  RiskScore(const Json& params, std::vector<ParamError>* errors)
      : threshold_(params.at("threshold").get<double>()),
        escalate_(params.at("escalate_action").get<std::string>()),
        state_key_(params.at("state_key").get<std::string>()),
        reason_(params.at("reason").get<std::string>()),
        guarded_(StringList(params, "guarded_tools")) {
    struct {
      const char* param;
      std::map<std::string, double>* table;
      bool lower;
    } tables[] = {{"tool_points", &points_, false},
                  {"sensitive_labels", &labels_, true},
                  {"initial_scores_by_actor", &initial_, false}};
    for (const auto& t : tables) {
      const Json table = params.value(t.param, Json::object());
      for (const auto& [k, v] : table.items()) {
        if (!v.is_number()) {
          errors->push_back({t.param, std::string(t.param) + "['" + k + "'] must be a number"});
          continue;
        }
        (*t.table)[t.lower ? Lower(k) : k] = v.get<double>();
      }
    }
    for (const std::string& k : StringList(params, "label_keys")) label_keys_.push_back(Lower(k));
    if (state_key_.empty()) errors->push_back({"state_key", "state_key must not be empty"});
  }

  EvalResult Evaluate(const Event& event, const SessionView& session) const override {
    double stored = session.GetNumber(state_key_);
    if (event.type() == EventType::kToolCall) {
      std::string tool(event.tool());
      double score = stored + InitialScore(session);
      bool guarded = std::any_of(guarded_.begin(), guarded_.end(),
                                 [&](const std::string& g) { return ToolNameMatches(tool, g); });
      if (guarded && score >= threshold_) {
        std::string reason = reason_ + " Session risk score " + Number(score) + " >= threshold " +
                             Number(threshold_) + "; " + tool + " requires review.";
        return escalate_ == "deny" ? PolicyResult::Deny(reason) : PolicyResult::Ask(reason);
      }
      for (const auto& [name, pts] : points_) {
        if (ToolNameMatches(tool, name)) {
          return PolicyResult::Allow().With(StateUpdate::Increment(state_key_, pts));
        }
      }
      return std::optional<PolicyResult>();
    }
    // tool_result: the most sensitive label on it.
    std::vector<std::string> found;
    if (const Json* labels = event.Get("labels")) {
      for (const auto& [k, v] : labels->items()) {
        if (v.is_string()) found.push_back(v.get<std::string>());
      }
    }
    if (const Json* output = event.Get("output")) {
      if (output->is_string()) {
        Json parsed = Json::parse(output->get<std::string>(), nullptr, false);
        if (!parsed.is_discarded()) CollectLabels(parsed, label_keys_, 0, &found);
      } else {
        CollectLabels(*output, label_keys_, 0, &found);
      }
    }
    double best = 0;
    for (const std::string& label : found) {
      auto it = labels_.find(Lower(label));
      if (it != labels_.end()) best = std::max(best, it->second);
    }
    if (best <= 0) return std::optional<PolicyResult>();
    return PolicyResult::Allow().With(StateUpdate::Increment(state_key_, best));
  }

 private:
  double InitialScore(const SessionView& session) const {
    for (const std::string& actor : {session.user(), session.agent()}) {
      auto it = initial_.find(actor);
      if (!actor.empty() && it != initial_.end()) return it->second;
    }
    return 0;
  }

  static std::string Number(double v) {
    return v == static_cast<int64_t>(v) ? std::to_string(static_cast<int64_t>(v)) : Json(v).dump();
  }

  double threshold_;
  std::string escalate_, state_key_, reason_;
  std::vector<std::string> guarded_, label_keys_;
  std::map<std::string, double> points_, labels_, initial_;
};

}  // namespace

Status RegisterRiskScorePolicies(PolicyRegistry* registry) {
  PolicyType t;
  t.name = "risk_score_policy";
  t.description =
      "A cumulative risk score: tool calls add points, sensitive tool results add their label's "
      "weight, and guarded tools escalate once the score reaches the threshold.";
  t.events = {EventType::kToolCall, EventType::kToolResult};
  t.params = {
      {"threshold", ParamType::kNumber, 50, false, "Score at which guarded tools escalate."},
      {"tool_points", ParamType::kObject, Json::object(), false,
       "Points per tool call, by tool name (an MCP tool matches by its __NAME suffix)."},
      {"sensitive_labels", ParamType::kObject, Json::object(), false,
       "Weight per data label found on a tool result (case-insensitive)."},
      {"guarded_tools", ParamType::kStringList, Json::array(), false,
       "Tools that escalate at or over the threshold."},
      {"escalate_action",
       ParamType::kString,
       "ask",
       false,
       "What a guarded tool gets: ask or deny.",
       {"ask", "deny"}},
      {"initial_scores_by_actor", ParamType::kObject, Json::object(), false,
       "Starting score per actor (the session's user, else its agent)."},
      {"state_key", ParamType::kString, "risk_score", false, "Where the score is kept."},
      {"label_keys", ParamType::kStringList,
       Json::array({"classification", "sensitivity", "sensitivity_label", "dlp_label",
                    "label_classification"}),
       false, "Keys inside a tool's output that hold data labels."},
      {"reason", ParamType::kString, "Elevated session risk.", false, "Start of the reason."},
  };
  t.create = FactoryOf<RiskScore>();
  return registry->Register(std::move(t), {ReferenceHandler("risk_score", "risk_score_policy")});
}

}  // namespace reins
