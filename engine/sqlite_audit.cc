#include "engine/sqlite_audit.h"

#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/sqlite_db.h"

namespace reins {

namespace {

Result<SqliteDb> OpenLog(const std::string& path) {
  auto db = SqliteDb::Open(path, /*read_only=*/true);
  if (!db.ok()) return db.status();
  auto tables = db->QueryInt(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('events', "
      "'sessions')");
  if (!tables.ok()) return tables.status().WithPrefix(path);
  if (*tables != 2) {
    return Status::FailedPrecondition(path + " is not a reins session log (no events table)");
  }
  return db;
}

// Checks one session's records as they stream past, in seq order. After the
// first break the rest of the session is not checked: every later hash
// depends on the broken one.
class ChainChecker {
 public:
  explicit ChainChecker(std::string session) : hasher_(session) {
    report_.session = std::move(session);
  }

  const std::string& session() const { return report_.session; }

  void Check(int64_t seq, std::string_view kind, TimeUs ts, std::string_view body,
             std::string_view hash) {
    if (report_.first_break) return;
    ++report_.records;
    auto fail = [&](std::string reason) {
      report_.first_break = ChainBreak{seq, std::move(reason)};
    };
    if (seq != expected_) {
      return fail("expected record " + std::to_string(expected_) + ", found " +
                  std::to_string(seq) + " (records missing)");
    }
    auto k = RecordKindFromName(kind);
    if (!k) return fail("unknown record kind '" + std::string(kind) + "'");
    std::string computed = hasher_.Hash(prev_, seq, *k, ts, body);
    if (computed != hash) {
      return fail(
          "hash mismatch: the record was changed, or an earlier one rewritten with its "
          "hash");
    }
    prev_.assign(hash);
    ++expected_;
  }

  VerifyReport Finish() && { return std::move(report_); }

 private:
  VerifyReport report_;
  ChainHasher hasher_;
  std::string prev_ = kGenesisHash;
  int64_t expected_ = 1;
};

// The report on a session the sessions index lists but that has no record.
VerifyReport Deleted(std::string session) {
  VerifyReport gone;
  gone.session = std::move(session);
  gone.first_break =
      ChainBreak{1, "no records, though the sessions index lists this session (records deleted)"};
  return gone;
}

// A run of sessions with ids in [lo, hi); an absent bound is open. `lo`,
// when present, is a session the sessions index lists.
struct WorkItem {
  int64_t index = 0;
  std::optional<std::string> lo, hi;
};

// verify --all: workers take key ranges of the sessions index in order and
// hand back their reports, which go out in that order.
class LogVerifier {
 public:
  LogVerifier(std::string path, const std::function<void(const VerifyReport&)>& fn)
      : path_(std::move(path)), fn_(fn) {}

  Status Run(int threads) {
    auto listing = OpenLog(path_);
    if (!listing.ok()) return listing.status();
    listing_db_.emplace(std::move(listing).value());
    auto cursor = listing_db_->Prepare("SELECT id FROM sessions ORDER BY id");
    if (!cursor.ok()) return cursor.status();
    cursor_ = std::move(cursor).value();
    std::vector<std::thread> workers;
    for (int i = 1; i < threads; ++i) workers.emplace_back([this] { Work(); });
    Work();
    for (std::thread& t : workers) t.join();
    return error_;
  }

 private:
  // Reports of up to this many ranges may wait for an earlier one.
  static constexpr int64_t kWindow = 256;

  void Work() {
    auto db = OpenLog(path_);
    if (!db.ok()) return Fail(db.status());
    // One statement per shape of range (which bounds it has), each compiled
    // on first use. Bounds are separate statements rather than one with
    // "?1 IS NULL OR ..." so that every range is an index range.
    std::optional<SqliteStmt> stmts[4];
    const char* const kWhere[4] = {"", " WHERE session < ?2", " WHERE session >= ?1",
                                   " WHERE session >= ?1 AND session < ?2"};
    while (auto item = Take()) {
      int shape = (item->lo ? 2 : 0) | (item->hi ? 1 : 0);
      if (!stmts[shape]) {
        auto q = db->Prepare(std::string("SELECT session, seq, kind, ts, body, hash FROM events") +
                             kWhere[shape] + " ORDER BY session, seq");
        if (!q.ok()) return Fail(q.status());
        stmts[shape].emplace(std::move(q).value());
      }
      std::vector<VerifyReport> reports;
      Status st = VerifyRange(*stmts[shape], *item, &reports);
      if (!st.ok()) return Fail(st);
      Deliver(item->index, std::move(reports));
    }
  }

  Status VerifyRange(SqliteStmt& q, const WorkItem& item, std::vector<VerifyReport>* reports) {
    StmtScope scope(q);
    if (item.lo) q.Bind(1, *item.lo);
    if (item.hi) q.Bind(2, *item.hi);
    std::optional<ChainChecker> chain;
    while (true) {
      auto row = q.StepRow();
      if (!row.ok()) return row.status().WithPrefix(path_);
      if (!*row) break;
      std::string_view session = q.ColumnText(0);
      if (!chain || chain->session() != session) {
        if (chain) reports->push_back(std::move(*chain).Finish());
        chain.emplace(std::string(session));
      }
      chain->Check(q.ColumnInt(1), q.ColumnText(2), q.ColumnInt(3), q.ColumnText(4),
                   q.ColumnText(5));
    }
    if (chain) reports->push_back(std::move(*chain).Finish());
    // The range starts at a session the index lists: it must have records.
    if (item.lo && (reports->empty() || reports->front().session != *item.lo)) {
      reports->insert(reports->begin(), Deleted(*item.lo));
    }
    return Status::OK();
  }

  std::optional<WorkItem> Take() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !error_.ok() || next_item_ - next_emit_ < kWindow; });
    if (!error_.ok() || listed_all_) return std::nullopt;
    WorkItem item;
    item.index = next_item_++;
    item.lo = boundary_;
    auto row = cursor_.StepRow();
    if (!row.ok()) {
      error_ = row.status().WithPrefix(path_);
      cv_.notify_all();
      return std::nullopt;
    }
    if (*row) {
      boundary_ = std::string(cursor_.ColumnText(0));
      item.hi = boundary_;
    } else {
      listed_all_ = true;
      cursor_.Reset();  // ends the listing's read transaction
    }
    return item;
  }

  void Deliver(int64_t index, std::vector<VerifyReport> reports) {
    std::lock_guard lock(mu_);
    done_[index] = std::move(reports);
    for (auto it = done_.find(next_emit_); it != done_.end(); it = done_.find(next_emit_)) {
      for (const VerifyReport& r : it->second) fn_(r);
      done_.erase(it);
      ++next_emit_;
    }
    cv_.notify_all();
  }

  void Fail(const Status& st) {
    std::lock_guard lock(mu_);
    if (error_.ok()) error_ = st;
    cv_.notify_all();
  }

  std::string path_;
  const std::function<void(const VerifyReport&)>& fn_;
  std::optional<SqliteDb> listing_db_;

  std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  SqliteStmt cursor_;                    // the sessions index, in id order
  std::optional<std::string> boundary_;  // lower bound of the next range
  bool listed_all_ = false;              // the last range has been handed out
  int64_t next_item_ = 0, next_emit_ = 0;
  std::map<int64_t, std::vector<VerifyReport>> done_;  // finished, waiting for earlier ranges
  Status error_;
};

}  // namespace

Result<VerifyReport> VerifySqliteSession(const std::string& path, std::string_view session) {
  auto db = OpenLog(path);
  if (!db.ok()) return db.status();
  auto q =
      db->Prepare("SELECT seq, kind, ts, body, hash FROM events WHERE session = ? ORDER BY seq");
  if (!q.ok()) return q.status();
  q->Bind(1, session);
  ChainChecker chain{std::string(session)};
  bool any = false;
  while (true) {
    auto row = q->StepRow();
    if (!row.ok()) return row.status().WithPrefix(path);
    if (!*row) break;
    any = true;
    chain.Check(q->ColumnInt(0), q->ColumnText(1), q->ColumnInt(2), q->ColumnText(3),
                q->ColumnText(4));
  }
  if (any) return std::move(chain).Finish();
  auto listed = db->Prepare("SELECT 1 FROM sessions WHERE id = ?");
  if (!listed.ok()) return listed.status();
  auto row = listed->Bind(1, session).StepRow();
  if (!row.ok()) return row.status().WithPrefix(path);
  if (*row) return Deleted(std::string(session));
  return Status::NotFound("no session '" + std::string(session) + "' in " + path);
}

Status VerifySqliteLog(const std::string& path, int threads,
                       const std::function<void(const VerifyReport&)>& fn) {
  LogVerifier verifier(path, fn);
  return verifier.Run(std::max(1, threads));
}

Status ScanSqliteLog(const std::string& path, const RecordScan& scan,
                     const std::function<bool(const StoredRecord&)>& fn) {
  auto db = OpenLog(path);
  if (!db.ok()) return db.status();
  // Storage order is rowid order: rowids only grow, as the table refuses
  // deletes, so it is the order the records were committed in.
  auto q = db->Prepare(
      scan.session.empty()
          ? "SELECT session, seq, kind, type, ts, body, hash FROM events WHERE ts >= ?2 ORDER BY "
            "rowid"
          : "SELECT session, seq, kind, type, ts, body, hash FROM events WHERE session = ?1 AND "
            "ts >= ?2 ORDER BY seq");
  if (!q.ok()) return q.status();
  if (!scan.session.empty()) q->Bind(1, scan.session);
  q->Bind(2, scan.since > 0 ? scan.since : std::numeric_limits<int64_t>::min());
  StoredRecord r;
  while (true) {
    auto row = q->StepRow();
    if (!row.ok()) return row.status().WithPrefix(path);
    if (!*row) return Status::OK();
    r.session.assign(q->ColumnText(0));
    r.seq = q->ColumnInt(1);
    auto kind = RecordKindFromName(q->ColumnText(2));
    if (!kind) {
      return Status::Corruption(path + ": session '" + r.session + "' record " +
                                std::to_string(r.seq) + ": unknown kind '" +
                                std::string(q->ColumnText(2)) + "'");
    }
    r.kind = *kind;
    r.type.assign(q->ColumnText(3));
    r.ts = q->ColumnInt(4);
    r.body.assign(q->ColumnText(5));
    r.hash.assign(q->ColumnText(6));
    if (!fn(r)) return Status::OK();
  }
}

}  // namespace reins
