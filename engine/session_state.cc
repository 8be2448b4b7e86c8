#include "engine/session_state.h"

#include <algorithm>
#include <cmath>

#include "engine/event.h"
#include "engine/json_fields.h"
#include "engine/policy.h"

namespace reins {

namespace {

std::vector<std::string> StringsOf(const Json& obj, const char* key) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return out;
  for (const Json& s : *it) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace

namespace {

// Reads the five counts under the given key names.
TokenCounts ReadCounts(const Json& obj, const char* const (&keys)[5]) {
  TokenCounts t;
  if (!obj.is_object()) return t;
  int64_t* fields[] = {&t.input, &t.output, &t.cache_read, &t.cache_creation, &t.reasoning};
  for (int i = 0; i < 5; ++i) *fields[i] = JsonInt(obj, keys[i]);
  return t;
}

}  // namespace

TokenCounts TokenCounts::FromUsage(const Json& usage) {
  return ReadCounts(usage, {"input_tokens", "output_tokens", "cache_read_input_tokens",
                            "cache_creation_input_tokens", "reasoning_tokens"});
}

TokenCounts TokenCounts::FromJson(const Json& j) {
  return ReadCounts(j, {"input", "output", "cache_read", "cache_creation", "reasoning"});
}

void TokenCounts::Add(const TokenCounts& o) {
  input += o.input;
  output += o.output;
  cache_read += o.cache_read;
  cache_creation += o.cache_creation;
  reasoning += o.reasoning;
}

Json TokenCounts::ToJson() const {
  return {{"input", input},
          {"output", output},
          {"cache_read", cache_read},
          {"cache_creation", cache_creation},
          {"reasoning", reasoning}};
}

Status SessionState::Apply(const Record& record) {
  if (record.seq != last_seq + 1) {
    return Status::Corruption("session '" + id + "': expected record " +
                              std::to_string(last_seq + 1) + ", got " + std::to_string(record.seq));
  }
  Status st;
  try {
    switch (record.kind) {
      case RecordKind::kEvent:
        st = ApplyEvent(record);
        break;
      case RecordKind::kDecision:
        st = ApplyDecision(record);
        break;
      case RecordKind::kState:
        if (record.body.contains("updates")) {
          for (const Json& u : record.body["updates"]) {
            st = ApplyUpdate(u);
            if (!st.ok()) break;
          }
        }
        break;
      case RecordKind::kApproval:
        st = ApplyApproval(record);
        break;
      case RecordKind::kChildCost:
        AddSpend(JsonString(record.body, "model"), record.body.value("cost_usd", 0.0),
                 TokenCounts::FromJson(record.body.value("tokens", Json::object())), false);
        break;
      case RecordKind::kNote:
        break;
      case RecordKind::kConfig:
        for (const auto& [key, value] : record.body.items()) {
          if (key != "by" && key != "change") config[key] = value;
        }
        config_seq = record.seq;
        break;
    }
  } catch (const Json::exception& e) {
    st = Status::Corruption(std::string("malformed record body: ") + e.what());
  }
  if (!st.ok()) {
    return st.WithPrefix("session '" + id + "' record " + std::to_string(record.seq));
  }
  last_seq = record.seq;
  last_hash = record.hash;
  last_ts = std::max(last_ts, record.ts);
  return Status::OK();
}

Status SessionState::ApplyEvent(const Record& record) {
  const Json& ev = record.body;
  auto type = EventTypeFromName(JsonString(ev, "type"));
  if (!type) return Status::Corruption("event record without a known type");
  if (started_at == 0) started_at = record.ts;
  auto set_if = [&](std::string* field, const char* key) {
    std::string v = JsonString(ev, key);
    if (!v.empty()) *field = std::move(v);
  };
  switch (*type) {
    case EventType::kSessionStart:
      set_if(&user, "user");
      set_if(&agent, "agent");
      set_if(&harness, "harness");
      set_if(&cwd, "cwd");
      set_if(&model, "model");
      if (parent.empty()) set_if(&parent, "parent");
      break;
    case EventType::kLlmRequest:
    case EventType::kLlmResponse:
      set_if(&model, "model");
      break;
    case EventType::kRequest:
      ++turns;
      break;
    case EventType::kToolCall: {
      std::string tool = JsonString(ev, "tool");
      ++tool_calls[tool];
      ++tool_calls_total;
      recent_tool_calls.push_back({record.seq, std::move(tool), JsonString(ev, "call_id"), ""});
      if (recent_tool_calls.size() > kRecentToolCalls) recent_tool_calls.pop_front();
      break;
    }
    case EventType::kSessionEnd:
      ended = true;
      break;
    default:
      break;
  }
  return Status::OK();
}

Status SessionState::ApplyDecision(const Record& record) {
  const Json& d = record.body;
  if (auto cost = d.find("cost"); cost != d.end()) {
    std::string m = JsonString(*cost, "model");
    if (JsonString(*cost, "source") == "unpriced") unpriced_models.insert(m);
    AddSpend(m, cost->value("usd", 0.0),
             TokenCounts::FromJson(cost->value("tokens", Json::object())), true);
    if (JsonString(d, "event_type") == "llm_response") ++by_model[m].calls;
  }
  int64_t event_seq = JsonInt(d, "event_seq");
  for (auto it = recent_tool_calls.rbegin(); it != recent_tool_calls.rend(); ++it) {
    if (it->seq == event_seq) {
      it->verdict = JsonString(d, "verdict");
      break;
    }
  }
  return Status::OK();
}

Status SessionState::ApplyApproval(const Record& record) {
  const Json& a = record.body;
  std::string op = JsonString(a, "op");
  std::string approval_id = JsonString(a, "id");
  if (op == "requested") {
    PendingApproval p;
    p.id = approval_id;
    p.event_seq = JsonInt(a, "event_seq");
    p.event_type = JsonString(a, "event_type");
    p.tool = JsonString(a, "tool");
    p.policies = StringsOf(a, "policies");
    p.reason = JsonString(a, "reason");
    p.requested_at = record.ts;
    auto expires = ParseRfc3339(JsonString(a, "expires_at"));
    if (!expires.ok()) return Status::Corruption("approval request: " + expires.status().message());
    p.expires_at = *expires;
    p.withheld = a.value("withheld", Json::array());
    p.kinds = a.value("kinds", Json::object());
    pending_approvals[approval_id] = std::move(p);
    return Status::OK();
  }
  if (op != "resolved" && op != "expired") {
    return Status::Corruption("approval record with unknown op '" + op + "'");
  }
  auto it = pending_approvals.find(approval_id);
  if (it == pending_approvals.end()) {
    return Status::Corruption("approval record resolves unknown approval '" + approval_id + "'");
  }
  ResolvedApproval r;
  r.id = approval_id;
  r.policies = it->second.policies;
  r.requested_at = it->second.requested_at;
  r.resolved_at = record.ts;
  if (op == "expired") {
    r.outcome = "expired";
    ++approvals_expired;
  } else {
    bool approved = a.value("approved", false);
    r.outcome = approved ? "approved" : "denied";
    r.by = JsonString(a, "by");
    ++(approved ? approvals_approved : approvals_denied);
    if (auto g = a.find("grants"); approved && g != a.end()) {
      // Expired grants leave as new ones come, so the list stays short.
      std::erase_if(grants,
                    [&](const Grant& x) { return x.expires_at && x.expires_at <= record.ts; });
      for (const Json& x : *g) {
        TimeUs expires = 0;
        if (std::string e = JsonString(x, "expires_at"); !e.empty()) {
          auto t = ParseRfc3339(e);
          if (!t.ok()) return Status::Corruption("grant: " + t.status().message());
          expires = *t;
        }
        grants.push_back({approval_id, JsonString(x, "policy"), JsonString(x, "kind"), expires});
      }
    }
  }
  pending_approvals.erase(it);
  resolved_approvals.push_back(std::move(r));
  if (resolved_approvals.size() > kResolvedApprovals) resolved_approvals.pop_front();
  return Status::OK();
}

void SessionState::AddSpend(const std::string& m, double usd, const TokenCounts& t, bool own) {
  cost_usd += usd;
  if (own) own_cost_usd += usd;
  tokens.Add(t);
  ModelTotals& mt = by_model[m];
  mt.cost_usd += usd;
  mt.tokens.Add(t);
}

Status SessionState::ApplyUpdate(const Json& u) {
  std::string policy = JsonString(u, "policy");
  if (policy.empty()) return Status::Corruption("state update without a policy");
  auto parsed = StateUpdate::FromJson(u);
  if (!parsed.ok()) return Status::Corruption(parsed.status().message());
  // User-scoped updates live in the store's per-user table, not in a session.
  if (parsed->scope == StateUpdate::Scope::kUser) return Status::OK();
  ApplyStateUpdate(*parsed, &policy_state[policy]);
  return Status::OK();
}

const Json* SessionState::PolicyValue(std::string_view policy, std::string_view key) const {
  auto it = policy_state.find(policy);
  if (it == policy_state.end()) return nullptr;
  auto v = it->second.find(key);
  return v == it->second.end() ? nullptr : &*v;
}

}  // namespace reins
