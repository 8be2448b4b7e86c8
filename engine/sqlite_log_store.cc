#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "engine/policy.h"
#include "engine/sqlite_store.h"

namespace reins {
namespace internal {

Status SqliteLogStore::Init(const SqliteOptions& options) {
  group_commit_ = options.group_commit;
  busy_timeout_ms_ = options.busy_timeout_ms;
  REINS_RETURN_IF_ERROR(
      db_.Exec("PRAGMA busy_timeout=" + std::to_string(options.busy_timeout_ms) + ";"));
  if (options.read_only) {
    auto version = db_.QueryInt("PRAGMA user_version;");
    if (!version.ok()) return version.status();
    schema_ = *version;
  } else if (options.scratch) {
    REINS_RETURN_IF_ERROR(
        // SQLite's temporary database ("") keeps more pages cached than a
        // file's 2 MB unless told: the cache then grows with the replay.
        db_.Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2000;"));
    REINS_RETURN_IF_ERROR(Migrate());
  } else {
    REINS_RETURN_IF_ERROR(db_.Exec("PRAGMA journal_mode=WAL;"));
    REINS_RETURN_IF_ERROR(db_.Exec(options.durability == Durability::kFull
                                       ? "PRAGMA synchronous=FULL;"
                                       : "PRAGMA synchronous=NORMAL;"));
    REINS_RETURN_IF_ERROR(Migrate());
    if (options.check_on_open) REINS_RETURN_IF_ERROR(CheckOnOpen());
    if (options.short_lived) {
      int on = 1;
      sqlite3_file_control(db_.handle(), "main", SQLITE_FCNTL_PERSIST_WAL, &on);
      sqlite3_db_config(db_.handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
      sqlite3_wal_autocheckpoint(db_.handle(), options.short_lived_wal_pages);
    }
    if (options.background_checkpoints && db_.path() != ":memory:" && !db_.path().empty()) {
      REINS_RETURN_IF_ERROR(checkpointer_.Start(db_.handle(), db_.path()));
    }
  }
  struct {
    SqliteStmt* stmt;
    std::string sql;
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
      {&count_events_, "UPDATE sessions SET events = events + ?2 WHERE id = ?1"},
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
      {&insert_approval_, kInsertApprovalSql},
      {&resolve_approval_, kResolveApprovalSql},
      {&save_snapshot_,
       "INSERT INTO snapshots(session, seq, state) VALUES(?1, ?2, ?3) ON CONFLICT(session) DO "
       "UPDATE SET seq = excluded.seq, state = excluded.state"},
      {&load_snapshot_, "SELECT seq, state FROM snapshots WHERE session = ?"},
      {&get_approval_, std::string("SELECT ") + kApprovalColumns + " FROM approvals WHERE id = ?"},
      {&set_owner_, "UPDATE sessions SET owner = ?2 WHERE id = ?1 AND owner = ''"},
      {&scan_events_,
       "SELECT seq, kind, ts, body, hash FROM events WHERE session = ?1 AND seq > ?2 AND kind = "
       "'event' AND (?3 = '' OR type = ?3) AND (?4 = '' OR json_extract(body, '$.tool') = ?4) "
       "ORDER BY seq LIMIT ?5"},
      {&get_user_value_, "SELECT value FROM user_state WHERE user = ? AND policy = ? AND key = ?"},
      {&put_user_value_,
       "INSERT INTO user_state(user, policy, key, value) VALUES(?1, ?2, ?3, ?4) "
       "ON CONFLICT(user, policy, key) DO UPDATE SET value = excluded.value"},
      {&delete_user_value_, "DELETE FROM user_state WHERE user = ? AND policy = ? AND key = ?"},
      {&get_session_, std::string("SELECT ") + kSummaryColumns + " FROM sessions s WHERE id = ?"},
      // Before schema 5 (a read-only store of an older database) the count
      // reads the session's log.
      {&totals_events_, schema_ >= 5
                            ? "SELECT events FROM sessions WHERE id = ?1"
                            : "SELECT COUNT(*) FROM events WHERE session = ?1 AND kind = 'event'"},
      {&totals_verdicts_,
       "SELECT type, COUNT(*) FROM events WHERE session = ?1 AND kind = 'decision' AND type IN "
       "('deny', 'ask') GROUP BY type"},
      {&totals_spend_,
       "SELECT model, SUM(cost_usd) AS c FROM spend WHERE session = ?1 GROUP BY model "
       "ORDER BY c DESC, model"},
  };
  for (auto& s : statements) {
    if (options.read_only && s.sql.rfind("SELECT", 0) != 0) continue;
    *s.stmt = SqliteStmt::Deferred(db_.handle(), std::move(s.sql));
  }
  return Status::OK();
}

Status SqliteLogStore::BeginLocked(std::unique_lock<std::mutex>& lock) {
  sqlite3* h = db_.handle();
  // A transaction an earlier failure left open (a ROLLBACK that failed too)
  // would make every BEGIN fail: the writer must recover once space returns.
  if (!sqlite3_get_autocommit(h)) (void)Exec(rollback_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms_);
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    // SQLite's busy handler would sleep inside the call with mu_ held, and
    // every reader of this store (the server's GETs) with it: each attempt
    // here does not wait, and mu_ is free between attempts. Readers keep the
    // connection's busy timeout for their own rare waits.
    sqlite3_busy_timeout(h, 0);
    Status st = Exec(begin_);
    sqlite3_busy_timeout(h, busy_timeout_ms_);
    if (st.code() != Status::Code::kUnavailable) return st;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable("waited " + std::to_string(busy_timeout_ms_) +
                                 " ms for the write lock of the session log: " + st.message());
    }
    lock.unlock();
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
    lock.lock();
  }
}

Status SqliteLogStore::InsertLocked(const std::vector<const Record*>& records) {
  int64_t events = 0;
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
    // The session's event count, updated once per run of its records.
    if (r.kind == RecordKind::kEvent) ++events;
    bool run_ends = i + 1 == records.size() || records[i + 1]->session != r.session;
    if (run_ends && events > 0) {
      StmtScope scope(count_events_);
      count_events_.Bind(1, r.session).Bind(2, events);
      REINS_RETURN_IF_ERROR(count_events_.StepDone());
      events = 0;
    }
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
    std::unique_lock lock(mu_);
    REINS_RETURN_IF_ERROR(BeginLocked(lock));
    Status st = InsertLocked(records);
    if (st.ok()) st = Exec(commit_);
    if (!st.ok()) (void)Exec(rollback_);
    return st;
  }
  // Group commit: appends queue up and one writer thread commits everything
  // queued in one transaction, each append in its own savepoint so that one
  // conflict does not fail the others. The callers only sleep until their
  // batch is committed: no lead passes from caller to caller. When nothing
  // is being written and appends are not coming in batches (the last batch
  // was of one), the caller commits its own append at once: waking the
  // writer thread and being woken by it would cost two thread switches for
  // a batch of one. Under load the writer keeps the batches whole.
  Writer w(&records);
  std::unique_lock q(queue_mu_);
  if (!writing_ && writers_.empty() && last_batch_ <= 1) {
    writing_ = true;
    last_batch_ = 1;
    q.unlock();
    Status commit = CommitBatch({&w});
    q.lock();
    writing_ = false;
    if (!writers_.empty()) writer_cv_.notify_one();
    return commit.ok() ? w.status : commit;
  }
  if (!writer_thread_.joinable()) writer_thread_ = std::thread([this] { WriteQueued(); });
  writers_.push_back(&w);
  if (writers_.size() == 1) writer_cv_.notify_one();
  w.cv.wait(q, [&] { return w.done; });
  return w.status;
}

Status SqliteLogStore::CommitBatch(const std::vector<Writer*>& batch) {
  std::unique_lock lock(mu_);
  // Appends rarely fail (a conflict with another process), so the batch
  // first goes in without a savepoint per append; only when one fails is
  // it rolled back and replayed with savepoints that isolate the failure.
  bool replay = false;
  Status commit = BeginLocked(lock);
  if (commit.ok()) commit = CommitLocked(batch, /*isolate=*/false, &replay);
  if (replay) {
    commit = BeginLocked(lock);
    if (commit.ok()) commit = CommitLocked(batch, /*isolate=*/true, &replay);
  }
  return commit;
}

void SqliteLogStore::WriteQueued() {
  std::vector<Writer*> batch;
  std::unique_lock q(queue_mu_);
  while (true) {
    writer_cv_.wait(
        q, [&] { return (stop_ && writers_.empty()) || (!writers_.empty() && !writing_); });
    if (writers_.empty()) return;  // stopping, nothing left to write
    batch.clear();
    while (!writers_.empty() && batch.size() < kMaxGroup) {
      batch.push_back(writers_.front());
      writers_.pop_front();
    }
    writing_ = true;
    last_batch_ = batch.size();
    q.unlock();
    Status commit = CommitBatch(batch);
    q.lock();
    writing_ = false;
    for (Writer* x : batch) {
      if (!commit.ok()) x->status = commit;
      x->done = true;
      x->cv.notify_one();
    }
  }
}

namespace {

// A failure of the file rather than of one append: every append of the
// batch would meet it again.
bool StorageFailure(const Status& st) {
  switch (st.code()) {
    case Status::Code::kStorageFull:
    case Status::Code::kUnavailable:
    case Status::Code::kIOError:
    case Status::Code::kCorruption:
      return true;
    default:
      return false;
  }
}

}  // namespace

Status SqliteLogStore::CommitLocked(const std::vector<Writer*>& batch, bool isolate, bool* replay) {
  for (Writer* x : batch) {
    if (!isolate) {
      x->status = InsertLocked(*x->records);
      if (!x->status.ok()) {
        (void)Exec(rollback_);
        *replay = !StorageFailure(x->status);
        return x->status;
      }
      continue;
    }
    x->status = Exec(savepoint_);
    if (x->status.ok()) x->status = InsertLocked(*x->records);
    if (x->status.ok()) {
      x->status = Exec(release_);
    } else {
      (void)Exec(rollback_to_);
      (void)Exec(release_);
    }
    // After a full disk or an I/O error SQLite may roll back the whole
    // transaction: then nothing of the batch is written, and the next
    // SAVEPOINT would open a transaction of its own that commits on RELEASE.
    if (sqlite3_get_autocommit(db_.handle())) {
      return x->status.ok() ? Status::IOError("the transaction was rolled back") : x->status;
    }
  }
  Status commit = Exec(commit_);
  if (!commit.ok()) (void)Exec(rollback_);
  return commit;
}

SqliteLogStore::~SqliteLogStore() {
  {
    std::lock_guard q(queue_mu_);
    stop_ = true;
  }
  writer_cv_.notify_one();
  if (writer_thread_.joinable()) writer_thread_.join();
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

}  // namespace internal

Result<std::unique_ptr<LogStore>> OpenSqliteLogStore(const std::string& path,
                                                     const SqliteOptions& options) {
  auto db = SqliteDb::Open(path, options.read_only);
  if (!db.ok()) return db.status();
  auto store = std::make_unique<internal::SqliteLogStore>(std::move(db).value());
  REINS_RETURN_IF_ERROR(store->Init(options).WithPrefix(path));
  return std::unique_ptr<LogStore>(std::move(store));
}

}  // namespace reins
