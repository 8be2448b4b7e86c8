// Failure tests of the real `reins serve` (issue 9; docs/reliability.md):
// killed under load again and again, out of disk space, and locked out of
// its log by another process. Each checks that the error is clear, that
// nothing acknowledged is lost and that reads go on. The damaged log, the
// broken configuration and the vanished Lua script are in
// failure_config_test.cc.
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <thread>

#include "engine/testing.h"
#include "tests/support/failures.h"
#include "tests/support/serve_process.h"

using namespace reins;
using namespace reins::testing;
namespace fs = std::filesystem;

namespace {

// The n-th event of a client: every kind that changes a session's state
// (tool counts, spend and tokens, policy state, pending approvals), each
// told apart by its input.
Json LoadEvent(int client, int n) {
  std::string tag = std::to_string(client) + "-" + std::to_string(n);
  switch (n % 8) {
    case 1:
      return {{"type", "llm_response"},
              {"model", "claude-sonnet-4-5"},
              {"text", tag},
              {"usage", {{"input_tokens", 100 + n}, {"output_tokens", 20 + n % 7}}}};
    case 2:
      return {{"type", "tool_call"}, {"tool", "Read"}, {"input", {{"file_path", "/src/" + tag}}}};
    case 3:
      return {{"type", "tool_result"}, {"tool", "Bash"}, {"output", tag}};
    case 4:
      return BashCall("npm install left-pad-" + tag);
    case 5:
      return BashCall("git push origin " + tag);  // asks after the install
    case 6:
      return {{"type", "cost"}, {"cost_usd", 0.0001 * (n % 5 + 1)}, {"model", "harness-extra"}};
    default:
      return BashCall("echo " + tag);
  }
}

}  // namespace

TEST_CASE("a server SIGKILLed 20 times under load loses nothing it acknowledged",
          "[failure][crash][serve]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"), kConfig);
  std::string db = dir.File("reins.db");
  // c3 is c0's child: its spend rolls up into c0's log in the same commit.
  const std::vector<std::string> sessions = {"c0", "c1", "c2", "c3"};
  std::vector<Ledger> ledgers(sessions.size());
  std::vector<int> sent(sessions.size(), 0);
  std::mt19937 random(9);
  for (int round = 0; round <= 20; ++round) {
    INFO("round " << round);
    ServeProcess serve(dir.path(), "serve" + std::to_string(round) + ".log");
    std::string admin = serve.Token("admin");
    HttpClient c(serve.url(), std::chrono::seconds(10));
    if (round == 0) {
      for (const std::string& s : sessions) {
        Json start = {{"id", s}, {"user", "ada"}};
        if (s == "c3") start["parent"] = "c0";
        auto r = c.Request("POST", "/v1/sessions", start.dump(), admin);
        REQUIRE(r.ok());
        REQUIRE(r->status == 201);
      }
    } else {
      // After each restart: every acknowledged event is in the log, every
      // chain verifies, and the state the server serves is the log's fold.
      SqliteOptions read_only;
      read_only.read_only = true;
      auto store = OpenSqliteLogStore(db, read_only);
      REQUIRE(store.ok());
      for (size_t i = 0; i < sessions.size(); ++i) ledgers[i].CheckLog(store->get(), sessions[i]);
      CheckChainsVerify(db);
      CheckStateFolds(c, admin, db, sessions);
    }
    if (round == 20) break;

    std::atomic<int> answered{0};
    std::vector<std::thread> clients;
    for (size_t i = 0; i < sessions.size(); ++i) {
      clients.emplace_back([&, i] {
        HttpClient client(serve.url(), std::chrono::seconds(10));
        while (true) {
          HttpResult r = ledgers[i].Send(client, admin, sessions[i],
                                         LoadEvent(static_cast<int>(i), sent[i]++));
          if (r.status != 200) return;  // the server is gone
          ++answered;
        }
      });
    }
    // Killed at a different moment each round, under load.
    int target = std::uniform_int_distribution<int>(100, 400)(random);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (answered < target && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CHECK(answered >= target);
    serve.process().Signal(SIGKILL);
    for (auto& t : clients) t.join();
    CHECK(serve.process().Wait() == 128 + SIGKILL);
    for (const Ledger& l : ledgers) CHECK(l.refused.empty());  // no error but the kill
  }
  int64_t acknowledged = 0;
  for (const Ledger& l : ledgers) acknowledged += l.acknowledged.size();
  CHECK(acknowledged >= 20 * 100);
  // Each session has a snapshot (one every 1000 records), so restarts loaded
  // state from a snapshot plus the records after it: the comparisons with a
  // fresh fold above covered that path too.
  auto store = OpenSqliteLogStore(db);
  REQUIRE(store.ok());
  for (const std::string& s : sessions) {
    auto snapshot = (*store)->LoadSnapshot(s);
    REQUIRE(snapshot.ok());
    CHECK(snapshot->has_value());
  }
}

namespace {

// Fills the disk (or lowers the file size limit) under a running server and
// makes room again; `ServeProcess` holds the server.
struct OutOfSpace {
  std::function<void(ServeProcess&)> fill;
  std::function<void(ServeProcess&)> make_room;
};

// The server refuses events it cannot record with 507, answers reads all
// along, and records again once there is room; nothing acknowledged is lost.
void RunOutOfSpace(const std::string& dir, const std::string& db, const OutOfSpace& space) {
  WriteFile(dir + "/server.yaml", kConfig);
  auto serve = std::make_unique<ServeProcess>(dir, "serve.log", db);
  std::string admin = serve->Token("admin");
  HttpClient c(serve->url(), std::chrono::seconds(20));
  for (const char* id : {"full", "other0", "other1", "other2"}) {
    auto created = c.Request("POST", "/v1/sessions", Json{{"id", id}}.dump(), admin);
    REQUIRE(created.ok());
    REQUIRE(created->status == 201);
  }
  Ledger ledger;
  int n = 0;
  for (; n < 20; ++n) {
    REQUIRE(ledger.Send(c, admin, "full", BashCall("echo " + std::to_string(n))).status == 200);
  }

  space.fill(*serve);
  // The log's last page may still hold a few records.
  HttpResult refusal;
  for (int tries = 0; tries < 20000 && refusal.status != 507; ++tries, ++n) {
    refusal = ledger.Send(c, admin, "full", BashCall("echo " + std::to_string(n)));
    INFO(refusal.status << " " << refusal.body << serve->process().Output());
    REQUIRE((refusal.status == 200 || refusal.status == 507));
  }
  INFO(refusal.body);
  REQUIRE(refusal.status == 507);
  Json error = refusal.json()["error"];
  CHECK(error["code"] == "storage_full");
  std::string message = error["message"];
  CHECK(message.find("full") != std::string::npos);
  CHECK(message.find(fs::path(db).filename().string()) != std::string::npos);
  CHECK(refusal.headers["retry-after"] == "5");
  for (int i = 0; i < 5; ++i, ++n) {
    CHECK(ledger.Send(c, admin, "full", BashCall("echo " + std::to_string(n))).status == 507);
  }
  // Appends of several sessions at once share a transaction (group commit):
  // a failed commit must fail each of them, and leave the writer usable.
  std::vector<Ledger> others(3);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < others.size(); ++i) {
    clients.emplace_back([&, i] {
      HttpClient client(serve->url(), std::chrono::seconds(20));
      std::string id = "other" + std::to_string(i);
      for (int k = 0; k < 20; ++k) {
        HttpResult r = others[i].Send(client, admin, id, BashCall(id + " " + std::to_string(k)));
        if (r.status != 200 && r.status != 507) return;
      }
    });
  }
  for (auto& t : clients) t.join();
  for (const Ledger& l : others) CHECK(l.refused.size() == 20);

  // Reads go on, and show exactly what was acknowledged.
  int64_t head = ledger.acknowledged.rbegin()->first;
  HttpResult state = Get(c, admin, "/v1/sessions/full");
  REQUIRE(state.status == 200);
  CHECK(state.json()["last_seq"].get<int64_t>() >= head);
  HttpResult events = Get(c, admin, "/v1/sessions/full/events?after=" + std::to_string(head - 1));
  REQUIRE(events.status == 200);
  CHECK(events.json()["records"][0]["seq"] == head);
  CHECK(Get(c, admin, "/healthz").status == 200);
  CHECK(Get(c, admin, "/v1/sessions").status == 200);
  CHECK_FALSE(serve->process().WaitFor(std::chrono::milliseconds(0)).has_value());
  CHECK(serve->process().Output().find("refusing events") != std::string::npos);

  space.make_room(*serve);
  for (int i = 0; i < 5; ++i, ++n) {
    HttpResult r = ledger.Send(c, admin, "full", BashCall("echo " + std::to_string(n)));
    INFO(r.body);
    CHECK(r.status == 200);
  }
  for (size_t i = 0; i < others.size(); ++i) {
    std::string id = "other" + std::to_string(i);
    CHECK(others[i].Send(c, admin, id, BashCall(id + " after")).status == 200);
  }
  CHECK(serve->process().WaitForOutput("records events again", std::chrono::seconds(5)));
  CheckStateFolds(c, admin, db, {"full", "other0", "other1", "other2"});
  serve->process().Signal(SIGTERM);
  CHECK(serve->process().Wait() == 0);
  CheckChainsVerify(db);
  auto store = OpenSqliteLogStore(db);
  REQUIRE(store.ok());
  ledger.CheckLog(store->get(), "full");
  for (size_t i = 0; i < others.size(); ++i) {
    others[i].CheckLog(store->get(), "other" + std::to_string(i));
  }
  CHECK(ledger.refused.size() >= 6);
}

// A tmpfs mounted for the test's life.
class Tmpfs {
 public:
  Tmpfs(const std::string& path, const std::string& size) : path_(path) {
    fs::create_directories(path);
    mounted_ = mount("tmpfs", path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace

TEST_CASE("a full disk: events are refused with 507, reads go on, recording resumes",
          "[failure][disk][serve]") {
  TempDir dir;
  Tmpfs tmpfs(dir.File("small"), "2m");
  if (!tmpfs.mounted()) {
    WARN("skipped: cannot mount a tmpfs (" << tmpfs.error()
                                           << "); run as root to test a full "
                                              "disk (the file size limit case still runs)");
    return;
  }
  std::string filler = dir.File("small/filler");
  RunOutOfSpace(dir.path(), dir.File("small/reins.db"),
                {[&](ServeProcess&) {
                   std::ofstream out(filler, std::ios::binary);
                   std::string chunk(64 * 1024, 'x');
                   while (out.write(chunk.data(), chunk.size())) {
                   }
                   // What did not fit in a whole chunk.
                   out.clear();
                   while (out.put('x') && out.flush()) {
                   }
                 },
                 [&](ServeProcess&) { fs::remove(filler); }});
}

TEST_CASE("a file size limit (ulimit -f) refuses events with 507 and does not kill the server",
          "[failure][disk][serve]") {
  TempDir dir;
  std::string db = dir.File("reins.db");
  rlimit before{};
  RunOutOfSpace(dir.path(), db,
                {[&](ServeProcess& serve) {
                   REQUIRE(prlimit(serve.process().pid(), RLIMIT_FSIZE, nullptr, &before) == 0);
                   // A little room beyond the files as they are.
                   uintmax_t largest = 0;
                   for (const std::string& f : {db, db + "-wal"}) {
                     std::error_code ec;
                     uintmax_t size = fs::file_size(f, ec);
                     if (!ec) largest = std::max(largest, size);
                   }
                   rlimit low = before;
                   low.rlim_cur = largest + 16 * 1024;
                   REQUIRE(prlimit(serve.process().pid(), RLIMIT_FSIZE, &low, nullptr) == 0);
                 },
                 [&](ServeProcess& serve) {
                   REQUIRE(prlimit(serve.process().pid(), RLIMIT_FSIZE, &before, nullptr) == 0);
                 }});
}

namespace {

// Another process's write transaction on the log: this test process's own
// connection, which is a different process from the server's.
class ForeignLock {
 public:
  explicit ForeignLock(const std::string& db) {
    REQUIRE(sqlite3_open_v2(db.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  ~ForeignLock() { Release(); }
  void Release() {
    if (!db_) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace

TEST_CASE("a log locked by another process: refused after a bounded wait, reads go on",
          "[failure][lock][serve]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"), kConfig);
  std::string db = dir.File("reins.db");
  Ledger ledger;
  int n = 0;
  auto next = [&] { return BashCall("echo " + std::to_string(n++)); };
  {
    ServeProcess serve(dir.path());
    std::string admin = serve.Token("admin");
    HttpClient c(serve.url(), std::chrono::seconds(30));
    for (const char* id : {"s", "other"}) {
      auto created = c.Request("POST", "/v1/sessions", Json{{"id", id}}.dump(), admin);
      REQUIRE(created.ok());
      REQUIRE(created->status == 201);
    }
    for (int i = 0; i < 5; ++i) REQUIRE(ledger.Send(c, admin, "s", next()).status == 200);

    ForeignLock lock(db);
    HttpResult refused;
    std::atomic<bool> answered{false};
    std::thread writer([&] {
      HttpClient w(serve.url(), std::chrono::seconds(30));
      refused = ledger.Send(w, admin, "s", next());
      answered = true;
    });
    // While the append waits for the lock, reads are answered: the log, the
    // listing, other sessions' state. (The state of `s` itself waits for its
    // event in flight: a session's events and state are strictly ordered.)
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(Get(c, admin, "/v1/sessions/s/events").status == 200);
    CHECK(Get(c, admin, "/v1/sessions/other").status == 200);
    CHECK(Get(c, admin, "/v1/sessions").status == 200);
    CHECK(Get(c, admin, "/healthz").status == 200);
    CHECK_FALSE(answered);
    writer.join();
    INFO(refused.body);
    CHECK(refused.status == 503);
    Json error = refused.json()["error"];
    CHECK(error["code"] == "unavailable");
    CHECK(error["message"].get<std::string>().find("locked by another process") !=
          std::string::npos);
    CHECK(error["message"].get<std::string>().find(db) != std::string::npos);
    CHECK(Get(c, admin, "/v1/sessions/s").status == 200);  // state reloads from the log

    lock.Release();
    for (int i = 0; i < 3; ++i) CHECK(ledger.Send(c, admin, "s", next()).status == 200);
    CheckStateFolds(c, admin, db, {"s"});
    serve.process().Signal(SIGTERM);
    REQUIRE(serve.process().Wait() == 0);
  }

  // Locked at start: the server does not start, and says why and where.
  {
    ForeignLock lock(db);
    auto [code, output] = ServeFails(dir.path(), {"--config", "server.yaml", "--db", db});
    CHECK(code == 1);
    CHECK(output.find(db) != std::string::npos);
    CHECK(output.find("locked by another process") != std::string::npos);
  }
  ServeProcess serve(dir.path(), "after.log");
  HttpClient c(serve.url());
  CHECK(ledger.Send(c, serve.Token("admin"), "s", next()).status == 200);
  serve.process().Signal(SIGTERM);
  REQUIRE(serve.process().Wait() == 0);
  CheckChainsVerify(db);
  auto store = OpenSqliteLogStore(db);
  REQUIRE(store.ok());
  ledger.CheckLog(store->get(), "s");
  CHECK(ledger.refused.size() == 1);
}
