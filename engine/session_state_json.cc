// SessionState <-> JSON, the form of snapshots and of the API's state view.
#include "engine/session_state.h"

namespace reins {

namespace {

std::string Time(TimeUs t) { return t ? FormatRfc3339(t) : ""; }

// Reads fields of a JSON object, remembering the first problem.
class Reader {
 public:
  explicit Reader(const Json& j) : j_(j) {}

  template <typename T>
  T Get(const char* key, T fallback = T()) {
    auto it = j_.find(key);
    if (it == j_.end()) return fallback;
    try {
      return it->get<T>();
    } catch (const Json::exception&) {
      Fail(std::string("field '") + key + "' has the wrong type");
      return fallback;
    }
  }

  TimeUs GetTime(const char* key) {
    std::string s = Get<std::string>(key);
    if (s.empty()) return 0;
    auto t = ParseRfc3339(s);
    if (!t.ok()) Fail(t.status().message());
    return t.ok() ? *t : 0;
  }

  const Json& Sub(const char* key) {
    static const Json kNull;
    auto it = j_.find(key);
    return it == j_.end() ? kNull : *it;
  }

  void Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }
  const std::string& error() const { return error_; }

 private:
  const Json& j_;
  std::string error_;
};

}  // namespace

Json SessionState::ToJson() const {
  Json models = Json::object();
  for (const auto& [name, mt] : by_model) {
    models[name] = {{"cost_usd", mt.cost_usd}, {"tokens", mt.tokens.ToJson()}, {"calls", mt.calls}};
  }
  Json recent = Json::array();
  for (const RecentToolCall& c : recent_tool_calls) {
    recent.push_back(
        {{"seq", c.seq}, {"tool", c.tool}, {"call_id", c.call_id}, {"verdict", c.verdict}});
  }
  Json pending = Json::array();
  for (const auto& [pid, p] : pending_approvals) {
    pending.push_back({{"id", p.id},
                       {"event_seq", p.event_seq},
                       {"event_type", p.event_type},
                       {"tool", p.tool},
                       {"policies", p.policies},
                       {"reason", p.reason},
                       {"requested_at", Time(p.requested_at)},
                       {"expires_at", Time(p.expires_at)},
                       {"withheld", p.withheld},
                       {"kinds", p.kinds}});
  }
  Json resolved = Json::array();
  for (const ResolvedApproval& r : resolved_approvals) {
    resolved.push_back({{"id", r.id},
                        {"outcome", r.outcome},
                        {"by", r.by},
                        {"policies", r.policies},
                        {"requested_at", Time(r.requested_at)},
                        {"resolved_at", Time(r.resolved_at)}});
  }
  Json grant_list = Json::array();
  for (const Grant& g : grants) {
    grant_list.push_back({{"approval_id", g.approval_id},
                          {"policy", g.policy},
                          {"kind", g.kind},
                          {"expires_at", Time(g.expires_at)}});
  }
  return {{"session", id},
          {"user", user},
          {"agent", agent},
          {"harness", harness},
          {"model", model},
          {"cwd", cwd},
          {"parent", parent},
          {"started_at", Time(started_at)},
          {"last_ts", Time(last_ts)},
          {"ended", ended},
          {"cost_usd", cost_usd},
          {"own_cost_usd", own_cost_usd},
          {"tokens", tokens.ToJson()},
          {"models", models},
          {"unpriced_models", unpriced_models},
          {"turns", turns},
          {"tool_calls_total", tool_calls_total},
          {"tool_calls", tool_calls},
          {"recent_tool_calls", recent},
          {"pending_approvals", pending},
          {"resolved_approvals", resolved},
          {"approvals",
           {{"approved", approvals_approved},
            {"denied", approvals_denied},
            {"expired", approvals_expired}}},
          {"grants", grant_list},
          {"policy_state", policy_state},
          {"config", config},
          {"config_seq", config_seq},
          {"last_seq", last_seq},
          {"last_hash", last_hash}};
}

Result<SessionState> SessionState::FromJson(const Json& j) {
  if (!j.is_object()) return Status::Corruption("session state is not a JSON object");
  Reader r(j);
  SessionState s(r.Get<std::string>("session"));
  s.user = r.Get<std::string>("user");
  s.agent = r.Get<std::string>("agent");
  s.harness = r.Get<std::string>("harness");
  s.model = r.Get<std::string>("model");
  s.cwd = r.Get<std::string>("cwd");
  s.parent = r.Get<std::string>("parent");
  s.started_at = r.GetTime("started_at");
  s.last_ts = r.GetTime("last_ts");
  s.ended = r.Get<bool>("ended");
  s.cost_usd = r.Get<double>("cost_usd");
  s.own_cost_usd = r.Get<double>("own_cost_usd");
  s.tokens = TokenCounts::FromJson(r.Sub("tokens"));
  for (const auto& [name, m] : r.Sub("models").items()) {
    ModelTotals& mt = s.by_model[name];
    mt.cost_usd = m.value("cost_usd", 0.0);
    mt.tokens = TokenCounts::FromJson(m.value("tokens", Json::object()));
    mt.calls = m.value("calls", int64_t{0});
  }
  for (const Json& m : r.Sub("unpriced_models")) s.unpriced_models.insert(m.get<std::string>());
  s.turns = r.Get<int64_t>("turns");
  s.tool_calls_total = r.Get<int64_t>("tool_calls_total");
  for (const auto& [tool, n] : r.Sub("tool_calls").items()) s.tool_calls[tool] = n.get<int64_t>();
  for (const Json& c : r.Sub("recent_tool_calls")) {
    s.recent_tool_calls.push_back({c.value("seq", int64_t{0}), c.value("tool", ""),
                                   c.value("call_id", ""), c.value("verdict", "")});
  }
  for (const Json& p : r.Sub("pending_approvals")) {
    Reader pr(p);
    PendingApproval a;
    a.id = pr.Get<std::string>("id");
    a.event_seq = pr.Get<int64_t>("event_seq");
    a.event_type = pr.Get<std::string>("event_type");
    a.tool = pr.Get<std::string>("tool");
    a.policies = pr.Get<std::vector<std::string>>("policies");
    a.reason = pr.Get<std::string>("reason");
    a.requested_at = pr.GetTime("requested_at");
    a.expires_at = pr.GetTime("expires_at");
    a.withheld = p.value("withheld", Json::array());
    a.kinds = p.value("kinds", Json::object());
    r.Fail(pr.error());
    s.pending_approvals[a.id] = std::move(a);
  }
  for (const Json& x : r.Sub("resolved_approvals")) {
    Reader rr(x);
    ResolvedApproval a;
    a.id = rr.Get<std::string>("id");
    a.outcome = rr.Get<std::string>("outcome");
    a.by = rr.Get<std::string>("by");
    a.policies = rr.Get<std::vector<std::string>>("policies");
    a.requested_at = rr.GetTime("requested_at");
    a.resolved_at = rr.GetTime("resolved_at");
    r.Fail(rr.error());
    s.resolved_approvals.push_back(std::move(a));
  }
  const Json& counts = r.Sub("approvals");
  s.approvals_approved = counts.value("approved", int64_t{0});
  s.approvals_denied = counts.value("denied", int64_t{0});
  s.approvals_expired = counts.value("expired", int64_t{0});
  for (const Json& g : r.Sub("grants")) {
    Reader gr(g);
    s.grants.push_back({gr.Get<std::string>("approval_id"), gr.Get<std::string>("policy"),
                        gr.Get<std::string>("kind"), gr.GetTime("expires_at")});
    r.Fail(gr.error());
  }
  for (const auto& [key, store] : r.Sub("policy_state").items()) s.policy_state[key] = store;
  if (r.Sub("config").is_object()) s.config = r.Sub("config");
  s.config_seq = r.Get<int64_t>("config_seq");
  s.last_seq = r.Get<int64_t>("last_seq");
  s.last_hash = r.Get<std::string>("last_hash", kGenesisHash);
  if (!r.error().empty()) return Status::Corruption("session state: " + r.error());
  return s;
}

const Grant* SessionState::FindGrant(std::string_view policy, std::string_view kind,
                                     TimeUs now) const {
  for (const Grant& g : grants) {
    if (g.policy == policy && g.kind == kind && (g.expires_at == 0 || now < g.expires_at)) {
      return &g;
    }
  }
  return nullptr;
}

}  // namespace reins
