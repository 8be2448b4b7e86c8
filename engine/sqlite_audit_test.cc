#include "engine/sqlite_audit.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "engine/testing.h"

using namespace reins;
using reins::testing::kSecond;
using reins::testing::kStart;
using reins::testing::TempDir;

namespace {

// Appends `rounds` records to each of `sessions`, one record per session in
// turn, as concurrent sessions interleave in a real log.
void WriteLog(const std::string& path, const std::vector<std::string>& sessions, int rounds) {
  auto store = OpenSqliteLogStore(path);
  REQUIRE(store.ok());
  std::map<std::string, std::string> prev;
  TimeUs ts = kStart;
  for (int seq = 1; seq <= rounds; ++seq) {
    std::vector<Record> batch;
    for (const std::string& s : sessions) {
      Record r;
      r.session = s;
      r.seq = seq;
      r.kind = seq % 2 ? RecordKind::kEvent : RecordKind::kDecision;
      r.ts = ts += kSecond;
      r.body = {{"session", s}, {"n", seq}};
      r.Seal(prev.count(s) ? prev[s] : kGenesisHash);
      prev[s] = r.hash;
      batch.push_back(std::move(r));
    }
    REQUIRE((*store)->Append(batch).ok());
  }
}

void Exec(const std::string& path, const std::string& sql) {
  sqlite3* db;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO(sql << ": " << (err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

std::vector<VerifyReport> VerifyAll(const std::string& path, int threads) {
  std::vector<VerifyReport> out;
  Status st = VerifySqliteLog(path, threads, [&](const VerifyReport& r) { out.push_back(r); });
  INFO(st.ToString());
  REQUIRE(st.ok());
  return out;
}

}  // namespace

TEST_CASE("verifying every chain: reports in session order, on one thread or two", "[audit]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  // More sessions than the reports that may wait for an earlier range.
  std::vector<std::string> sessions;
  for (int i = 0; i < 700; ++i) sessions.push_back("s" + std::to_string(1000 - i));
  WriteLog(path, sessions, 4);
  std::sort(sessions.begin(), sessions.end());
  for (int threads : {1, 2, 3}) {
    INFO("threads " << threads);
    auto reports = VerifyAll(path, threads);
    REQUIRE(reports.size() == sessions.size());
    for (size_t i = 0; i < reports.size(); ++i) {
      CHECK(reports[i].session == sessions[i]);
      CHECK(reports[i].records == 4);
      CHECK(reports[i].ok());
    }
  }
}

TEST_CASE("verifying every chain finds changed, missing and deleted records", "[audit]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  WriteLog(path, {"a", "b", "c", "d", "e"}, 5);
  Exec(path,
       "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;"
       "UPDATE events SET body = replace(body, '\"n\":3', '\"n\":4') WHERE session = 'b' AND "
       "seq = 3;"
       "DELETE FROM events WHERE session = 'c' AND seq = 2;"
       "DELETE FROM events WHERE session = 'd';");
  for (int threads : {1, 2}) {
    auto reports = VerifyAll(path, threads);
    REQUIRE(reports.size() == 5);
    CHECK(reports[0].ok());
    CHECK(reports[0].records == 5);
    REQUIRE(!reports[1].ok());
    CHECK(reports[1].session == "b");
    CHECK(reports[1].first_break->seq == 3);
    CHECK(reports[1].records == 3);
    CHECK(reports[1].first_break->reason.rfind("hash mismatch: ", 0) == 0);
    REQUIRE(!reports[2].ok());
    CHECK(reports[2].first_break->seq == 3);
    CHECK(reports[2].first_break->reason == "expected record 2, found 3 (records missing)");
    REQUIRE(!reports[3].ok());
    CHECK(reports[3].session == "d");
    CHECK(reports[3].records == 0);
    CHECK(reports[3].first_break->seq == 1);
    CHECK(reports[3].first_break->reason.find("sessions index lists") != std::string::npos);
    CHECK(reports[4].ok());
  }

  auto b = VerifySqliteSession(path, "b");
  REQUIRE(b.ok());
  REQUIRE(!b->ok());
  CHECK(b->first_break->seq == 3);
  auto a = VerifySqliteSession(path, "a");
  REQUIRE(a.ok());
  CHECK(a->ok());
  CHECK(a->records == 5);
  auto d = VerifySqliteSession(path, "d");
  REQUIRE(d.ok());
  CHECK(d->records == 0);
  REQUIRE(!d->ok());
  CHECK(d->first_break->seq == 1);
  CHECK(VerifySqliteSession(path, "x").status().code() == Status::Code::kNotFound);
}

TEST_CASE("a session missing from the sessions index is still verified", "[audit]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  WriteLog(path, {"a", "m", "z"}, 3);
  Exec(path, "DELETE FROM sessions WHERE id IN ('a', 'm');");
  auto reports = VerifyAll(path, 2);
  REQUIRE(reports.size() == 3);
  CHECK(reports[0].session == "a");
  CHECK(reports[1].session == "m");
  CHECK(reports[2].session == "z");
  for (const auto& r : reports) CHECK(r.ok());
}

TEST_CASE("verifying a file that is not a session log is an error", "[audit]") {
  TempDir dir;
  std::string path = dir.File("other.db");
  Exec(path, "CREATE TABLE t(x);");
  Status st = VerifySqliteLog(path, 2, [](const VerifyReport&) {});
  CHECK(st.code() == Status::Code::kFailedPrecondition);
  CHECK(st.message() == path + " is not a reins session log (no events table)");
}

TEST_CASE("scanning the log: commit order, one session in seq order, since a time", "[audit]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  WriteLog(path, {"b", "a"}, 3);
  std::vector<std::string> seen;
  auto scan = [&](RecordScan s) {
    seen.clear();
    Status st = ScanSqliteLog(path, s, [&](const StoredRecord& r) {
      seen.push_back(r.session + ":" + std::to_string(r.seq) + ":" +
                     std::string(RecordKindName(r.kind)));
      return true;
    });
    REQUIRE(st.ok());
    return seen;
  };
  CHECK(scan({}) == std::vector<std::string>{"b:1:event", "a:1:event", "b:2:decision",
                                             "a:2:decision", "b:3:event", "a:3:event"});
  CHECK(scan({"a", 0}) == std::vector<std::string>{"a:1:event", "a:2:decision", "a:3:event"});
  CHECK(scan({"", kStart + 4 * kSecond}) ==
        std::vector<std::string>{"a:2:decision", "b:3:event", "a:3:event"});

  // The record as stored: the bytes hashed and the hash.
  StoredRecord first;
  REQUIRE(ScanSqliteLog(path, {"a", 0}, [&](const StoredRecord& r) {
            first = r;
            return false;
          }).ok());
  CHECK(first.body == R"({"n":1,"session":"a"})");
  Record r;
  r.session = "a";
  r.seq = 1;
  r.ts = first.ts;
  r.body = Json::parse(first.body);
  r.Seal(kGenesisHash);
  CHECK(first.hash == r.hash);
}

TEST_CASE("ChainHasher hashes as ChainHash does", "[audit]") {
  for (std::string session : {"s1", "quote\" back\\slash \xc3\xa9 \x01"}) {
    ChainHasher hasher(session);
    std::string prev = kGenesisHash;
    for (int64_t seq = 1; seq <= 3; ++seq) {
      Record r;
      r.session = session;
      r.seq = seq;
      r.kind = seq == 2 ? RecordKind::kChildCost : RecordKind::kNote;
      r.ts = kStart + seq * 1234567;
      r.body = {{"message", "m\n" + std::to_string(seq)}, {"n", 1.5}};
      r.Seal(prev);
      CHECK(hasher.Hash(prev, r.seq, r.kind, r.ts, r.body_text) == r.hash);
      prev = r.hash;
    }
  }
}
