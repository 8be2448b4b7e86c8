// Fuzzes the server's HTTP request handling: one real reins server (the
// builtins and Lua, a SQLite log and tokens in a temporary directory) on
// 127.0.0.1, started once; each input is written as raw bytes to a fresh
// TCP connection, whose write side is then closed, and the answer is read
// until the server closes or goes quiet.
//
// "@ADMIN@", "@APPROVER@" and "@AGENT@" in the input are replaced by the
// tokens of those roles, so inputs get past authentication to the handlers.
//
// Invariants: whatever arrives, the answer (if any) is an HTTP/1.1 status
// line with a known status, never a 500, and the server still answers
// GET /healthz with 200 afterwards.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "builtins/builtins.h"
#include "scripts/lua_loader.h"
#include "server/http_client.h"
#include "server/server.h"
#include "server/tokens.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Short waits everywhere: a long poll or a slow request costs the fuzzer
// its time, not the server its correctness.
constexpr const char* kConfig = R"(server:
  max_wait: 1s
  header_timeout: 1s
  idle_timeout: 1s
  max_body_bytes: 65536
  workers: 4
scripts:
  deploys_per_day: deploys_per_day.lua
policies:
  supply_chain:
    use: npm_then_push
  never:
    use: deny_commands
    with: {patterns: ["curl * | sh", "rm -rf /"]}
  budget:
    use: cost_budget
    with: {max_cost_usd: 10, ask_thresholds_usd: [5]}
  deploys:
    use: deploys_per_day
    with: {limit: 2}
)";

struct Setup;
Setup& S();

struct Setup {
  std::string dir;
  reins::PolicyRegistry registry;
  std::unique_ptr<reins::Server> server;
  int port = 0;
  std::string admin, approver, agent;

  Setup() {
    dir = reins::fuzz::MakeTempDir("reins-fuzz-http");
    // Hooks posted to the server may name transcripts under "~".
    setenv("HOME", dir.c_str(), 1);
    std::error_code ec;
    fs::copy_file(REINS_SOURCE_DIR "/examples/policies/deploys_per_day.lua",
                  dir + "/deploys_per_day.lua", ec);
    std::ofstream(dir + "/server.yaml") << kConfig;
    if (!reins::RegisterBuiltins(&registry).ok() || !reins::RegisterLuaLoader(&registry).ok()) {
      abort();
    }
    reins::ServeOptions o;
    o.registry = &registry;
    o.config_path = dir + "/server.yaml";
    o.overrides.listen = "127.0.0.1:0";
    o.overrides.token_dir = dir + "/tokens";
    o.db_path = dir + "/reins.db";
    o.io_threads = 2;
    o.log = [](const std::string&) {};
    auto s = reins::Server::Start(o);
    if (!s.ok()) {
      fprintf(stderr, "server did not start: %s\n", s.status().ToString().c_str());
      abort();
    }
    server = std::move(s).value();
    port = server->port();
    // Registered after the directory's removal, so it runs before it: no
    // server thread writes into the directory while it goes.
    std::atexit([] { S().server->Shutdown(std::chrono::seconds(2)); });
    // A token of each role, added to the file the server rereads.
    auto create = [&](reins::Role role, const char* name) {
      auto t = reins::TokenStore::Create(dir + "/tokens/tokens.json", role, name);
      if (!t.ok()) abort();
      return *t;
    };
    admin = create(reins::Role::kAdmin, "fuzz-admin");
    approver = create(reins::Role::kApprover, "fuzz-approver");
    agent = create(reins::Role::kAgent, "fuzz");
    // Inputs carry these tokens: if the server refused them, only the 401
    // path would be fuzzed.
    reins::HttpClient client("http://127.0.0.1:" + std::to_string(port));
    for (const std::string* token : {&admin, &approver, &agent}) {
      auto r = client.Request("GET", "/v1/sessions", "", *token);
      if (!r.ok() || r->status != 200) {
        fprintf(stderr, "a fuzz token is refused: %s\n",
                r.ok() ? r->body.c_str() : r.status().ToString().c_str());
        abort();
      }
    }
  }
};

Setup& S() {
  static Setup* s = new Setup();
  return *s;
}

void ReplaceAll(std::string* text, std::string_view from, const std::string& to) {
  for (size_t at = text->find(from); at != std::string::npos; at = text->find(from, at)) {
    text->replace(at, from.size(), to);
    at += to.size();
  }
}

// Sends `request` on a new connection, closes the write side and reads the
// answer until the server closes the connection, sends nothing more for
// `quiet` after it started answering (a stream), or `limit` passes.
std::string Exchange(int port, const std::string& request, std::chrono::milliseconds quiet,
                     std::chrono::milliseconds limit) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  FUZZ_CHECK(fd >= 0, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  FUZZ_CHECK(rc == 0, "the server does not accept connections");
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server answered early and closed (400, 413)
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string answer;
  auto deadline = Clock::now() + limit;
  char buf[16384];
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    int wait = static_cast<int>(answer.empty() ? left.count() : std::min(left, quiet).count());
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, std::max(wait, 1)) <= 0) {
      if (!answer.empty()) break;  // quiet: a stream or a held connection
      continue;
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

void CheckStatusLines(const std::string& answer, const std::string& request) {
  if (answer.empty()) return;  // nothing complete arrived: the server may just close
  FUZZ_CHECK(answer.rfind("HTTP/1.1 ", 0) == 0, answer.substr(0, 200));
  // Every response in the answer (pipelined requests get one each).
  for (size_t at = 0; (at = answer.find("HTTP/1.1 ", at)) != std::string::npos; at += 9) {
    if (at != 0 && answer[at - 1] != '\n') continue;  // inside a body
    int status = std::atoi(answer.c_str() + at + 9);
    FUZZ_CHECK(status >= 100 && status <= 599, answer.substr(at, 200));
    FUZZ_CHECK(status != 500, "500 for\n" + request + "\n---\n" + answer.substr(at, 2000));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Setup& s = S();
  std::string request(reinterpret_cast<const char*>(data), size);
  // Hooks posted to the server name transcript files by path.
  if (reins::fuzz::NamesSpecialFile(request)) return 0;
  ReplaceAll(&request, "@ADMIN@", s.admin);
  ReplaceAll(&request, "@APPROVER@", s.approver);
  ReplaceAll(&request, "@AGENT@", s.agent);

  std::string answer =
      Exchange(s.port, request, std::chrono::milliseconds(300), std::chrono::milliseconds(3000));
  CheckStatusLines(answer, request);

  std::string health = Exchange(s.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                                std::chrono::milliseconds(2000), std::chrono::milliseconds(5000));
  FUZZ_CHECK(health.rfind("HTTP/1.1 200", 0) == 0,
             "the server stopped answering /healthz after\n" + request + "\n---\n" + health);
  return 0;
}
