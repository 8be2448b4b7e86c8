// LogStore: the append-only, hash-chained session log.
//
// The store keeps records (record.h) and a few indexes derived from them
// (sessions by user, agent and day; spend per session, day and model). It
// never decides anything: the engine builds and seals records, the store
// makes them durable atomically and refuses anything that would fork a chain.
//
// Concurrency: Append is optimistic. The engine seals records against the
// head it knows; if another writer (another process sharing the database)
// appended to the same session first, Append returns Conflict without writing
// and the engine re-reads the tail, re-evaluates and retries.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/canonical_json.h"
#include "engine/clock.h"
#include "engine/record.h"
#include "engine/status.h"

namespace reins {

struct SessionSummary {
  std::string id;
  std::string user, agent, harness, model, parent, root;
  std::string day;  // UTC day of the first record
  TimeUs started_at = 0;
  TimeUs last_at = 0;
  int64_t last_seq = 0;
  bool ended = false;
  std::string owner;  // the token that created it (server sessions)
};

struct ApprovalSummary {
  std::string id, session, status;  // pending | approved | denied | expired
  int64_t event_seq = 0;
  std::string event_type, tool, reason, by, note;
  std::vector<std::string> policies;
  TimeUs requested_at = 0, expires_at = 0, resolved_at = 0;
};

struct SessionQuery {
  std::string user;   // empty: any
  std::string agent;  // empty: any
  std::string root;   // empty: any; otherwise sessions of that tree (root included)
  std::string owner;  // empty: any; otherwise sessions created by that token
  TimeUs since = 0;   // started at or after (0: no bound)
  TimeUs until = 0;   // started before (0: no bound)
  std::optional<bool> ended;
  std::string verdict;  // "deny" or "ask": only sessions with such a decision
  int64_t limit = 0;    // 0: no limit
  // Set: only sessions listed after this (started_at, id), to page through
  // a long listing (sessions are listed newest first, then by id).
  std::optional<std::pair<TimeUs, std::string>> after;
};

// What an audit shows of one session beside its summary.
struct SessionTotals {
  int64_t events = 0;  // event records
  int64_t denies = 0, asks = 0;
  double cost_usd = 0;              // own spend (children have their own)
  std::vector<std::string> models;  // models it spent on, costliest first
};

// Spend grouped for `reins audit cost`.
struct SpendQuery {
  // user, agent, model, day, or session (a session with its descendants,
  // under its root's id).
  std::string by = "model";
  std::string since_day, until_day;  // "YYYY-MM-DD", inclusive; "" : no bound
};

struct SpendRow {
  std::string key;  // the group (a user, a day, ...)
  std::string model;
  double cost_usd = 0;
  int64_t input_tokens = 0, output_tokens = 0, cache_read_tokens = 0, cache_creation_tokens = 0;
  int64_t calls = 0;  // priced model answers
};

struct ChainBreak {
  int64_t seq = 0;
  std::string reason;
};

struct VerifyReport {
  std::string session;
  int64_t records = 0;  // records checked
  std::optional<ChainBreak> first_break;
  bool ok() const { return !first_break; }
};

enum class Durability : uint8_t {
  kNormal,  // WAL + synchronous=NORMAL: survives a process crash
  kFull,    // WAL + synchronous=FULL: also survives an OS crash or power loss
};

class LogStore {
 public:
  virtual ~LogStore() = default;

  // Appends `records` (any number of sessions) in one atomic, durable write.
  // For each session they must continue its chain: consecutive seq starting
  // at the stored head + 1, each sealed over the previous hash. When another
  // writer got there first returns Conflict and writes nothing; other
  // failures (disk full, I/O) return an error and write nothing.
  virtual Status Append(const std::vector<const Record*>& records) = 0;

  // Convenience for callers holding the records by value.
  Status Append(const std::vector<Record>& records) {
    std::vector<const Record*> ptrs;
    ptrs.reserve(records.size());
    for (const Record& r : records) ptrs.push_back(&r);
    return Append(ptrs);
  }

  // Calls `fn` for each record of `session` with seq > after_seq, in seq
  // order, at most `limit` of them (0: all), until `fn` returns false.
  // `fn` must not call back into the store.
  virtual Status Scan(std::string_view session, int64_t after_seq, int64_t limit,
                      const std::function<bool(const Record&)>& fn) = 0;

  // Calls `fn` for the event records of `session` with seq > after_seq whose
  // event type is `type` and tool is `tool` (empty: any), oldest first, at
  // most `limit`, until `fn` returns false. Filters run in the store, so
  // records that do not match are never read.
  virtual Status ScanEvents(std::string_view session, std::string_view type, std::string_view tool,
                            int64_t after_seq, int64_t limit,
                            const std::function<bool(const Record&)>& fn) = 0;

  // Recomputes the session's hash chain from record 1 and reports the first
  // record that does not verify (a changed body, a gap, a reordering).
  virtual Result<VerifyReport> Verify(std::string_view session) = 0;

  virtual Result<std::optional<SessionSummary>> GetSession(std::string_view id) = 0;

  // Sessions matching `query`, most recently started first.
  virtual Status ListSessions(const SessionQuery& query,
                              const std::function<bool(const SessionSummary&)>& fn) = 0;

  // Counts and spend of one session, from the indexes (its events are
  // counted along the session's own index range, not the whole log).
  virtual Result<SessionTotals> GetSessionTotals(std::string_view session) = 0;

  // Spend per (group, model), groups in order, costliest model first.
  virtual Status ListSpend(const SpendQuery& query,
                           const std::function<bool(const SpendRow&)>& fn) = 0;

  // Total own spend (USD) of `user`'s sessions on the UTC `day` ("YYYY-MM-DD").
  virtual Result<double> UserSpend(std::string_view user, std::string_view day) = 0;

  // Approvals with `status` ("" for any), oldest first, at most `limit`.
  virtual Status ListApprovals(std::string_view status, int64_t limit,
                               const std::function<bool(const ApprovalSummary&)>& fn) = 0;
  virtual Result<std::optional<ApprovalSummary>> GetApproval(std::string_view id) = 0;

  // Snapshots of folded session state (SessionState JSON as of record
  // `seq`), kept so that loading a session reads only the tail of its log.
  virtual Status SaveSnapshot(std::string_view session, int64_t seq, std::string_view state) = 0;
  virtual Result<std::optional<std::pair<int64_t, std::string>>> LoadSnapshot(
      std::string_view session) = 0;

  // A user-scoped policy value (StateUpdate scope "user"), null when unset.
  // `policy` is the policy's state key ("LAYER:NAME").
  virtual Result<Json> UserValue(std::string_view user, std::string_view policy,
                                 std::string_view key) = 0;
};

struct SqliteOptions {
  Durability durability = Durability::kNormal;
  int busy_timeout_ms = 5000;  // how long to wait for another process's lock
  bool read_only = false;
  // Concurrent appends share one transaction (one commit, one sync) instead
  // of one each; every Append still returns only after its records commit.
  bool group_commit = true;
  // WAL checkpoints on a thread and connection of their own instead of inside
  // the commit that crosses the threshold (engine/sqlite_checkpointer.h): for
  // a long-running process with many writers (the server), where it keeps
  // checkpoints out of the tail latency. A short-lived process (a hook, an
  // eval) is better off without the extra thread and connection.
  bool background_checkpoints = false;
  // For a process that lives for one decision (a hook): SQLite's default is
  // that the last connection to close checkpoints the WAL (two fsyncs) and
  // deletes it, and the next process creates and syncs a new one. Short-lived
  // keeps the WAL across processes and checkpoints only when it reaches
  // `short_lived_wal_pages`, so that the recovery each new process runs over
  // it stays small. Durability is unchanged: commits are as the durability
  // setting says either way.
  bool short_lived = false;
  int short_lived_wal_pages = 128;
  // A throwaway log (a replay's): no journal and no syncs, so a commit only
  // hands its pages to the file. A crash loses it, which is all it is for.
  bool scratch = false;
  // For a long-running process (the server): opening also takes and releases
  // the write lock (waiting at most busy_timeout_ms) and reads the first page
  // of every table and the newest of the log, so that a log another process
  // keeps locked, or whose tables are damaged, fails at start with an error
  // naming the file rather than at the first append. (A page deeper in the
  // file is only read when a request needs it; `reins audit verify` reads
  // them all.)
  bool check_on_open = false;
};

// Opens (creating and migrating if needed) a SQLite log at `path`;
// ":memory:" for a private in-memory database.
Result<std::unique_ptr<LogStore>> OpenSqliteLogStore(const std::string& path,
                                                     const SqliteOptions& options = {});

}  // namespace reins
