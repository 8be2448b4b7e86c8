// WalCheckpointer: copies a WAL database's log back into the database file on
// a thread of its own, so appends never pay for it.
//
// SQLite's automatic checkpoint runs inside the COMMIT that crosses its
// threshold, with the writer's lock held and the database file synced: one
// append in a thousand waits milliseconds, which is the server's p99. Here
// the writer's connection has automatic checkpoints off; its WAL hook tells
// the checkpointer how long the log has grown, and past `pages` frames the
// checkpointer runs a PASSIVE checkpoint on its own connection (it never
// blocks the writer or readers). If the log still grows past `8 * pages`
// (checkpoints falling behind a sustained load), the hook checkpoints
// inline as SQLite would, after the thread's checkpoint in flight if any, so
// the WAL file stays bounded near `8 * pages` frames (readers that hold old
// frames aside, as with SQLite's own checkpoints).
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/sqlite_db.h"
#include "engine/status.h"

namespace reins::internal {

class WalCheckpointer {
 public:
  WalCheckpointer() = default;
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Takes over checkpoints of `writer` (a WAL connection to a file). Opens a
  // second connection to the same file and starts the thread.
  Status Start(sqlite3* writer, const std::string& path, int pages = 1000);

 private:
  static int OnCommit(void* self, sqlite3* db, const char* name, int frames);
  void Run();

  std::optional<SqliteDb> db_;
  int pages_ = 1000;
  std::mutex checkpoint_mu_;  // held while either side checkpoints
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace reins::internal
