// `reins serve` as a process: first start, reload on SIGHUP, graceful stop
// on SIGTERM, people answering from the terminal, and a SIGKILL under load
// that must lose nothing the clients were told.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "engine/log_store.h"
#include "engine/testing.h"
#include "server/http_client.h"
#include "tests/support/process.h"
#include "tests/support/serve_process.h"

using namespace reins;
using namespace reins::testing;

namespace {

const char* kConfig = R"(policies:
  supply_chain:
    use: npm_then_push
)";

Json BashCall(const std::string& command) {
  return {{"type", "tool_call"}, {"tool", "Bash"}, {"input", {{"command", command}}}};
}

Json Post(HttpClient& c, const std::string& target, const std::string& token, const Json& body) {
  auto r = c.Request("POST", target, body.dump(), token);
  REQUIRE(r.ok());
  INFO(r->body);
  REQUIRE(r->status / 100 == 2);
  return r->json();
}

}  // namespace

TEST_CASE("reins serve starts, reloads on SIGHUP and stops cleanly on SIGTERM", "[serve]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"), kConfig);
  ServeProcess serve(dir.path());
  std::string out = serve.process().Output();
  CHECK(out.find("first start: created tokens (mode 0600)") != std::string::npos);
  CHECK(out.find(dir.File("tokens/approver.token")) != std::string::npos);

  HttpClient c(serve.url());
  std::string before = c.Request("GET", "/healthz")->json()["server_policies_digest"];
  WriteFile(dir.File("server.yaml"),
            std::string(kConfig) + "  cap:\n    use: max_tool_calls_per_session\n");
  serve.process().Signal(SIGHUP);
  REQUIRE(serve.process().WaitForOutput("reloaded", std::chrono::seconds(10)));
  std::string after = c.Request("GET", "/healthz")->json()["server_policies_digest"];
  CHECK(after != before);
  CHECK(serve.process().Output().find(after) != std::string::npos);

  WriteFile(dir.File("server.yaml"), "policies: [");
  serve.process().Signal(SIGHUP);
  REQUIRE(serve.process().WaitForOutput("reload failed", std::chrono::seconds(10)));
  CHECK(c.Request("GET", "/healthz")->json()["server_policies_digest"] == after);

  serve.process().Signal(SIGTERM);
  CHECK(serve.process().Wait() == 0);
  CHECK(serve.process().Output().find("stopped") != std::string::npos);
}

TEST_CASE("people list, approve and deny asks from the terminal", "[serve]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"), kConfig);
  ServeProcess serve(dir.path());
  HttpClient c(serve.url());
  std::string admin = serve.Token("admin");
  std::string ids[2];
  for (int i = 0; i < 2; ++i) {
    std::string s = "s" + std::to_string(i);
    Post(c, "/v1/sessions", admin, {{"id", s}});
    Post(c, "/v1/sessions/" + s + "/events", admin, BashCall("npm install left-pad"));
    ids[i] = Post(c, "/v1/sessions/" + s + "/events", admin, BashCall("git push"))["approval_id"];
  }

  auto listed = Run({ReinsBin(), "approvals"}, "", dir.path(), serve.Env("approver"));
  CHECK(listed.exit_code == 0);
  CHECK(listed.out.find("SESSION") != std::string::npos);
  CHECK(listed.out.find(ids[0]) != std::string::npos);
  CHECK(listed.out.find("supply_chain") != std::string::npos);
  CHECK(listed.out.find("git push") != std::string::npos);

  BackgroundProcess follow({ReinsBin(), "approvals", "--follow"}, dir.File("follow.log"),
                           dir.path(), serve.Env("approver"));
  REQUIRE(follow.WaitForOutput(ids[1], std::chrono::seconds(10)));

  auto ok = Run({ReinsBin(), "approve", ids[0], "--grant", "session", "--note", "fine"}, "",
                dir.path(), serve.Env("approver"));
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.rfind("approved " + ids[0], 0) == 0);
  auto no = Run({ReinsBin(), "deny", ids[1], "--note", "not today"}, "", dir.path(),
                serve.Env("approver"));
  CHECK(no.exit_code == 0);
  CHECK(follow.WaitForOutput("resolved " + ids[1], std::chrono::seconds(10)));

  auto twice = Run({ReinsBin(), "approve", ids[0]}, "", dir.path(), serve.Env("approver"));
  CHECK(twice.exit_code != 0);
  CHECK(twice.err.find("already approved") != std::string::npos);
  // An agent's token cannot answer.
  auto created = Run({ReinsBin(), "token", "create", "--role", "agent", "--name", "bot",
                      "--token-dir", dir.File("tokens")});
  REQUIRE(created.exit_code == 0);
  std::string agent = created.out.substr(0, created.out.find('\n'));
  auto refused = Run({ReinsBin(), "approve", ids[1]}, "", dir.path(),
                     {{"REINS_SERVER", serve.url()}, {"REINS_TOKEN", agent}});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("HTTP 403") != std::string::npos);
}

TEST_CASE("audit show --server reads a session from a running server and follows it", "[serve]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"), kConfig);
  ServeProcess serve(dir.path());
  HttpClient c(serve.url());
  std::string admin = serve.Token("admin");
  Post(c, "/v1/sessions", admin, {{"id", "live"}, {"user", "eve"}});
  Post(c, "/v1/sessions/live/events", admin, BashCall("npm install left-pad"));

  auto shown = Run({ReinsBin(), "audit", "show", "live", "--server", serve.url()}, "", dir.path(),
                   serve.Env("approver"));
  INFO(shown.err);
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.out.find("session live  started ") == 0);
  CHECK(shown.out.find("user eve") != std::string::npos);
  CHECK(shown.out.find("npm install left-pad") != std::string::npos);

  BackgroundProcess follow(
      {ReinsBin(), "audit", "show", "live", "--server", serve.url(), "--follow", "--json"},
      dir.File("follow.log"), dir.path(), serve.Env("approver"));
  REQUIRE(follow.WaitForOutput("npm install left-pad", std::chrono::seconds(10)));
  Post(c, "/v1/sessions/live/events", admin, BashCall("git push"));
  CHECK(follow.WaitForOutput("\"verdict\":\"ask\"", std::chrono::seconds(10)));
  Post(c, "/v1/sessions/live/events", admin, {{"type", "session_end"}});
  CHECK(follow.WaitFor(std::chrono::seconds(10)) == 0);
  CHECK(follow.Output().find("git push") != std::string::npos);
  CHECK(follow.Output().find("session_end") != std::string::npos);

  // Reading the log is for approvers and admins: an agent's token is refused.
  auto created = Run({ReinsBin(), "token", "create", "--role", "agent", "--name", "bot",
                      "--token-dir", dir.File("tokens")});
  REQUIRE(created.exit_code == 0);
  std::string agent = created.out.substr(0, created.out.find('\n'));
  auto refused = Run({ReinsBin(), "audit", "show", "live", "--server", serve.url()}, "", dir.path(),
                     {{"REINS_TOKEN", agent}});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("403") != std::string::npos);
  auto missing = Run({ReinsBin(), "audit", "show", "nope", "--server", serve.url()}, "", dir.path(),
                     serve.Env("approver"));
  CHECK(missing.exit_code == 2);
}

TEST_CASE("a server killed under load loses nothing it acknowledged", "[serve][crash]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"), kConfig);
  constexpr int kClients = 4;
  // Per client: the last event sequence number whose decision it received.
  std::vector<int64_t> acknowledged(kClients, 0);
  std::atomic<int> answered{0};
  for (int round = 0; round < 3; ++round) {
    auto serve =
        std::make_unique<ServeProcess>(dir.path(), "serve" + std::to_string(round) + ".log");
    std::string admin = serve->Token("admin");
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        HttpClient c(serve->url(), std::chrono::seconds(5));
        std::string s = "c" + std::to_string(i);
        if (round == 0) {
          auto r = c.Request("POST", "/v1/sessions", Json{{"id", s}}.dump(), admin);
          if (!r.ok() || r->status != 201) return;
        }
        for (int n = 0;; ++n) {
          auto r = c.Request("POST", "/v1/sessions/" + s + "/events",
                             BashCall("echo " + std::to_string(n)).dump(), admin);
          if (!r.ok() || r->status != 200) return;  // the server is gone
          acknowledged[i] = r->json()["seq"];
          ++answered;
        }
      });
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (answered < 200 * (round + 1) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    INFO(serve->process().Output());
    CHECK(answered >= 200 * (round + 1));
    serve->process().Signal(SIGKILL);
    for (auto& t : clients) t.join();
    CHECK(serve->process().Wait() == 128 + SIGKILL);
  }

  // A fresh start recovers every session, and every acknowledged event is
  // in a log whose hash chain verifies.
  ServeProcess serve(dir.path(), "final.log");
  HttpClient c(serve.url());
  for (int i = 0; i < kClients; ++i) {
    std::string s = "c" + std::to_string(i);
    INFO(s << " acknowledged up to " << acknowledged[i]);
    auto state = c.Request("GET", "/v1/sessions/" + s, "", serve.Token("admin"));
    REQUIRE(state.ok());
    REQUIRE(state->status == 200);
    CHECK(state->json()["last_seq"].get<int64_t>() >= acknowledged[i]);
    auto event = c.Request(
        "GET",
        "/v1/sessions/" + s + "/events?after=" + std::to_string(acknowledged[i] - 1) + "&limit=1",
        "", serve.Token("admin"));
    REQUIRE(event.ok());
    Json rec = event->json()["records"][0];
    CHECK(rec["seq"] == acknowledged[i]);
    CHECK(rec["kind"] == "event");
    CHECK(rec["body"]["tool"] == "Bash");
  }
  serve.process().Signal(SIGTERM);
  REQUIRE(serve.process().Wait() == 0);
  auto store = OpenSqliteLogStore(dir.File("reins.db"));
  REQUIRE(store.ok());
  for (int i = 0; i < kClients; ++i) {
    auto report = (*store)->Verify("c" + std::to_string(i));
    REQUIRE(report.ok());
    CHECK(report->ok());
    CHECK(report->records >= acknowledged[i]);
  }
}

TEST_CASE("reins hook claude --server forwards to the server, and refuses when it is down",
          "[serve][claude]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"), kConfig);
  std::string hook = Json{
      {"hook_event_name", "PreToolUse"},
      {"session_id", "cc"},
      {"cwd", "/work"},
      {"transcript_path", "/nonexistent.jsonl"},
      {"tool_name", "Bash"},
      {"tool_input", {{"command", "npm install x"}}},
      {"tool_use_id",
       "toolu_1"}}.dump();
  std::string url;
  {
    ServeProcess serve(dir.path());
    url = serve.url();
    auto created = Run({ReinsBin(), "token", "create", "--role", "agent", "--name", "claude",
                        "--token-dir", dir.File("tokens")});
    REQUIRE(created.exit_code == 0);
    WriteFile(dir.File("agent.token"), created.out);
    auto r = Run(
        {ReinsBin(), "hook", "claude", "--server", url, "--token-file", dir.File("agent.token")},
        hook);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "{}\n");
    HttpClient c(url);
    auto state = c.Request("GET", "/v1/sessions/cc", "", serve.Token("admin"));
    REQUIRE(state.ok());
    CHECK(state->json()["owner"] == "claude");
    serve.process().Signal(SIGTERM);
    REQUIRE(serve.process().Wait() == 0);
  }
  auto down =
      Run({ReinsBin(), "hook", "claude", "--server", url, "--token-file", dir.File("agent.token")},
          hook);
  CHECK(down.exit_code == 0);
  Json out = Json::parse(down.out);
  CHECK(out["hookSpecificOutput"]["permissionDecision"] == "deny");
  CHECK(out["hookSpecificOutput"]["permissionDecisionReason"].get<std::string>().find(
            "reins server") != std::string::npos);
}
