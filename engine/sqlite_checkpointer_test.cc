#include "engine/sqlite_checkpointer.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "engine/testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

// Appends `n` rows of 1 KiB, one transaction each, and returns the WAL
// file's size afterwards.
uintmax_t WriteAndMeasure(SqliteDb& db, int n) {
  for (int i = 0; i < n; ++i) {
    REQUIRE(db.Exec("INSERT INTO t(v) VALUES(randomblob(1024));").ok());
  }
  return std::filesystem::file_size(db.path() + "-wal");
}

SqliteDb OpenWal(const std::string& path) {
  auto db = SqliteDb::Open(path, false);
  REQUIRE(db.ok());
  REQUIRE(db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;").ok());
  REQUIRE(db->Exec("CREATE TABLE IF NOT EXISTS t(v BLOB);").ok());
  return std::move(db).value();
}

}  // namespace

TEST_CASE("the WAL is checkpointed off the writer's commits", "[log]") {
  TempDir dir;
  SqliteDb db = OpenWal(dir.File("checked.db"));
  internal::WalCheckpointer checkpointer;
  REQUIRE(checkpointer.Start(db.handle(), db.path(), /*pages=*/10).ok());
  uintmax_t before = std::filesystem::file_size(db.path());
  // Each commit adds one to three frames: 20 of them pass the 10 frames that
  // wake the thread and stay below the inline fallback's 80, so only the
  // checkpointer's thread can have written the database file (in WAL mode
  // commits go to the log alone). Its checkpoints may come in several
  // steps; the first one is the proof.
  WriteAndMeasure(db, 20);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::filesystem::file_size(db.path()) <= before &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(std::filesystem::file_size(db.path()) > before);
}

TEST_CASE("the WAL stays bounded under a writer that never pauses", "[log]") {
  TempDir dir;
  SqliteDb unchecked = OpenWal(dir.File("plain.db"));
  sqlite3_wal_autocheckpoint(unchecked.handle(), 0);  // what the hook replaces, and nothing else
  uintmax_t without = WriteAndMeasure(unchecked, 2000);

  SqliteDb db = OpenWal(dir.File("checked.db"));
  internal::WalCheckpointer checkpointer;
  REQUIRE(checkpointer.Start(db.handle(), db.path(), /*pages=*/10).ok());
  uintmax_t with = WriteAndMeasure(db, 2000);
  CHECK(without > 2000 * 1024);
  // Near the inline fallback's 8 x 10 frames however the checkpointer's
  // thread was scheduled (a frame is a 4 KiB page and a 24-byte header),
  // where the unchecked log holds every row.
  CHECK(with < 32 + 2 * 8 * 10 * (4096 + 24));
  // Every row is there, through a connection of its own.
  auto reader = SqliteDb::Open(dir.File("checked.db"), true);
  REQUIRE(reader.ok());
  CHECK(*reader->QueryInt("SELECT count(*) FROM t;") == 2000);
}
