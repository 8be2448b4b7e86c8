// Whole-log reads of a SQLite session log for auditing: verifying every hash
// chain, and streaming records in the order they were committed.
//
// LogStore's interface is per session and its connection is one; these read
// the file (the format in sqlite_schema.cc) on read-only connections of their
// own, one per thread, so that `reins audit verify --all` can hash two
// sessions at once and `reins audit export --all` can walk the table in
// storage order. Neither ever loads a session or the log into memory: rows
// stream from prepared statements, and what is kept is bounded (see each
// function). Both read while other processes append: each statement sees
// the log as of its start, so a session growing meanwhile is checked or
// exported up to some record.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "engine/clock.h"
#include "engine/log_store.h"
#include "engine/status.h"

namespace reins {

// Verifies one session's chain (as LogStore::Verify does). A session that
// the sessions index lists but that has no record is reported broken at
// seq 1; NotFound when the log has never heard of it.
Result<VerifyReport> VerifySqliteSession(const std::string& path, std::string_view session);

// Verifies the chain of every session in the log, on `threads` connections
// and threads, and calls `fn` with each session's report in session id order
// (from the calling thread or a worker, never two at once). A session that
// the sessions index lists but that has no record is reported broken at
// seq 1: its records were deleted. Work goes out a session at a time; at
// most a few hundred sessions' reports wait for an earlier session to
// finish, so memory stays flat however large the log. Errors reading the
// file stop the run and are returned; a chain that does not verify is a
// report, not an error.
Status VerifySqliteLog(const std::string& path, int threads,
                       const std::function<void(const VerifyReport&)>& fn);

// One stored record, as the events table holds it.
struct StoredRecord {
  std::string session;
  int64_t seq = 0;
  RecordKind kind = RecordKind::kEvent;
  std::string type;  // event records: event type; decisions: verdict; approvals: op
  TimeUs ts = 0;
  std::string body;  // canonical JSON, exactly the bytes hashed
  std::string hash;
};

struct RecordScan {
  std::string session;  // empty: every session
  TimeUs since = 0;     // only records with ts >= since (0: all)
};

// Calls `fn` for each record matching `scan` until it returns false: one
// session's in seq order, or every session's in the order they were
// committed (storage order: the order the engine wrote them, which is what
// a replay needs when sessions share state, such as a user's daily spend).
// Nothing is buffered. A record of unknown kind is Corruption.
Status ScanSqliteLog(const std::string& path, const RecordScan& scan,
                     const std::function<bool(const StoredRecord&)>& fn);

}  // namespace reins
