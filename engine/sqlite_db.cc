#include "engine/sqlite_db.h"

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace reins {

namespace {

// Why a write to `file` or its WAL may have failed when SQLite kept no errno
// (it does not for every failing write): a file at the size limit of the
// process (ulimit -f; SIGXFSZ is ignored by `reins serve`), or a disk with
// no room left. Empty when neither is the case.
std::string NoRoom(const std::string& file) {
  constexpr off_t kMargin = 64 * 1024;  // a commit's frames, roughly
  rlimit limit{};
  if (getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    for (const std::string& f : {file, file + "-wal"}) {
      struct stat st {};
      if (stat(f.c_str(), &st) == 0 && st.st_size + kMargin >= static_cast<off_t>(limit.rlim_cur)) {
        return "storage full: " + f + " reached the file size limit of " +
               std::to_string(limit.rlim_cur) + " bytes (ulimit -f)";
      }
    }
  }
  std::string dir = file.substr(0, file.find_last_of('/') + 1);
  struct statvfs vfs {};
  if (statvfs(dir.empty() ? "." : dir.c_str(), &vfs) == 0 &&
      static_cast<off_t>(vfs.f_bavail * vfs.f_frsize) < kMargin) {
    return "disk full: no space left for " + file;
  }
  return "";
}

}  // namespace

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  std::string msg = std::string(context) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  // The file the error is about: an operator reading "disk full" or
  // "malformed" in a log or an HTTP answer must know which file to look at.
  const char* name = db ? sqlite3_db_filename(db, "main") : nullptr;
  std::string file = name && *name ? name : "the database";
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return Status::AlreadyExists(msg);
      }
      return Status::InvalidArgument(msg);
    case SQLITE_FULL:
      return Status::StorageFull(msg + " (disk full: no space left for " + file + ")");
    case SQLITE_IOERR: {
      // SQLite reports a write that found no room as SQLITE_FULL only for
      // ENOSPC; a quota or a file size limit (ulimit -f) comes as an I/O
      // error with the system's errno.
      int sys = db ? sqlite3_system_errno(db) : 0;
      if (sys == ENOSPC || sys == EDQUOT) {
        return Status::StorageFull(msg + " (disk full: no space left for " + file + ")");
      }
      if (sys == EFBIG) {
        return Status::StorageFull(msg + " (storage full: " + file +
                                   " reached the file size limit (ulimit -f))");
      }
      if (name && *name) {
        if (std::string why = NoRoom(file); !why.empty()) {
          return Status::StorageFull(msg + " (" + why + ")");
        }
      }
      return Status::IOError(msg + (sys ? std::string(" (") + std::strerror(sys) + ")" : ""));
    }
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(msg + " (" + file + " is locked by another process)");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(msg + " (" + file +
                                " is damaged or not a reins session log; it was left as it is)");
    case SQLITE_READONLY:
      return Status::FailedPrecondition(msg);
    default:
      return Status::IOError(msg);
  }
}

SqliteStmt::SqliteStmt(SqliteStmt&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      deferred_sql_(std::move(other.deferred_sql_)),
      error_(std::move(other.error_)) {}

SqliteStmt& SqliteStmt::operator=(SqliteStmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    deferred_sql_ = std::move(other.deferred_sql_);
    error_ = std::move(other.error_);
  }
  return *this;
}

SqliteStmt::~SqliteStmt() { sqlite3_finalize(stmt_); }

SqliteStmt SqliteStmt::Deferred(sqlite3* db, std::string sql) {
  SqliteStmt s(db, nullptr);
  s.deferred_sql_ = std::move(sql);
  return s;
}

bool SqliteStmt::Ready() {
  if (stmt_) return true;
  if (deferred_sql_.empty() || !error_.ok()) return false;
  int rc = sqlite3_prepare_v3(db_, deferred_sql_.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt_,
                              nullptr);
  if (rc != SQLITE_OK) {
    error_ = SqliteError(db_, rc, "preparing: " + deferred_sql_);
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    return false;
  }
  return true;
}

void SqliteStmt::Reset() {
  if (!stmt_) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

SqliteStmt& SqliteStmt::Bind(int index, std::string_view text) {
  if (Ready()) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  return *this;
}

SqliteStmt& SqliteStmt::Bind(int index, int64_t value) {
  if (Ready()) sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

SqliteStmt& SqliteStmt::Bind(int index, double value) {
  if (Ready()) sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Status SqliteStmt::StepDone() {
  if (!Ready()) return error_.ok() ? Status::Internal("statement not prepared") : error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::OK();
  Status st = SqliteError(db_, sqlite3_extended_errcode(db_), sqlite3_sql(stmt_));
  sqlite3_reset(stmt_);
  return st;
}

Result<bool> SqliteStmt::StepRow() {
  if (!Ready()) return error_.ok() ? Status::Internal("statement not prepared") : error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status st = SqliteError(db_, sqlite3_extended_errcode(db_), sqlite3_sql(stmt_));
  sqlite3_reset(stmt_);
  return st;
}

std::string_view SqliteStmt::ColumnText(int index) const {
  const unsigned char* p = sqlite3_column_text(stmt_, index);
  if (!p) return {};
  return {reinterpret_cast<const char*>(p),
          static_cast<size_t>(sqlite3_column_bytes(stmt_, index))};
}

int64_t SqliteStmt::ColumnInt(int index) const { return sqlite3_column_int64(stmt_, index); }

double SqliteStmt::ColumnDouble(int index) const { return sqlite3_column_double(stmt_, index); }

Result<SqliteDb> SqliteDb::Open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;  // callers serialize access to a connection
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db, rc, "opening " + path);
    sqlite3_close(db);
    return st;
  }
  sqlite3_extended_result_codes(db, 1);
  // Another process may hold a lock while it opens or migrates the same file
  // (hook processes start together): wait for it rather than fail. Callers
  // set their own timeout afterwards.
  sqlite3_busy_timeout(db, 5000);
  SqliteDb out(db, path);
  // Opening is lazy in SQLite: touch the file so a non-database fails here.
  auto check = out.QueryInt("SELECT count(*) FROM sqlite_master;");
  if (!check.ok()) return check.status().WithPrefix("opening " + path);
  return out;
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

Status SqliteDb::Exec(const std::string& sql) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return Status::OK();
  return SqliteError(db_, sqlite3_extended_errcode(db_), sql.substr(0, 60));
}

Result<SqliteStmt> SqliteDb::Prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "preparing: " + sql.substr(0, 60));
  return SqliteStmt(db_, stmt);
}

Result<int64_t> SqliteDb::QueryInt(const std::string& sql) {
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->StepRow();
  if (!row.ok()) return row.status();
  return *row ? stmt->ColumnInt(0) : 0;
}

}  // namespace reins
