// The SQLite LogStore's implementation, shared by its source files:
// sqlite_schema.cc (the on-disk format, migrations and the checks on
// opening), sqlite_log_store.cc (appends, scans, verification),
// sqlite_store_index.cc (indexes kept from the records) and
// sqlite_store_queries.cc (queries over the indexes).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/json_fields.h"
#include "engine/log_store.h"
#include "engine/sqlite_checkpointer.h"
#include "engine/sqlite_db.h"

namespace reins::internal {

extern const int kSchemaVersion;
extern const char* const kMigrations[];

// A session's summary columns; its head (last seq and time) comes from the
// events table's (session, seq) index rather than from a column updated per
// append.
inline constexpr const char* kSummaryColumns =
    "s.id, s.user, s.agent, s.harness, s.model, s.parent, s.root, s.day, s.started_at, "
    "(SELECT e.ts FROM events e WHERE e.session = s.id ORDER BY e.seq DESC LIMIT 1), "
    "(SELECT e.seq FROM events e WHERE e.session = s.id ORDER BY e.seq DESC LIMIT 1), s.ended, "
    "s.owner";

SessionSummary ReadSummary(SqliteStmt& q);

inline constexpr const char* kApprovalColumns =
    "id, session, status, event_seq, event_type, tool, policies, reason, requested_at, "
    "expires_at, resolved_at, by, note";
ApprovalSummary ReadApproval(SqliteStmt& q);
inline constexpr const char* kInsertApprovalSql =
    "INSERT OR REPLACE INTO approvals(id, session, status, event_seq, event_type, tool, "
    "policies, reason, requested_at, expires_at) VALUES(?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, "
    "?8, ?9)";
inline constexpr const char* kResolveApprovalSql =
    "UPDATE approvals SET status = ?2, resolved_at = ?3, by = ?4, note = ?5 WHERE id = ?1";

class SqliteLogStore : public LogStore {
 public:
  explicit SqliteLogStore(SqliteDb db) : db_(std::move(db)) {}
  ~SqliteLogStore() override;

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
  Result<SessionTotals> GetSessionTotals(std::string_view session) override;
  Status ListSpend(const SpendQuery& query,
                   const std::function<bool(const SpendRow&)>& fn) override;
  Result<double> UserSpend(std::string_view user, std::string_view day) override;
  Result<Json> UserValue(std::string_view user, std::string_view policy,
                         std::string_view key) override;
  Status ListApprovals(std::string_view status, int64_t limit,
                       const std::function<bool(const ApprovalSummary&)>& fn) override;
  Result<std::optional<ApprovalSummary>> GetApproval(std::string_view id) override;
  Status SaveSnapshot(std::string_view session, int64_t seq, std::string_view state) override;
  Result<std::optional<std::pair<int64_t, std::string>>> LoadSnapshot(
      std::string_view session) override;

 private:
  Status Migrate();
  Status CheckOnOpen();
  // BEGIN IMMEDIATE with mu_ held by `lock`, waiting at most busy_timeout_ms_
  // for another process's write lock with mu_ released between attempts.
  Status BeginLocked(std::unique_lock<std::mutex>& lock);
  Status InsertLocked(const std::vector<const Record*>& records);
  Status DeliverRows(SqliteStmt& q, std::string_view session,
                     const std::function<bool(const Record&)>& fn);
  Status Exec(SqliteStmt& stmt);
  Status IndexRecord(const Record& r);
  Status IndexUserUpdates(const Record& r);
  Status IndexApproval(const Record& r);
  Status BackfillApprovals();

  // The group-commit writer thread's loop (started by the first Append).
  void WriteQueued();

  // An append waiting for the writer thread.
  struct Writer {
    explicit Writer(const std::vector<const Record*>* r) : records(r) {}
    const std::vector<const Record*>* records;
    Status status;
    bool done = false;
    std::condition_variable cv;
  };
  // Writes `batch` in the transaction BeginLocked began, and commits it.
  // With `isolate` each append goes in a savepoint of its own; without, the
  // first failing append rolls back the whole transaction and, unless the
  // failure is the file's (full, locked, I/O, damaged) and would meet every
  // append, sets *replay. Each Writer's status says how its append went.
  Status CommitLocked(const std::vector<Writer*>& batch, bool isolate, bool* replay);
  // Takes the connection and commits `batch` (CommitLocked, isolating the
  // appends only when one fails).
  Status CommitBatch(const std::vector<Writer*>& batch);
  static constexpr size_t kMaxGroup = 512;
  bool group_commit_ = false;
  int busy_timeout_ms_ = 5000;
  std::mutex queue_mu_;  // guards writers_, writing_, stop_ and each Writer's status and done
  std::condition_variable writer_cv_;
  std::deque<Writer*> writers_;
  bool writing_ = false;   // a transaction is being committed (by the writer or a caller)
  size_t last_batch_ = 0;  // appends in the last transaction begun
  // The database's schema: kSchemaVersion once migrated; a read-only store
  // reads an older one as it is.
  int64_t schema_ = kSchemaVersion;
  bool stop_ = false;
  std::thread writer_thread_;

  WalCheckpointer checkpointer_;  // outlives db_, whose WAL hook points at it
  std::mutex mu_;                 // the connection
  SqliteDb db_;
  SqliteStmt savepoint_, release_, rollback_to_, begin_, commit_, rollback_, insert_event_,
      prev_exists_, insert_session_, update_session_start_, end_session_, count_events_,
      upsert_spend_, scan_, user_spend_, get_session_, user_of_session_, get_user_value_,
      put_user_value_, delete_user_value_, scan_events_, insert_approval_, resolve_approval_,
      save_snapshot_, load_snapshot_, get_approval_, set_owner_, totals_events_, totals_verdicts_,
      totals_spend_;
};

}  // namespace reins::internal
