#include "engine/log_store.h"

#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "engine/testing.h"

using namespace reins;
using reins::testing::TempDir;

namespace {

// Builds `n` sealed records continuing a session's chain.
std::vector<Record> Chain(const std::string& session, int64_t first_seq, std::string prev, int n,
                          TimeUs ts = 1795250700000000) {
  std::vector<Record> out;
  for (int i = 0; i < n; ++i) {
    Record r;
    r.session = session;
    r.seq = first_seq + i;
    r.kind = RecordKind::kEvent;
    r.ts = ts + i;
    r.body = {{"session", session}, {"type", "request"}, {"text", "msg " + std::to_string(r.seq)}};
    r.Seal(prev);
    prev = r.hash;
    out.push_back(std::move(r));
  }
  return out;
}

std::unique_ptr<LogStore> Open(const std::string& path) {
  auto s = OpenSqliteLogStore(path);
  REQUIRE(s.ok());
  return std::move(s).value();
}

int Exec(const std::string& path, const std::string& sql, std::string* error = nullptr) {
  sqlite3* db;
  sqlite3_open(path.c_str(), &db);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (error && err) *error = err;
  sqlite3_free(err);
  sqlite3_close(db);
  return rc;
}

}  // namespace

TEST_CASE("records append, persist across reopen and scan in order", "[log]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  auto chain = Chain("s1", 1, kGenesisHash, 5);
  {
    auto store = Open(path);
    REQUIRE(store->Append(chain).ok());
  }
  auto store = Open(path);
  std::vector<int64_t> seqs;
  REQUIRE(store
              ->Scan("s1", 2, 0,
                     [&](const Record& r) {
                       seqs.push_back(r.seq);
                       CHECK(r.hash == chain[r.seq - 1].hash);
                       CHECK(r.body["text"] == "msg " + std::to_string(r.seq));
                       return true;
                     })
              .ok());
  CHECK(seqs == std::vector<int64_t>{3, 4, 5});
  seqs.clear();
  REQUIRE(store
              ->Scan("s1", 0, 2,
                     [&](const Record& r) {
                       seqs.push_back(r.seq);
                       return true;
                     })
              .ok());
  CHECK(seqs == std::vector<int64_t>{1, 2});
  auto report = store->Verify("s1");
  REQUIRE(report.ok());
  CHECK(report->ok());
  CHECK(report->records == 5);
}

TEST_CASE("a second writer for the same seq gets Conflict and writes nothing", "[log]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  auto a = Open(path);
  auto b = Open(path);
  auto base = Chain("s", 1, kGenesisHash, 2);
  REQUIRE(a->Append(base).ok());
  auto from_a = Chain("s", 3, base.back().hash, 2);
  auto from_b = Chain("s", 3, base.back().hash, 1, 42);
  REQUIRE(a->Append(from_a).ok());
  Status st = b->Append(from_b);
  CHECK(st.code() == Status::Code::kConflict);
  // A gap (seq 9 after 4) is refused too.
  auto gap = Chain("s", 9, from_a.back().hash, 1);
  CHECK(b->Append(gap).code() == Status::Code::kConflict);
  CHECK(b->Verify("s")->records == 4);
}

TEST_CASE("the events table refuses UPDATE and DELETE", "[log]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  Open(path)->Append(Chain("s", 1, kGenesisHash, 3));
  std::string error;
  CHECK(Exec(path, "UPDATE events SET body = '{}' WHERE seq = 2", &error) != SQLITE_OK);
  CHECK(error.find("append-only") != std::string::npos);
  CHECK(Exec(path, "DELETE FROM events WHERE seq = 2", &error) != SQLITE_OK);
  CHECK(Open(path)->Verify("s")->ok());
}

TEST_CASE("verify reports the first changed or missing record", "[log]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  Open(path)->Append(Chain("s", 1, kGenesisHash, 6));
  SECTION("an edited body") {
    REQUIRE(Exec(path,
                 "DROP TRIGGER events_no_update; UPDATE events SET body = "
                 "replace(body, 'msg 4', 'msg X') WHERE seq = 4") == SQLITE_OK);
    auto report = Open(path)->Verify("s");
    REQUIRE(report.ok());
    REQUIRE(report->first_break);
    CHECK(report->first_break->seq == 4);
    CHECK(report->first_break->reason.find("hash mismatch") == 0);
  }
  SECTION("a deleted record") {
    REQUIRE(Exec(path, "DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = 3") ==
            SQLITE_OK);
    auto report = Open(path)->Verify("s");
    REQUIRE(report->first_break);
    CHECK(report->first_break->seq == 4);
    CHECK(report->first_break->reason.find("records missing") != std::string::npos);
  }
}

TEST_CASE("sessions are indexed by user and day, with spend per user", "[log]") {
  auto store = Open(":memory:");
  TimeUs day1 = *ParseRfc3339("2026-11-20T10:00:00Z");
  TimeUs day2 = *ParseRfc3339("2026-11-21T10:00:00Z");
  auto add = [&](const std::string& session, const std::string& user, TimeUs ts, double usd) {
    std::vector<Record> records;
    Record start;
    start.session = session;
    start.seq = 1;
    start.ts = ts;
    start.body = {
        {"session", session}, {"type", "session_start"}, {"user", user}, {"agent", "coder"}};
    start.Seal(kGenesisHash);
    Record decision;
    decision.session = session;
    decision.seq = 2;
    decision.kind = RecordKind::kDecision;
    decision.ts = ts;
    decision.body = {{"event_seq", 1},
                     {"event_type", "llm_response"},
                     {"verdict", "allow"},
                     {"cost",
                      {{"usd", usd},
                       {"model", "m"},
                       {"source", "explicit"},
                       {"tokens", {{"input", 10}, {"output", 1}}}}}};
    decision.Seal(start.hash);
    REQUIRE(store->Append({start, decision}).ok());
  };
  add("a", "ann", day1, 1.5);
  add("b", "ann", day2, 2.0);
  add("c", "ann", day2 + 60000000, 0.25);
  add("d", "bob", day2, 9.0);
  CHECK(*store->UserSpend("ann", "2026-11-21") == Approx(2.25));
  CHECK(*store->UserSpend("ann", "2026-11-20") == Approx(1.5));
  CHECK(*store->UserSpend("carl", "2026-11-21") == 0);
  std::vector<std::string> ids;
  SessionQuery q;
  q.user = "ann";
  q.since = day2;
  REQUIRE(store
              ->ListSessions(q,
                             [&](const SessionSummary& s) {
                               ids.push_back(s.id);
                               CHECK(s.agent == "coder");
                               return true;
                             })
              .ok());
  CHECK(ids == std::vector<std::string>{"c", "b"});
  auto summary = store->GetSession("d");
  REQUIRE(summary.ok());
  REQUIRE(summary->has_value());
  CHECK((*summary)->user == "bob");
  CHECK((*summary)->day == "2026-11-21");
  CHECK((*summary)->last_seq == 2);
}

TEST_CASE("a newer schema or a non-database file is refused clearly", "[log]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  Open(path);
  REQUIRE(Exec(path, "PRAGMA user_version = 99") == SQLITE_OK);
  auto s = OpenSqliteLogStore(path);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("schema version 99 is newer") != std::string::npos);

  std::string junk = dir.File("junk.db");
  FILE* f = fopen(junk.c_str(), "w");
  fputs("this is not a database, just text that is long enough to look like a header....", f);
  fclose(f);
  auto j = OpenSqliteLogStore(junk);
  REQUIRE_FALSE(j.ok());
  CHECK(j.status().code() == Status::Code::kCorruption);
  CHECK(j.status().message().find(junk) != std::string::npos);
}

TEST_CASE("group commit: concurrent appends share transactions, a conflict fails only its own",
          "[log]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  auto store = Open(path);
  REQUIRE(store->Append(Chain("dup", 1, kGenesisHash, 1)).ok());
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  std::atomic<int> conflicts = 0;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string session = "s" + std::to_string(t);
      std::string prev = kGenesisHash;
      for (int i = 0; i < kPerThread; ++i) {
        auto batch = Chain(session, i + 1, prev, 1);
        REQUIRE(store->Append(batch).ok());
        prev = batch.back().hash;
        // Interleave appends that must conflict: record 1 of "dup" again.
        if (i % 10 == 0 &&
            store->Append(Chain("dup", 1, kGenesisHash, 1)).code() == Status::Code::kConflict) {
          ++conflicts;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(conflicts == kThreads * kPerThread / 10);
  for (int t = 0; t < kThreads; ++t) {
    auto report = store->Verify("s" + std::to_string(t));
    REQUIRE(report.ok());
    CHECK(report->ok());
    CHECK(report->records == kPerThread);
  }
  CHECK(store->Verify("dup")->records == 1);
}
