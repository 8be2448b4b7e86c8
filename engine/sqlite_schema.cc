// The SQLite LogStore.
//
// On-disk format (schema version 5; PRAGMA user_version holds the version):
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
//   snapshots(session, seq, state)                              (schema 3)
//     The folded state of a session as of record `seq` (SessionState JSON),
//     so loading a session reads the snapshot and the records after it.
//   approvals(id, session, status, event_seq, event_type, tool, policies,
//             reason, requested_at, expires_at, resolved_at, by, note)
//     One row per approval, from approval records: pending, approved,
//     denied or expired; indexed by (status, requested_at).        (schema 3)
//   sessions.owner: the token that created the session.         (schema 3)
//   events_verdicts: a partial index of events on (session, type) holding
//     only deny and ask decisions, so that audits count and filter a
//     session's refusals without reading its log.                (schema 4)
//   sessions.events: how many event records the session holds, so that
//     listing sessions reads no log; sessions_started: sessions in listing
//     order, (started_at DESC, id).                               (schema 5)
//   user_state(user, policy, key, value)                       (schema 2)
//     Policy state scoped to a user rather than a session (StateUpdate
//     scope "user"), from state records; `value` is JSON.
//
// sessions, spend, user_state, snapshots and approvals are indexes: they can
// be rebuilt from events. The database runs in WAL mode; synchronous=NORMAL
// (default) or FULL.
#include "engine/sqlite_store.h"

namespace reins::internal {

const int kSchemaVersion = 5;

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
    // 2 -> 3: session owners, state snapshots, and an index of approvals.
    R"sql(
ALTER TABLE sessions ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE TABLE snapshots (
  session TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  state TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE approvals (
  id TEXT PRIMARY KEY,
  session TEXT NOT NULL,
  status TEXT NOT NULL,
  event_seq INTEGER NOT NULL,
  event_type TEXT NOT NULL DEFAULT '',
  tool TEXT NOT NULL DEFAULT '',
  policies TEXT NOT NULL DEFAULT '[]',
  reason TEXT NOT NULL DEFAULT '',
  requested_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  resolved_at INTEGER NOT NULL DEFAULT 0,
  by TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX approvals_status ON approvals(status, requested_at);
)sql",
    // 3 -> 4: the decisions an auditor looks for first. Queries repeat the
    // index's condition word for word, which is how SQLite picks it.
    R"sql(
CREATE INDEX IF NOT EXISTS events_verdicts ON events(session, type)
  WHERE kind = 'decision' AND type IN ('deny', 'ask');
)sql",
    // 4 -> 5: each session's event count, counted once here (reading the
    // whole log) and kept as records are appended; sessions in listing order.
    R"sql(
CREATE INDEX sessions_started ON sessions(started_at DESC, id);
ALTER TABLE sessions ADD COLUMN events INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET events =
  (SELECT COUNT(*) FROM events e WHERE e.session = sessions.id AND e.kind = 'event');
)sql",
};

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
      if (st.ok() && v + 1 == 3) st = BackfillApprovals();
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

Status SqliteLogStore::CheckOnOpen() {
  Status locked = db_.Exec("BEGIN IMMEDIATE; ROLLBACK;");
  if (locked.code() == Status::Code::kUnavailable) {
    return Status::Unavailable("the session log is locked by another process (waited " +
                               std::to_string(busy_timeout_ms_) +
                               " ms for its write lock; end that process's transaction or stop "
                               "it, then start again): " +
                               locked.message());
  }
  REINS_RETURN_IF_ERROR(locked);
  auto tables = db_.Prepare("SELECT name FROM sqlite_master WHERE type = 'table'");
  if (!tables.ok()) return tables.status();
  std::vector<std::string> names;
  while (true) {
    auto row = tables->StepRow();
    if (!row.ok()) return row.status();
    if (!*row) break;
    names.emplace_back(tables->ColumnText(0));
  }
  tables->Reset();
  // The root and first leaf of each table, and the newest records (the right
  // edge of the log): a few pages each, whatever the log's length.
  for (const std::string& name : names) {
    auto first = db_.QueryInt("SELECT count(*) FROM (SELECT 1 FROM \"" + name + "\" LIMIT 1)");
    if (!first.ok()) return first.status().WithPrefix("reading table " + name);
  }
  auto newest =
      db_.QueryInt("SELECT length(body) FROM events WHERE rowid = (SELECT max(rowid) FROM events)");
  if (!newest.ok()) return newest.status().WithPrefix("reading the newest records");
  return Status::OK();
}

// Schema 3 added the approvals index; fill it from the approval records
// already in the log, in the migration's transaction.
Status SqliteLogStore::BackfillApprovals() {
  for (auto [stmt, sql] : {std::pair{&insert_approval_, kInsertApprovalSql},
                           std::pair{&resolve_approval_, kResolveApprovalSql}}) {
    auto prepared = db_.Prepare(sql);
    if (!prepared.ok()) return prepared.status();
    *stmt = std::move(prepared).value();
  }
  auto q = db_.Prepare(
      "SELECT session, seq, ts, body FROM events WHERE kind = 'approval' ORDER BY rowid");
  if (!q.ok()) return q.status();
  while (true) {
    auto row = q->StepRow();
    if (!row.ok()) return row.status();
    if (!*row) return Status::OK();
    Record r;
    r.kind = RecordKind::kApproval;
    r.session = q->ColumnText(0);
    r.seq = q->ColumnInt(1);
    r.ts = q->ColumnInt(2);
    r.body = Json::parse(q->ColumnText(3), nullptr, false);
    if (!r.body.is_object()) {
      return Status::Corruption("record " + r.session + ":" + std::to_string(r.seq) +
                                " has a body that is not a JSON object");
    }
    REINS_RETURN_IF_ERROR(IndexApproval(r));
  }
}

}  // namespace reins::internal
