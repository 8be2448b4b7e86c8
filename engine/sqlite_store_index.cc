// Indexes the SQLite store keeps from the records it appends: sessions,
// spend and user-scoped state.
#include "engine/policy.h"
#include "engine/sqlite_store.h"

namespace reins::internal {

Status SqliteLogStore::IndexRecord(const Record& r) {
  if (r.seq == 1) {
    StmtScope insert_session_scope(insert_session_);
    insert_session_.Bind(1, r.session).Bind(2, r.session).Bind(3, r.ts).Bind(4, UtcDay(r.ts));
    REINS_RETURN_IF_ERROR(insert_session_.StepDone());
  }
  if (r.kind == RecordKind::kEvent) {
    std::string type = JsonString(r.body, "type");
    if (type == "session_start" && !JsonString(r.body, "owner").empty()) {
      StmtScope scope(set_owner_);
      set_owner_.Bind(1, r.session).Bind(2, JsonString(r.body, "owner"));
      REINS_RETURN_IF_ERROR(set_owner_.StepDone());
    }
    if (type == "session_start") {
      StmtScope update_session_start_scope(update_session_start_);
      update_session_start_.Bind(1, r.session)
          .Bind(2, JsonString(r.body, "user"))
          .Bind(3, JsonString(r.body, "agent"))
          .Bind(4, JsonString(r.body, "harness"))
          .Bind(5, JsonString(r.body, "model"))
          .Bind(6, JsonString(r.body, "parent"));
      REINS_RETURN_IF_ERROR(update_session_start_.StepDone());
    } else if (type == "session_end") {
      StmtScope end_session_scope(end_session_);
      end_session_.Bind(1, r.session);
      REINS_RETURN_IF_ERROR(end_session_.StepDone());
    }
  } else if (r.kind == RecordKind::kState) {
    return IndexUserUpdates(r);
  } else if (r.kind == RecordKind::kApproval) {
    return IndexApproval(r);
  } else if (r.kind == RecordKind::kDecision) {
    auto cost = r.body.find("cost");
    if (cost != r.body.end() && cost->is_object()) {
      const Json tokens = cost->value("tokens", Json::object());
      StmtScope upsert_spend_scope(upsert_spend_);
      upsert_spend_.Bind(1, r.session)
          .Bind(2, UtcDay(r.ts))
          .Bind(3, JsonString(*cost, "model"))
          .Bind(4, cost->value("usd", 0.0))
          .Bind(5, JsonInt(tokens, "input"))
          .Bind(6, JsonInt(tokens, "output"))
          .Bind(7, JsonInt(tokens, "cache_read"))
          .Bind(8, JsonInt(tokens, "cache_creation"))
          .Bind(9, JsonString(r.body, "event_type") == "llm_response" ? 1 : 0);
      REINS_RETURN_IF_ERROR(upsert_spend_.StepDone());
    }
  }
  return Status::OK();
}

Status SqliteLogStore::IndexUserUpdates(const Record& r) {
  auto updates = r.body.find("updates");
  if (updates == r.body.end() || !updates->is_array()) return Status::OK();
  for (const Json& u : *updates) {
    auto parsed = StateUpdate::FromJson(u);
    if (!parsed.ok() || parsed->scope != StateUpdate::Scope::kUser) continue;
    std::string user;
    {
      StmtScope scope(user_of_session_);
      user_of_session_.Bind(1, r.session);
      auto row = user_of_session_.StepRow();
      if (!row.ok()) return row.status();
      if (*row) user = user_of_session_.ColumnText(0);
    }
    std::string policy = JsonString(u, "policy");
    Json store = Json::object();
    {
      StmtScope scope(get_user_value_);
      get_user_value_.Bind(1, user).Bind(2, policy).Bind(3, parsed->key);
      auto row = get_user_value_.StepRow();
      if (!row.ok()) return row.status();
      if (*row) store[parsed->key] = Json::parse(get_user_value_.ColumnText(0), nullptr, false);
    }
    ApplyStateUpdate(*parsed, &store);
    auto value = store.find(parsed->key);
    SqliteStmt& stmt = value == store.end() ? delete_user_value_ : put_user_value_;
    StmtScope scope(stmt);
    stmt.Bind(1, user).Bind(2, policy).Bind(3, parsed->key);
    if (value != store.end()) stmt.Bind(4, CanonicalJson(*value));
    REINS_RETURN_IF_ERROR(stmt.StepDone());
  }
  return Status::OK();
}

Status SqliteLogStore::IndexApproval(const Record& r) {
  std::string op = JsonString(r.body, "op");
  if (op == "requested") {
    StmtScope scope(insert_approval_);
    auto expires = ParseRfc3339(JsonString(r.body, "expires_at"));
    insert_approval_.Bind(1, JsonString(r.body, "id"))
        .Bind(2, r.session)
        .Bind(3, JsonInt(r.body, "event_seq"))
        .Bind(4, JsonString(r.body, "event_type"))
        .Bind(5, JsonString(r.body, "tool"))
        .Bind(6, CanonicalJson(r.body.value("policies", Json::array())))
        .Bind(7, JsonString(r.body, "reason"))
        .Bind(8, r.ts)
        .Bind(9, expires.ok() ? *expires : 0);
    return insert_approval_.StepDone();
  }
  if (op != "resolved" && op != "expired") return Status::OK();
  StmtScope scope(resolve_approval_);
  std::string status = op == "expired"                   ? "expired"
                       : r.body.value("approved", false) ? "approved"
                                                         : "denied";
  resolve_approval_.Bind(1, JsonString(r.body, "id"))
      .Bind(2, status)
      .Bind(3, r.ts)
      .Bind(4, JsonString(r.body, "by"))
      .Bind(5, JsonString(r.body, "note"));
  return resolve_approval_.StepDone();
}

}  // namespace reins::internal
