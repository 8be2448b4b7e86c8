// The SQLite LogStore.
//
// On-disk format (schema version 1; PRAGMA user_version holds the version):
//
//   events(session, seq, kind, type, ts, body, hash)
//     One row per record, UNIQUE(session, seq). `kind` is the record kind,
//     `type` the event type (event records) or approval op (approval
//     records), `ts` microseconds since the epoch, `body` the canonical JSON
//     that the hash covers, `hash` the chain hash (record.h). Triggers refuse
//     UPDATE and DELETE: the table is append-only.
//   sessions(id, user, agent, harness, model, parent, root, started_at, day,
//            ended)
//     One row per session, written when its first record and its
//     session_start / session_end events are appended (not on every append);
//     indexed by (user, day), (agent, day), (day, started_at) and (root).
//   spend(session, day, model, user, root, cost_usd, *_tokens, calls)
//     Own spend per session, UTC day and model, from decision records' cost;
//     indexed by (user, day) so "a user's spend today" is one index range.
//
//   user_state(user, policy, key, value)                       (schema 2)
//     Policy state scoped to a user rather than a session (StateUpdate
//     scope "user"), from state records; `value` is JSON.
//
// sessions, spend and user_state are indexes: they can be rebuilt from
// events. The database runs in WAL mode; synchronous=NORMAL (default) or FULL.
#include <sqlite3.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "engine/log_store.h"
#include "engine/policy.h"
#include "engine/sqlite_db.h"

namespace reins {

namespace {

constexpr int kSchemaVersion = 2;

// A session's summary; its head (last seq and time) comes from the events
// table's (session, seq) index rather than from a column updated per append.
#define SUMMARY_COLUMNS                                                                \
  "s.id, s.user, s.agent, s.harness, s.model, s.parent, s.root, s.day, s.started_at, " \
  "(SELECT e.ts FROM events e WHERE e.session = s.id ORDER BY e.seq DESC LIMIT 1), "   \
  "(SELECT e.seq FROM events e WHERE e.session = s.id ORDER BY e.seq DESC LIMIT 1), s.ended"

const char* const kMigrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE events (
  session TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  type TEXT NOT NULL DEFAULT '',
  ts INTEGER NOT NULL,
  body TEXT NOT NULL,
  hash TEXT NOT NULL,
  UNIQUE (session, seq)
);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the session log is append-only: UPDATE refused'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the session log is append-only: DELETE refused'); END;

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL DEFAULT '',
  agent TEXT NOT NULL DEFAULT '',
  harness TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  parent TEXT NOT NULL DEFAULT '',
  root TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  day TEXT NOT NULL,
  ended INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX sessions_user_day ON sessions(user, day);
CREATE INDEX sessions_agent_day ON sessions(agent, day);
CREATE INDEX sessions_day ON sessions(day, started_at);
CREATE INDEX sessions_root ON sessions(root);

CREATE TABLE spend (
  session TEXT NOT NULL,
  day TEXT NOT NULL,
  model TEXT NOT NULL,
  user TEXT NOT NULL,
  root TEXT NOT NULL,
  cost_usd REAL NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
  calls INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (session, day, model)
) WITHOUT ROWID;
CREATE INDEX spend_user_day ON spend(user, day);
)sql",
    // 1 -> 2: policy state shared by all sessions of a user.
    R"sql(
CREATE TABLE user_state (
  user TEXT NOT NULL,
  policy TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (user, policy, key)
) WITHOUT ROWID;
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

std::string JsonString(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t JsonInt(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number() ? it->get<int64_t>() : 0;
}

class SqliteLogStore : public LogStore {
 public:
  explicit SqliteLogStore(SqliteDb db) : db_(std::move(db)) {}

  Status Init(const SqliteOptions& options);

  Status Append(const std::vector<const Record*>& records) override;
  using LogStore::Append;
  Status Scan(std::string_view session, int64_t after_seq, int64_t limit,
              const std::function<bool(const Record&)>& fn) override;
  Status ScanEvents(std::string_view session, std::string_view type, std::string_view tool,
                    int64_t after_seq, int64_t limit,
                    const std::function<bool(const Record&)>& fn) override;
  Result<VerifyReport> Verify(std::string_view session) override;
  Result<std::optional<SessionSummary>> GetSession(std::string_view id) override;
  Status ListSessions(const SessionQuery& query,
                      const std::function<bool(const SessionSummary&)>& fn) override;
  Result<double> UserSpend(std::string_view user, std::string_view day) override;
  Result<Json> UserValue(std::string_view user, std::string_view policy,
                         std::string_view key) override;

 private:
  Status Migrate();
  Status InsertLocked(const std::vector<const Record*>& records);
  Status DeliverRows(SqliteStmt& q, std::string_view session,
                     const std::function<bool(const Record&)>& fn);
  Status Exec(SqliteStmt& stmt);
  Status IndexRecord(const Record& r);
  Status IndexUserUpdates(const Record& r);

  // Appends waiting for group commit; the front one leads.
  struct Writer {
    explicit Writer(const std::vector<const Record*>* r) : records(r) {}
    const std::vector<const Record*>* records;
    Status status;
    bool done = false;
    std::condition_variable cv;
  };
  static constexpr size_t kMaxGroup = 512;
  bool group_commit_ = false;
  std::mutex queue_mu_;
  std::deque<Writer*> writers_;

  std::mutex mu_;  // the connection
  SqliteDb db_;
  SqliteStmt savepoint_, release_, rollback_to_, begin_, commit_, rollback_, insert_event_,
      prev_exists_, insert_session_, update_session_start_, end_session_, upsert_spend_, scan_,
      user_spend_, get_session_, user_of_session_, get_user_value_, put_user_value_,
      delete_user_value_, scan_events_;
};

Status SqliteLogStore::Init(const SqliteOptions& options) {
  group_commit_ = options.group_commit;
  REINS_RETURN_IF_ERROR(
      db_.Exec("PRAGMA busy_timeout=" + std::to_string(options.busy_timeout_ms) + ";"));
  if (!options.read_only) {
    REINS_RETURN_IF_ERROR(db_.Exec("PRAGMA journal_mode=WAL;"));
    REINS_RETURN_IF_ERROR(db_.Exec(options.durability == Durability::kFull
                                       ? "PRAGMA synchronous=FULL;"
                                       : "PRAGMA synchronous=NORMAL;"));
    REINS_RETURN_IF_ERROR(Migrate());
  }
  struct {
    SqliteStmt* stmt;
    const char* sql;
  } statements[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&savepoint_, "SAVEPOINT append"},
      {&release_, "RELEASE append"},
      {&rollback_to_, "ROLLBACK TO append"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&insert_event_,
       "INSERT INTO events(session, seq, kind, type, ts, body, hash) VALUES(?,?,?,?,?,?,?)"},
      {&prev_exists_, "SELECT 1 FROM events WHERE session = ? AND seq = ?"},
      {&insert_session_,
       "INSERT OR IGNORE INTO sessions(id, root, started_at, day) VALUES(?,?,?,?)"},
      {&update_session_start_,
       "UPDATE sessions SET user = CASE WHEN ?2 <> '' THEN ?2 ELSE COALESCE((SELECT user FROM "
       "sessions p WHERE p.id = ?6), user) END, agent = CASE WHEN ?3 <> '' THEN ?3 ELSE agent END,"
       " harness = CASE WHEN ?4 <> '' THEN ?4 ELSE harness END, model = CASE WHEN ?5 <> '' THEN "
       "?5 ELSE model END, parent = CASE WHEN parent = '' THEN ?6 ELSE parent END, root = CASE "
       "WHEN parent = '' AND ?6 <> '' THEN COALESCE((SELECT root FROM sessions p WHERE p.id = "
       "?6), ?6) ELSE root END WHERE id = ?1"},
      {&end_session_, "UPDATE sessions SET ended = 1 WHERE id = ?1"},
      {&upsert_spend_,
       "INSERT INTO spend(session, day, model, user, root, cost_usd, input_tokens, output_tokens, "
       "cache_read_tokens, cache_creation_tokens, calls) SELECT ?1, ?2, ?3, s.user, s.root, ?4, "
       "?5, ?6, ?7, ?8, ?9 FROM sessions s WHERE s.id = ?1 ON CONFLICT(session, day, model) DO "
       "UPDATE SET cost_usd = cost_usd + excluded.cost_usd, input_tokens = input_tokens + "
       "excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens, "
       "cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, "
       "cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens, calls = "
       "calls + excluded.calls"},
      {&scan_,
       "SELECT seq, kind, ts, body, hash FROM events WHERE session = ? AND seq > ? ORDER BY seq "
       "LIMIT ?"},
      {&user_spend_, "SELECT COALESCE(SUM(cost_usd), 0) FROM spend WHERE user = ? AND day = ?"},
      {&user_of_session_, "SELECT user FROM sessions WHERE id = ?"},
      {&scan_events_,
       "SELECT seq, kind, ts, body, hash FROM events WHERE session = ?1 AND seq > ?2 AND kind = "
       "'event' AND (?3 = '' OR type = ?3) AND (?4 = '' OR json_extract(body, '$.tool') = ?4) "
       "ORDER BY seq LIMIT ?5"},
      {&get_user_value_, "SELECT value FROM user_state WHERE user = ? AND policy = ? AND key = ?"},
      {&put_user_value_,
       "INSERT INTO user_state(user, policy, key, value) VALUES(?1, ?2, ?3, ?4) "
       "ON CONFLICT(user, policy, key) DO UPDATE SET value = excluded.value"},
      {&delete_user_value_, "DELETE FROM user_state WHERE user = ? AND policy = ? AND key = ?"},
      {&get_session_, "SELECT " SUMMARY_COLUMNS " FROM sessions s WHERE id = ?"},
  };
  for (auto& s : statements) {
    if (options.read_only && std::string_view(s.sql).substr(0, 6) != "SELECT") continue;
    auto stmt = db_.Prepare(s.sql);
    if (!stmt.ok()) return stmt.status();
    *s.stmt = std::move(stmt).value();
  }
  return Status::OK();
}

Status SqliteLogStore::Migrate() {
  auto version = db_.QueryInt("PRAGMA user_version;");
  if (!version.ok()) return version.status();
  if (*version > kSchemaVersion) {
    return Status::FailedPrecondition(
        db_.path() + ": database schema version " + std::to_string(*version) +
        " is newer than this reins supports (" + std::to_string(kSchemaVersion) + ")");
  }
  for (int64_t v = *version; v < kSchemaVersion; ++v) {
    REINS_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE;"));
    // Another process may have migrated while we waited for the lock.
    auto current = db_.QueryInt("PRAGMA user_version;");
    if (!current.ok()) return current.status();
    Status st;
    if (*current == v) {
      st = db_.Exec(kMigrations[v]);
      if (st.ok()) st = db_.Exec("PRAGMA user_version=" + std::to_string(v + 1) + ";");
    }
    if (!st.ok()) {
      db_.Exec("ROLLBACK;");
      return st.WithPrefix("migrating " + db_.path() + " to schema " + std::to_string(v + 1));
    }
    REINS_RETURN_IF_ERROR(db_.Exec("COMMIT;"));
  }
  return Status::OK();
}

Status SqliteLogStore::IndexRecord(const Record& r) {
  if (r.seq == 1) {
    StmtScope insert_session_scope(insert_session_);
    insert_session_.Bind(1, r.session).Bind(2, r.session).Bind(3, r.ts).Bind(4, UtcDay(r.ts));
    REINS_RETURN_IF_ERROR(insert_session_.StepDone());
  }
  if (r.kind == RecordKind::kEvent) {
    std::string type = JsonString(r.body, "type");
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

Status SqliteLogStore::InsertLocked(const std::vector<const Record*>& records) {
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = *records[i];
    if (r.hash.empty() || r.body_text.empty()) {
      return Status::Internal("record " + r.session + ":" + std::to_string(r.seq) +
                              " is not sealed");
    }
    StmtScope insert_event_scope(insert_event_);
    insert_event_.Bind(1, r.session).Bind(2, r.seq).Bind(3, RecordKindName(r.kind));
    std::string type = r.kind == RecordKind::kEvent      ? JsonString(r.body, "type")
                       : r.kind == RecordKind::kApproval ? JsonString(r.body, "op")
                       : r.kind == RecordKind::kDecision ? JsonString(r.body, "verdict")
                                                         : std::string();
    insert_event_.Bind(4, type).Bind(5, r.ts).Bind(6, r.body_text).Bind(7, r.hash);
    Status st = insert_event_.StepDone();
    if (st.code() == Status::Code::kAlreadyExists) {
      return Status::Conflict("session '" + r.session + "' already has record " +
                              std::to_string(r.seq) + " (another writer appended first)");
    }
    REINS_RETURN_IF_ERROR(st);
    // A chain must continue from the stored head: record 1 or the successor
    // of a stored record. (A gap would mean the caller's head is stale.)
    if (r.seq > 1 && (i == 0 || records[i - 1]->session != r.session)) {
      StmtScope prev_exists_scope(prev_exists_);
      prev_exists_.Bind(1, r.session).Bind(2, r.seq - 1);
      auto has = prev_exists_.StepRow();
      if (!has.ok()) return has.status();
      if (!*has) {
        return Status::Conflict("session '" + r.session + "' has no record " +
                                std::to_string(r.seq - 1) + " to continue from");
      }
    }
    REINS_RETURN_IF_ERROR(IndexRecord(r));
  }
  return Status::OK();
}

Status SqliteLogStore::Exec(SqliteStmt& stmt) {
  StmtScope scope(stmt);
  return stmt.StepDone();
}

Status SqliteLogStore::Append(const std::vector<const Record*>& records) {
  if (records.empty()) return Status::OK();
  if (!group_commit_) {
    std::lock_guard lock(mu_);
    REINS_RETURN_IF_ERROR(Exec(begin_));
    Status st = InsertLocked(records);
    if (st.ok()) st = Exec(commit_);
    if (!st.ok()) (void)Exec(rollback_);
    return st;
  }
  // Group commit, as LevelDB's writer queue does it: appends queue up; the
  // first in line commits everything queued behind it in one transaction,
  // each append in its own savepoint so that one conflict does not fail the
  // others; then it hands the lead to the next in line.
  Writer w(&records);
  std::unique_lock q(queue_mu_);
  writers_.push_back(&w);
  w.cv.wait(q, [&] { return w.done || writers_.front() == &w; });
  if (w.done) return w.status;
  std::vector<Writer*> batch;
  for (Writer* x : writers_) {
    if (batch.size() >= kMaxGroup) break;
    batch.push_back(x);
  }
  q.unlock();
  Status commit;
  {
    std::lock_guard lock(mu_);
    commit = Exec(begin_);
    for (Writer* x : batch) {
      if (!commit.ok()) break;
      x->status = Exec(savepoint_);
      if (x->status.ok()) x->status = InsertLocked(*x->records);
      if (x->status.ok()) {
        x->status = Exec(release_);
      } else {
        (void)Exec(rollback_to_);
        (void)Exec(release_);
      }
    }
    if (commit.ok()) commit = Exec(commit_);
    if (!commit.ok()) (void)Exec(rollback_);
  }
  q.lock();
  for (Writer* x : batch) {
    if (!commit.ok()) x->status = commit;
    writers_.pop_front();
    x->done = true;
    if (x != &w) x->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  return w.status;
}

// Delivers the rows of a statement selecting (seq, kind, ts, body, hash).
Status SqliteLogStore::DeliverRows(SqliteStmt& q, std::string_view session,
                                   const std::function<bool(const Record&)>& fn) {
  while (true) {
    auto row = q.StepRow();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Record r;
    r.session = std::string(session);
    r.seq = q.ColumnInt(0);
    auto kind = RecordKindFromName(q.ColumnText(1));
    if (!kind) {
      return Status::Corruption("session '" + r.session + "' record " + std::to_string(r.seq) +
                                ": unknown kind '" + std::string(q.ColumnText(1)) + "'");
    }
    r.kind = *kind;
    r.ts = q.ColumnInt(2);
    r.body_text = std::string(q.ColumnText(3));
    r.hash = std::string(q.ColumnText(4));
    try {
      r.body = Json::parse(r.body_text);
    } catch (const Json::exception& e) {
      return Status::Corruption("session '" + r.session + "' record " + std::to_string(r.seq) +
                                ": body is not JSON: " + e.what());
    }
    if (!fn(r)) break;
  }
  return Status::OK();
}

Status SqliteLogStore::Scan(std::string_view session, int64_t after_seq, int64_t limit,
                            const std::function<bool(const Record&)>& fn) {
  std::lock_guard lock(mu_);
  StmtScope scope(scan_);
  scan_.Bind(1, session).Bind(2, after_seq).Bind(3, limit > 0 ? limit : -1);
  return DeliverRows(scan_, session, fn);
}

Status SqliteLogStore::ScanEvents(std::string_view session, std::string_view type,
                                  std::string_view tool, int64_t after_seq, int64_t limit,
                                  const std::function<bool(const Record&)>& fn) {
  std::lock_guard lock(mu_);
  StmtScope scope(scan_events_);
  scan_events_.Bind(1, session)
      .Bind(2, after_seq)
      .Bind(3, type)
      .Bind(4, tool)
      .Bind(5, limit > 0 ? limit : -1);
  return DeliverRows(scan_events_, session, fn);
}

Result<VerifyReport> SqliteLogStore::Verify(std::string_view session) {
  std::lock_guard lock(mu_);
  VerifyReport report;
  report.session = std::string(session);
  auto stmt =
      db_.Prepare("SELECT seq, kind, ts, body, hash FROM events WHERE session = ? ORDER BY seq");
  if (!stmt.ok()) return stmt.status();
  SqliteStmt& q = *stmt;
  q.Bind(1, session);
  std::string prev = kGenesisHash;
  Record r;
  r.session = report.session;
  int64_t expected = 1;
  while (true) {
    auto row = q.StepRow();
    if (!row.ok()) return row.status();
    if (!*row) break;
    ++report.records;
    r.seq = q.ColumnInt(0);
    auto kind = RecordKindFromName(q.ColumnText(1));
    auto fail = [&](std::string reason) {
      report.first_break = ChainBreak{r.seq, std::move(reason)};
    };
    if (r.seq != expected) {
      fail("expected record " + std::to_string(expected) + ", found " + std::to_string(r.seq) +
           " (records missing)");
      break;
    }
    if (!kind) {
      fail("unknown record kind '" + std::string(q.ColumnText(1)) + "'");
      break;
    }
    r.kind = *kind;
    r.ts = q.ColumnInt(2);
    r.body_text = std::string(q.ColumnText(3));
    std::string stored(q.ColumnText(4));
    std::string computed = ChainHash(prev, r);
    if (computed != stored) {
      fail("hash mismatch: stored " + stored.substr(0, 12) + "..., computed " +
           computed.substr(0, 12) + "... (record changed, or an earlier one was)");
      break;
    }
    prev = std::move(stored);
    ++expected;
  }
  return report;
}

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
  std::string sql = "SELECT " SUMMARY_COLUMNS " FROM sessions s WHERE 1=1";
  if (!query.user.empty()) sql += " AND user = ?1";
  if (!query.agent.empty()) sql += " AND agent = ?2";
  if (!query.root.empty()) sql += " AND root = ?3";
  if (query.since) sql += " AND started_at >= ?4";
  if (query.until) sql += " AND started_at < ?5";
  if (query.ended) sql += " AND ended = ?6";
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
  while (true) {
    auto row = q.StepRow();
    if (!row.ok()) return row.status();
    if (!*row || !fn(ReadSummary(q))) break;
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

}  // namespace

Result<std::unique_ptr<LogStore>> OpenSqliteLogStore(const std::string& path,
                                                     const SqliteOptions& options) {
  auto db = SqliteDb::Open(path, options.read_only);
  if (!db.ok()) return db.status();
  auto store = std::make_unique<SqliteLogStore>(std::move(db).value());
  REINS_RETURN_IF_ERROR(store->Init(options).WithPrefix(path));
  return std::unique_ptr<LogStore>(std::move(store));
}

}  // namespace reins
