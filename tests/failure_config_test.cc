// Failure tests of the real `reins serve` (issue 9; docs/reliability.md),
// continued from failure_test.cc: a damaged log file, a configuration that
// is missing, unreadable or wrong, and a Lua script deleted before a reload.
// The server refuses to start with an error naming the file, and a running
// one keeps its last good policies.
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "engine/testing.h"
#include "tests/support/failures.h"
#include "tests/support/serve_process.h"

using namespace reins;
using namespace reins::testing;
namespace fs = std::filesystem;

namespace {

std::string VerdictOf(HttpClient& c, const std::string& token, const std::string& session,
                      const std::string& command) {
  HttpResult r = SendEvent(c, token, session, BashCall(command));
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json()["verdict"];
}

void StartSession(HttpClient& c, const std::string& token, const std::string& id) {
  auto r = c.Request("POST", "/v1/sessions", Json{{"id", id}}.dump(), token);
  REQUIRE(r.ok());
  REQUIRE(r->status == 201);
}

// Overwrites `size` bytes of `path` at `offset` with a fixed pattern ('G' is
// no valid page type, so SQLite cannot mistake the page for a good one).
void Damage(const std::string& path, size_t offset, size_t size) {
  std::string bytes = ReadFile(path);
  REQUIRE(offset + size <= bytes.size());
  for (size_t i = 0; i < size; ++i) bytes[offset + i] = "GARBAGE!"[i % 8];
  WriteFile(path, bytes);
}

// The pages of the events table's leaves, in the table's order.
std::vector<int64_t> EventLeafPages(const std::string& db) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(h,
                             "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = "
                             "'leaf' ORDER BY path",
                             -1, &q, nullptr) == SQLITE_OK);
  std::vector<int64_t> pages;
  while (sqlite3_step(q) == SQLITE_ROW) pages.push_back(sqlite3_column_int64(q, 0));
  sqlite3_finalize(q);
  sqlite3_close(h);
  return pages;
}

}  // namespace

TEST_CASE("a damaged log: serve refuses to start and leaves it, verify reports it",
          "[failure][corrupt][serve]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"), kConfig);
  const std::vector<std::string> sessions = {"a", "b", "c"};
  {
    // Sessions one after the other, so that a page in the middle of the
    // log holds only b's records.
    ServeProcess serve(dir.path());
    std::string admin = serve.Token("admin");
    HttpClient c(serve.url());
    for (const std::string& s : sessions) {
      StartSession(c, admin, s);
      for (int i = 0; i < 150; ++i) {
        VerdictOf(c, admin, s, "echo " + s + std::to_string(i) + std::string(200, '.'));
      }
    }
    serve.process().Signal(SIGTERM);
    REQUIRE(serve.process().Wait() == 0);
  }
  std::string good = dir.File("reins.db");
  const size_t kPage = 4096;

  struct Case {
    std::string name;
    std::function<void(const std::string&)> damage;
  };
  std::vector<Case> cases = {
      {"header", [&](const std::string& db) { Damage(db, 0, 100); }},
      // Page 2 is the root of the events table (the first table created).
      {"events root page", [&](const std::string& db) { Damage(db, kPage, kPage); }},
      {"truncated",
       [&](const std::string& db) { fs::resize_file(db, fs::file_size(db) / 2 / kPage * kPage); }},
  };
  for (const Case& k : cases) {
    SECTION(k.name) {
      std::string db = dir.File("damaged.db");
      fs::copy_file(good, db);
      k.damage(db);
      std::string before = ReadFile(db);
      auto [code, output] = ServeFails(dir.path(), {"--config", "server.yaml", "--db", db});
      CHECK(code == 1);
      CHECK(output.find("reins serve: ") != std::string::npos);
      CHECK(output.find(db) != std::string::npos);
      CHECK((output.find("malformed") != std::string::npos ||
             output.find("not a database") != std::string::npos));
      CHECK(output.find("damaged") != std::string::npos);
      CHECK(ReadFile(db) == before);  // left as it was

      auto verify = Run({ReinsBin(), "audit", "verify", "--all", "--db", db});
      INFO(verify.out << verify.err);
      CHECK(verify.exit_code == 1);
      CHECK(verify.err.find(db) != std::string::npos);
      CHECK(verify.err.find("damaged") != std::string::npos);
    }
  }

  SECTION("a page deep in the log: refused where it is read, and verify reports it") {
    std::string db = dir.File("deep.db");
    fs::copy_file(good, db);
    std::vector<int64_t> leaves = EventLeafPages(db);
    REQUIRE(leaves.size() >= 9);
    Damage(db, (leaves[leaves.size() / 2] - 1) * kPage, kPage);
    auto verify = Run({ReinsBin(), "audit", "verify", "--all", "--db", db});
    INFO(verify.out << verify.err);
    CHECK(verify.exit_code == 1);
    CHECK(verify.err.find("damaged") != std::string::npos);

    // The server starts (checking every page would make start-up time grow
    // with the log), but nothing is decided on the damaged session.
    ServeProcess serve(dir.path(), "deep.log", db);
    HttpClient c(serve.url());
    std::string admin = serve.Token("admin");
    HttpResult state = Get(c, admin, "/v1/sessions/b");
    INFO(state.body);
    CHECK(state.status == 500);
    CHECK(state.json()["error"]["code"] == "corrupt_log");
    CHECK(Get(c, admin, "/v1/sessions/b/events").status == 500);
    HttpResult event = SendEvent(c, admin, "b", BashCall("echo after"));
    CHECK(event.status == 500);
    CHECK(event.json()["error"]["code"] == "corrupt_log");
    CHECK(event.json()["error"]["message"].get<std::string>().find(db) != std::string::npos);
    CHECK(VerdictOf(c, admin, "a", "echo a-after") == "allow");
  }
}

TEST_CASE("a missing, unreadable or wrong configuration: clear errors, last good kept",
          "[failure][config][serve]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"), kConfig);
  auto fails = [&](const std::string& config) {
    return ServeFails(dir.path(), {"--config", config, "--db", "reins.db"});
  };
  {
    auto [code, out] = fails("missing.yaml");
    CHECK(code == 2);
    CHECK(out.find("missing.yaml") != std::string::npos);
    CHECK(out.find("does not exist") != std::string::npos);
  }
  {
    fs::create_directory(dir.File("adir.yaml"));
    auto [code, out] = fails("adir.yaml");
    CHECK(code == 2);
    CHECK(out.find("adir.yaml") != std::string::npos);
    CHECK(out.find("directory") != std::string::npos);
  }
  {
    WriteFile(dir.File("bad.yaml"), "policies:\n  a:\n    use: npm_then_push\n  b: [\n");
    auto [code, out] = fails("bad.yaml");
    CHECK(code == 2);
    CHECK(out.find("reins serve: bad.yaml:5:1: YAML syntax error") != std::string::npos);
  }
  {
    WriteFile(dir.File("unknown.yaml"), "policies:\n  a:\n    use: npm_then_pushh\n");
    auto [code, out] = fails("unknown.yaml");
    CHECK(code == 2);
    CHECK(out.find("unknown.yaml:3:10: policy 'a': unknown policy 'npm_then_pushh'") !=
          std::string::npos);
  }
  if (geteuid() != 0) {  // root reads a file whatever its mode
    WriteFile(dir.File("locked.yaml"), kConfig);
    fs::permissions(dir.File("locked.yaml"), fs::perms::none);
    auto [code, out] = fails("locked.yaml");
    CHECK(code == 2);
    CHECK(out.find("locked.yaml") != std::string::npos);
    CHECK(out.find("Permission denied") != std::string::npos);
  }

  // A running server given a broken configuration keeps deciding with the
  // last good one, and logs why it did not reload.
  ServeProcess serve(dir.path());
  HttpClient c(serve.url());
  std::string admin = serve.Token("admin");
  std::string digest = Get(c, "", "/healthz").json()["server_policies_digest"];
  StartSession(c, admin, "s");
  CHECK(VerdictOf(c, admin, "s", "npm install left-pad") == "allow");
  CHECK(VerdictOf(c, admin, "s", "git push") == "ask");
  std::string config = dir.File("server.yaml");
  struct Broken {
    std::string what;
    std::function<void()> make;
    std::string logged;
  };
  std::vector<Broken> broken = {
      {"deleted", [&] { fs::remove(config); }, "server.yaml: No such file or directory"},
      {"a directory", [&] { fs::create_directory(config); },
       "server.yaml: it is a directory, not a file"},
      {"malformed YAML",
       [&] {
         fs::remove(config);
         WriteFile(config, "policies:\n  supply_chain: {use: npm_then_push\n");
       },
       "server.yaml:3:1: YAML syntax error"},
      {"an unknown policy", [&] { WriteFile(config, "policies:\n  x:\n    use: nope\n"); },
       "server.yaml:3:10: policy 'x': unknown policy 'nope'"},
  };
  size_t failures = 0;
  for (const Broken& b : broken) {
    INFO("configuration " << b.what);
    b.make();
    serve.process().Signal(SIGHUP);
    REQUIRE(WaitForCount(serve.process(), "reload failed", ++failures));
    std::string out = serve.process().Output();
    std::string line = out.substr(out.rfind("reload failed"));
    line = line.substr(0, line.find('\n'));
    CHECK(line.find(b.logged) != std::string::npos);
    CHECK(Get(c, "", "/healthz").json()["server_policies_digest"] == digest);
    CHECK(VerdictOf(c, admin, "s", "git push") == "ask");  // still armed: still asks
  }
  WriteFile(config, std::string(kConfig) + "    with: {action: deny}\n");
  serve.process().Signal(SIGHUP);
  REQUIRE(serve.process().WaitForOutput("reloaded", std::chrono::seconds(20)));
  CHECK(Get(c, "", "/healthz").json()["server_policies_digest"] != digest);
  CHECK(VerdictOf(c, admin, "s", "git push") == "deny");
}

TEST_CASE("a Lua script deleted before a reload: the last good policy stays until it is back",
          "[failure][lua][serve]") {
  TempDir dir;
  std::string script = dir.File("gate.lua");
  std::string text = ReadFile(SourceDir() + "/examples/policies/npm_then_push.lua");
  REQUIRE(!text.empty());
  WriteFile(script, text);
  WriteFile(dir.File("server.yaml"), "policies:\n  supply_chain:\n    lua: gate.lua\n");
  ServeProcess serve(dir.path());
  HttpClient c(serve.url());
  std::string admin = serve.Token("admin");
  std::string digest = Get(c, "", "/healthz").json()["server_policies_digest"];
  StartSession(c, admin, "s1");
  CHECK(VerdictOf(c, admin, "s1", "npm install left-pad") == "allow");

  fs::remove(script);
  serve.process().Signal(SIGHUP);
  REQUIRE(serve.process().WaitForOutput("reload failed", std::chrono::seconds(20)));
  std::string out = serve.process().Output();
  CHECK(out.find("server.yaml:3:10: policy 'supply_chain': cannot read gate.lua: No such file") !=
        std::string::npos);
  CHECK(Get(c, "", "/healthz").json()["server_policies_digest"] == digest);
  // The script's policy still applies, to the session that armed it and to
  // a session started after the failed reload.
  CHECK(VerdictOf(c, admin, "s1", "git push") == "ask");
  StartSession(c, admin, "s2");
  CHECK(VerdictOf(c, admin, "s2", "npm install left-pad") == "allow");
  CHECK(VerdictOf(c, admin, "s2", "git push") == "ask");

  // Back, changed: it reloads.
  std::string changed = text;
  size_t at = changed.find(R"(choices = { "ask", "deny" }, default = "ask")");
  REQUIRE(at != std::string::npos);
  changed.replace(changed.find("default = \"ask\"", at), 15, "default = \"deny\"");
  WriteFile(script, changed);
  serve.process().Signal(SIGHUP);
  REQUIRE(serve.process().WaitForOutput("reloaded", std::chrono::seconds(20)));
  CHECK(Get(c, "", "/healthz").json()["server_policies_digest"] != digest);
  StartSession(c, admin, "s3");
  CHECK(VerdictOf(c, admin, "s3", "npm install left-pad") == "allow");
  CHECK(VerdictOf(c, admin, "s3", "git push") == "deny");
}
