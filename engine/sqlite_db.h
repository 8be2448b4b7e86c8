// Thin RAII wrappers over the SQLite C API that report errors as Status.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace reins {

class SqliteStmt {
 public:
  SqliteStmt() = default;
  SqliteStmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  // A statement compiled on its first use: a short-lived process (a hook)
  // pays only for the statements it runs. A statement that fails to compile
  // reports the error from its first step.
  static SqliteStmt Deferred(sqlite3* db, std::string sql);
  SqliteStmt(SqliteStmt&& other) noexcept;
  SqliteStmt& operator=(SqliteStmt&& other) noexcept;
  ~SqliteStmt();

  // Resets the statement and clears its bindings, ready for reuse.
  void Reset();

  // Parameters are 1-based. Text is copied (SQLITE_TRANSIENT).
  SqliteStmt& Bind(int index, std::string_view text);
  SqliteStmt& Bind(int index, const std::string& text) {
    return Bind(index, std::string_view(text));
  }
  SqliteStmt& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  SqliteStmt& Bind(int index, int64_t value);
  SqliteStmt& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  SqliteStmt& Bind(int index, double value);

  // Steps a statement that returns no rows. A UNIQUE or PRIMARY KEY clash is
  // AlreadyExists; a full disk, a lock timeout or I/O failure is IOError.
  Status StepDone();
  // Steps once: true when a row is available, false when done.
  Result<bool> StepRow();

  std::string_view ColumnText(int index) const;  // valid until the next step/reset
  int64_t ColumnInt(int index) const;
  double ColumnDouble(int index) const;

 private:
  bool Ready();  // compiles a deferred statement; false when that failed

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string deferred_sql_;  // not compiled yet
  Status error_;              // why compiling failed
};

// Resets a statement when the scope ends. A statement left mid-iteration
// keeps its read transaction open, and with it a stale snapshot of the
// database that hides other connections' writes: reset after every use.
class StmtScope {
 public:
  explicit StmtScope(SqliteStmt& stmt) : stmt_(stmt) {}
  ~StmtScope() { stmt_.Reset(); }
  StmtScope(const StmtScope&) = delete;
  StmtScope& operator=(const StmtScope&) = delete;

 private:
  SqliteStmt& stmt_;
};

class SqliteDb {
 public:
  // Opens or creates the database at `path` (":memory:" for a private one).
  static Result<SqliteDb> Open(const std::string& path, bool read_only);

  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  ~SqliteDb();

  Status Exec(const std::string& sql);
  Result<SqliteStmt> Prepare(const std::string& sql);
  Result<int64_t> QueryInt(const std::string& sql);  // first column of the first row
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

// Maps a SQLite result code (with the connection's message) to a Status.
Status SqliteError(sqlite3* db, int rc, std::string_view context);

}  // namespace reins
