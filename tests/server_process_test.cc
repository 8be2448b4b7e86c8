// `reins serve` as a process: first start, reload on SIGHUP, graceful stop
// on SIGTERM, people answering from the terminal. (Its failures, a SIGKILL
// under load among them, are in failure_test.cc.)
#include <signal.h>

#include <catch2/catch.hpp>

#include "engine/testing.h"
#include "server/http_client.h"
#include "server/http_server.h"
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

// SIGKILL under load, 20 times on one log: tests/failure_test.cc.

namespace {

// Claude Code's PreToolUse hook input for a Bash command.
std::string PreToolUseBash(const std::string& session, const std::string& command) {
  return Json{{"hook_event_name", "PreToolUse"},
              {"session_id", session},
              {"cwd", "/work"},
              {"transcript_path", "/nonexistent.jsonl"},
              {"tool_name", "Bash"},
              {"tool_input", {{"command", command}}},
              {"tool_use_id", "toolu_1"}}
      .dump();
}

}  // namespace

TEST_CASE("reins hook claude --server forwards to the server, and refuses when it is down",
          "[serve][claude]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"), kConfig);
  std::string hook = PreToolUseBash("cc", "npm install x");
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

TEST_CASE("reins hook --server refuses when a gateway answers with an error of its own form",
          "[serve][claude]") {
  // A proxy in front of the server that answers {"error": "..."}: reading
  // its "message" threw, the hook died, and Claude Code takes a hook that
  // dies as a non-blocking error: the tool call went ahead.
  TempDir dir;
  WriteFile(dir.File("agent.token"), "reins_" + std::string(64, 'a'));
  HttpServer gateway(
      {},
      [](HttpRequest&, HttpExchange&) -> boost::asio::awaitable<HttpResponse> {
        co_return HttpResponse{502, "application/json", R"({"error": "upstream down"})", {}};
      },
      nullptr);
  REQUIRE(gateway.ListenTcp("127.0.0.1:0").ok());
  gateway.Start(1);
  std::string url = "http://127.0.0.1:" + std::to_string(gateway.tcp_port());
  std::string hook = PreToolUseBash("gw", "rm -rf build");
  auto r =
      Run({ReinsBin(), "hook", "claude", "--server", url, "--token-file", dir.File("agent.token")},
          hook);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Json out = Json::parse(r.out);
  CHECK(out["hookSpecificOutput"]["permissionDecision"] == "deny");
  CHECK(out["hookSpecificOutput"]["permissionDecisionReason"].get<std::string>().find(
            "upstream down") != std::string::npos);
  gateway.Shutdown(std::chrono::seconds(1));
}
