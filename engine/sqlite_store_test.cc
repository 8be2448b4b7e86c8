// The SQLite store's indexes beyond sessions and spend: approvals, state
// snapshots, and the migration that introduced them.
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "engine/log_store.h"
#include "engine/session_state.h"
#include "engine/testing.h"

using namespace reins;
using reins::testing::TempDir;

namespace {

constexpr TimeUs kT0 = 1795250700000000;

// Appends one record of `kind` with `body` to `session`, continuing `prev`.
Record Next(const std::string& session, int64_t seq, RecordKind kind, Json body,
            const std::string& prev, TimeUs ts) {
  Record r;
  r.session = session;
  r.seq = seq;
  r.kind = kind;
  r.ts = ts;
  r.body = std::move(body);
  r.Seal(prev);
  return r;
}

// A session whose tool call asked for approval `id`, optionally resolved.
std::vector<Record> AskedSession(const std::string& session, const std::string& id,
                                 const Json& resolution) {
  std::vector<Record> out;
  out.push_back(Next(session, 1, RecordKind::kEvent,
                     {{"session", session}, {"type", "session_start"}, {"user", "ann"}},
                     kGenesisHash, kT0));
  out.push_back(Next(session, 2, RecordKind::kApproval,
                     {{"op", "requested"},
                      {"id", id},
                      {"event_seq", 1},
                      {"event_type", "tool_call"},
                      {"tool", "Bash"},
                      {"policies", {"server:npm_then_push"}},
                      {"reason", "push after install"},
                      {"expires_at", FormatRfc3339(kT0 + 3600000000)}},
                     out.back().hash, kT0 + 1));
  if (!resolution.is_null()) {
    out.push_back(Next(session, 3, RecordKind::kApproval, resolution, out.back().hash, kT0 + 2));
  }
  return out;
}

std::unique_ptr<LogStore> Open(const std::string& path) {
  auto s = OpenSqliteLogStore(path);
  REQUIRE(s.ok());
  return std::move(s).value();
}

std::vector<ApprovalSummary> Approvals(LogStore& store, std::string_view status) {
  std::vector<ApprovalSummary> out;
  REQUIRE(store
              .ListApprovals(status, 0,
                             [&](const ApprovalSummary& a) {
                               out.push_back(a);
                               return true;
                             })
              .ok());
  return out;
}

void Populate(LogStore& store) {
  REQUIRE(store.Append(AskedSession("s1", "ap-1", nullptr)).ok());
  REQUIRE(store
              .Append(AskedSession("s2", "ap-2",
                                   {{"op", "resolved"},
                                    {"id", "ap-2"},
                                    {"approved", true},
                                    {"by", "bob"},
                                    {"note", "fine"}}))
              .ok());
  REQUIRE(store.Append(AskedSession("s3", "ap-3", {{"op", "expired"}, {"id", "ap-3"}})).ok());
}

}  // namespace

TEST_CASE("approvals are indexed: pending until resolved or expired", "[log]") {
  TempDir dir;
  auto store = Open(dir.File("log.db"));
  Populate(*store);

  auto pending = Approvals(*store, "pending");
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].id == "ap-1");
  CHECK(pending[0].session == "s1");
  CHECK(pending[0].tool == "Bash");
  CHECK(pending[0].reason == "push after install");
  CHECK(pending[0].policies == std::vector<std::string>{"server:npm_then_push"});
  CHECK(pending[0].expires_at == kT0 + 3600000000);
  CHECK(Approvals(*store, "").size() == 3);

  auto approved = store->GetApproval("ap-2");
  REQUIRE(approved.ok());
  REQUIRE(approved->has_value());
  CHECK((*approved)->status == "approved");
  CHECK((*approved)->by == "bob");
  CHECK((*approved)->note == "fine");
  CHECK((*approved)->resolved_at == kT0 + 2);
  CHECK(Approvals(*store, "expired").at(0).id == "ap-3");
  auto missing = store->GetApproval("nope");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
}

TEST_CASE("a schema 2 database migrates and indexes the approvals it already holds", "[log]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  Populate(*Open(path));
  // Take the database back to schema 2 as an older reins left it.
  sqlite3* db;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db,
                       "DROP TABLE approvals; DROP TABLE snapshots; "
                       "ALTER TABLE sessions DROP COLUMN owner; DROP INDEX sessions_started; "
                       "ALTER TABLE sessions DROP COLUMN events; PRAGMA user_version=2;",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);

  auto store = Open(path);
  CHECK(Approvals(*store, "pending").at(0).id == "ap-1");
  CHECK(Approvals(*store, "approved").at(0).by == "bob");
  CHECK(Approvals(*store, "").size() == 3);
  auto report = store->Verify("s2");
  REQUIRE(report.ok());
  CHECK(report->ok());
}

int64_t EventCount(LogStore& store, const std::string& session) {
  auto t = store.GetSessionTotals(session);
  REQUIRE(t.ok());
  return t->events;
}

TEST_CASE("each session's event count is kept, and filled in for a schema 4 database", "[log]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  {
    auto store = Open(path);
    // s1: an event and an approval record; then a second event, appended
    // with a record of another session in the same batch.
    REQUIRE(store->Append(AskedSession("s1", "ap-1", nullptr)).ok());
    CHECK(EventCount(*store, "s1") == 1);
    auto s1 = AskedSession("s1", "ap-1", nullptr);
    std::vector<Record> batch = {
        Next("s1", 3, RecordKind::kEvent, {{"session", "s1"}, {"type", "user_message"}},
             s1.back().hash, kT0 + 3),
        Next("s3", 1, RecordKind::kEvent, {{"session", "s3"}, {"type", "session_start"}},
             kGenesisHash, kT0 + 3)};
    batch.push_back(Next("s3", 2, RecordKind::kEvent, {{"session", "s3"}, {"type", "user_message"}},
                         batch.back().hash, kT0 + 4));
    REQUIRE(store->Append(batch).ok());
    CHECK(EventCount(*store, "s1") == 2);
    CHECK(EventCount(*store, "s3") == 2);
  }
  // Take the database back to schema 4, as an older reins left it.
  sqlite3* db;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db,
                       "DROP INDEX sessions_started; ALTER TABLE sessions DROP COLUMN events; "
                       "PRAGMA user_version=4;",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  {
    // A read-only store (the audit commands) counts from the log.
    SqliteOptions ro;
    ro.read_only = true;
    auto store = OpenSqliteLogStore(path, ro);
    REQUIRE(store.ok());
    CHECK(EventCount(**store, "s1") == 2);
    CHECK(EventCount(**store, "s3") == 2);
  }
  auto store = Open(path);  // migrates, counting each session's events once
  CHECK(EventCount(*store, "s1") == 2);
  CHECK(EventCount(*store, "s3") == 2);
  CHECK(EventCount(*store, "nobody") == 0);
}

TEST_CASE("a session's latest state snapshot is kept and replaced", "[log]") {
  TempDir dir;
  auto store = Open(dir.File("log.db"));
  auto none = store->LoadSnapshot("s1");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  REQUIRE(store->SaveSnapshot("s1", 10, R"({"a":1})").ok());
  REQUIRE(store->SaveSnapshot("s1", 20, R"({"a":2})").ok());
  auto snap = store->LoadSnapshot("s1");
  REQUIRE(snap.ok());
  REQUIRE(snap->has_value());
  CHECK((*snap)->first == 20);
  CHECK((*snap)->second == R"({"a":2})");
}

TEST_CASE("a config record sets the session's own policy layer, kept through JSON", "[state]") {
  SessionState s("s1");
  Json layer = {{"max_tool_calls_per_session", {{"max", 3}}}};
  Record start = Next("s1", 1, RecordKind::kEvent, {{"session", "s1"}, {"type", "session_start"}},
                      kGenesisHash, kT0);
  REQUIRE(s.Apply(start).ok());
  Record config = Next("s1", 2, RecordKind::kConfig, {{"session_policies", layer}, {"by", "ann"}},
                       start.hash, kT0 + 1);
  REQUIRE(s.Apply(config).ok());
  CHECK(s.config == Json{{"session_policies", layer}});
  CHECK(s.config_seq == 2);
  auto copy = SessionState::FromJson(s.ToJson());
  REQUIRE(copy.ok());
  CHECK(copy->config == s.config);
  CHECK(copy->config_seq == 2);
  CHECK(copy->last_hash == config.hash);
}
