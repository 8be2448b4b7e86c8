// Queries over the SQLite store's indexes.
#include <map>

#include "engine/sqlite_store.h"

namespace reins::internal {

SessionSummary ReadSummary(SqliteStmt& q) {
  SessionSummary s;
  s.id = q.ColumnText(0);
  s.user = q.ColumnText(1);
  s.agent = q.ColumnText(2);
  s.harness = q.ColumnText(3);
  s.model = q.ColumnText(4);
  s.parent = q.ColumnText(5);
  s.root = q.ColumnText(6);
  s.day = q.ColumnText(7);
  s.started_at = q.ColumnInt(8);
  s.last_at = q.ColumnInt(9);
  s.last_seq = q.ColumnInt(10);
  s.ended = q.ColumnInt(11) != 0;
  s.owner = q.ColumnText(12);
  return s;
}

Result<std::optional<SessionSummary>> SqliteLogStore::GetSession(std::string_view id) {
  std::lock_guard lock(mu_);
  StmtScope get_session_scope(get_session_);
  get_session_.Bind(1, id);
  auto row = get_session_.StepRow();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<SessionSummary>();
  return std::optional<SessionSummary>(ReadSummary(get_session_));
}

Status SqliteLogStore::ListSessions(const SessionQuery& query,
                                    const std::function<bool(const SessionSummary&)>& fn) {
  std::lock_guard lock(mu_);
  std::string sql =
      std::string("SELECT ") + kSummaryColumns + " FROM sessions s WHERE s.id NOT LIKE 'reins:%'";
  if (!query.user.empty()) sql += " AND user = ?1";
  if (!query.agent.empty()) sql += " AND agent = ?2";
  if (!query.root.empty()) sql += " AND root = ?3";
  if (query.since) sql += " AND started_at >= ?4";
  if (query.until) sql += " AND started_at < ?5";
  if (query.ended) sql += " AND ended = ?6";
  if (!query.owner.empty()) sql += " AND owner = ?8";
  if (!query.verdict.empty()) {
    sql +=
        " AND EXISTS (SELECT 1 FROM events v WHERE v.session = s.id AND v.kind = 'decision' "
        "AND v.type IN ('deny', 'ask') AND v.type = ?9)";
  }
  if (query.after) sql += " AND (started_at < ?10 OR (started_at = ?10 AND id > ?11))";
  sql += " ORDER BY started_at DESC, id LIMIT ?7";
  auto stmt = db_.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  SqliteStmt& q = *stmt;
  if (!query.user.empty()) q.Bind(1, query.user);
  if (!query.agent.empty()) q.Bind(2, query.agent);
  if (!query.root.empty()) q.Bind(3, query.root);
  if (query.since) q.Bind(4, query.since);
  if (query.until) q.Bind(5, query.until);
  if (query.ended) q.Bind(6, static_cast<int64_t>(*query.ended));
  q.Bind(7, query.limit > 0 ? query.limit : -1);
  if (!query.owner.empty()) q.Bind(8, query.owner);
  if (!query.verdict.empty()) q.Bind(9, query.verdict);
  if (query.after) q.Bind(10, query.after->first).Bind(11, query.after->second);
  while (true) {
    auto row = q.StepRow();
    if (!row.ok()) return row.status();
    if (!*row || !fn(ReadSummary(q))) break;
  }
  return Status::OK();
}

Result<SessionTotals> SqliteLogStore::GetSessionTotals(std::string_view session) {
  std::lock_guard lock(mu_);
  SessionTotals t;
  {
    StmtScope scope(totals_events_);
    totals_events_.Bind(1, session);
    auto row = totals_events_.StepRow();
    if (!row.ok()) return row.status();
    t.events = *row ? totals_events_.ColumnInt(0) : 0;
  }
  {
    StmtScope scope(totals_verdicts_);
    totals_verdicts_.Bind(1, session);
    while (true) {
      auto row = totals_verdicts_.StepRow();
      if (!row.ok()) return row.status();
      if (!*row) break;
      (totals_verdicts_.ColumnText(0) == "deny" ? t.denies : t.asks) =
          totals_verdicts_.ColumnInt(1);
    }
  }
  StmtScope scope(totals_spend_);
  totals_spend_.Bind(1, session);
  while (true) {
    auto row = totals_spend_.StepRow();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (!totals_spend_.ColumnText(0).empty()) {
      t.models.push_back(std::string(totals_spend_.ColumnText(0)));
    }
    t.cost_usd += totals_spend_.ColumnDouble(1);
  }
  return t;
}

Status SqliteLogStore::ListSpend(const SpendQuery& query,
                                 const std::function<bool(const SpendRow&)>& fn) {
  static const std::map<std::string, std::string, std::less<>> kKeys = {{"user", "p.user"},
                                                                        {"agent", "s.agent"},
                                                                        {"model", "p.model"},
                                                                        {"day", "p.day"},
                                                                        {"session", "p.root"}};
  auto key = kKeys.find(query.by);
  if (key == kKeys.end()) {
    return Status::InvalidArgument("cannot group spend by '" + query.by +
                                   "' (user, agent, model, day or session)");
  }
  std::lock_guard lock(mu_);
  std::string sql = "SELECT " + key->second +
                    ", p.model, SUM(p.cost_usd), SUM(p.input_tokens), SUM(p.output_tokens), "
                    "SUM(p.cache_read_tokens), SUM(p.cache_creation_tokens), SUM(p.calls) "
                    "FROM spend p LEFT JOIN sessions s ON s.id = p.session WHERE 1";
  if (!query.since_day.empty()) sql += " AND p.day >= ?1";
  if (!query.until_day.empty()) sql += " AND p.day <= ?2";
  sql += " GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2";
  auto stmt = db_.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  if (!query.since_day.empty()) stmt->Bind(1, query.since_day);
  if (!query.until_day.empty()) stmt->Bind(2, query.until_day);
  while (true) {
    auto row = stmt->StepRow();
    if (!row.ok()) return row.status();
    if (!*row) break;
    SpendRow r;
    r.key = stmt->ColumnText(0);
    r.model = stmt->ColumnText(1);
    r.cost_usd = stmt->ColumnDouble(2);
    r.input_tokens = stmt->ColumnInt(3);
    r.output_tokens = stmt->ColumnInt(4);
    r.cache_read_tokens = stmt->ColumnInt(5);
    r.cache_creation_tokens = stmt->ColumnInt(6);
    r.calls = stmt->ColumnInt(7);
    if (!fn(r)) break;
  }
  return Status::OK();
}

Result<double> SqliteLogStore::UserSpend(std::string_view user, std::string_view day) {
  std::lock_guard lock(mu_);
  StmtScope user_spend_scope(user_spend_);
  user_spend_.Bind(1, user).Bind(2, day);
  auto row = user_spend_.StepRow();
  if (!row.ok()) return row.status();
  return *row ? user_spend_.ColumnDouble(0) : 0.0;
}

Result<Json> SqliteLogStore::UserValue(std::string_view user, std::string_view policy,
                                       std::string_view key) {
  std::lock_guard lock(mu_);
  StmtScope scope(get_user_value_);
  get_user_value_.Bind(1, user).Bind(2, policy).Bind(3, key);
  auto row = get_user_value_.StepRow();
  if (!row.ok()) return row.status();
  if (!*row) return Json();
  Json v = Json::parse(get_user_value_.ColumnText(0), nullptr, false);
  if (v.is_discarded()) return Status::Corruption("user_state value is not JSON");
  return v;
}

ApprovalSummary ReadApproval(SqliteStmt& q) {
  ApprovalSummary a;
  a.id = q.ColumnText(0);
  a.session = q.ColumnText(1);
  a.status = q.ColumnText(2);
  a.event_seq = q.ColumnInt(3);
  a.event_type = q.ColumnText(4);
  a.tool = q.ColumnText(5);
  Json policies = Json::parse(q.ColumnText(6), nullptr, false);
  if (policies.is_array()) {
    for (const Json& p : policies) {
      if (p.is_string()) a.policies.push_back(p.get<std::string>());
    }
  }
  a.reason = q.ColumnText(7);
  a.requested_at = q.ColumnInt(8);
  a.expires_at = q.ColumnInt(9);
  a.resolved_at = q.ColumnInt(10);
  a.by = q.ColumnText(11);
  a.note = q.ColumnText(12);
  return a;
}

Status SqliteLogStore::ListApprovals(std::string_view status, int64_t limit,
                                     const std::function<bool(const ApprovalSummary&)>& fn) {
  std::lock_guard lock(mu_);
  auto stmt = db_.Prepare(std::string("SELECT ") + kApprovalColumns +
                          " FROM approvals WHERE ?1 = '' OR status = ?1 ORDER BY requested_at, id "
                          "LIMIT ?2");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, status).Bind(2, limit > 0 ? limit : -1);
  while (true) {
    auto row = stmt->StepRow();
    if (!row.ok()) return row.status();
    if (!*row || !fn(ReadApproval(*stmt))) break;
  }
  return Status::OK();
}

Result<std::optional<ApprovalSummary>> SqliteLogStore::GetApproval(std::string_view id) {
  std::lock_guard lock(mu_);
  StmtScope scope(get_approval_);
  get_approval_.Bind(1, id);
  auto row = get_approval_.StepRow();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ApprovalSummary>();
  return std::optional<ApprovalSummary>(ReadApproval(get_approval_));
}

Status SqliteLogStore::SaveSnapshot(std::string_view session, int64_t seq, std::string_view state) {
  std::lock_guard lock(mu_);
  StmtScope scope(save_snapshot_);
  save_snapshot_.Bind(1, session).Bind(2, seq).Bind(3, state);
  return save_snapshot_.StepDone();
}

Result<std::optional<std::pair<int64_t, std::string>>> SqliteLogStore::LoadSnapshot(
    std::string_view session) {
  std::lock_guard lock(mu_);
  StmtScope scope(load_snapshot_);
  load_snapshot_.Bind(1, session);
  auto row = load_snapshot_.StepRow();
  if (!row.ok()) return row.status();
  using Snapshot = std::optional<std::pair<int64_t, std::string>>;
  if (!*row) return Snapshot();
  return Snapshot(
      std::make_pair(load_snapshot_.ColumnInt(0), std::string(load_snapshot_.ColumnText(1))));
}

}  // namespace reins::internal
