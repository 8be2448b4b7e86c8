#include "engine/sqlite_checkpointer.h"

#include <sqlite3.h>

namespace reins::internal {

WalCheckpointer::~WalCheckpointer() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

Status WalCheckpointer::Start(sqlite3* writer, const std::string& path, int pages) {
  auto db = SqliteDb::Open(path, /*read_only=*/false);
  if (!db.ok()) return db.status().WithPrefix("opening the checkpoint connection");
  db_.emplace(std::move(db).value());
  REINS_RETURN_IF_ERROR(db_->Exec("PRAGMA busy_timeout=5000;"));
  pages_ = pages;
  // Replaces SQLite's own automatic checkpoint hook on the writer.
  sqlite3_wal_hook(writer, &WalCheckpointer::OnCommit, this);
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

int WalCheckpointer::OnCommit(void* arg, sqlite3* db, const char* name, int frames) {
  auto* self = static_cast<WalCheckpointer*>(arg);
  if (frames >= 8 * self->pages_) {
    // SQLite refuses a second checkpointer rather than waiting for it, so
    // wait here for the thread's checkpoint to end (it needs none of the
    // writer's locks): this one then always runs, and the log stays bounded
    // however the thread is scheduled.
    std::lock_guard running(self->checkpoint_mu_);
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (frames >= self->pages_) {
    {
      std::lock_guard lock(self->mu_);
      self->wanted_ = true;
    }
    self->cv_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return wanted_ || stop_; });
    if (stop_) return;
    wanted_ = false;
    lock.unlock();
    // A checkpoint that cannot finish now (a reader on old frames) is
    // retried after the next commits; nothing is lost either way.
    {
      std::lock_guard running(checkpoint_mu_);
      sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                nullptr);
    }
    lock.lock();
  }
}

}  // namespace reins::internal
