// Test support for the server: a real reins server in the test process, on
// 127.0.0.1 port 0 with a real SQLite file, the real builtins and Lua, and
// the tokens a first start creates.
#pragma once

#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "builtins/builtins.h"
#include "engine/testing.h"
#include "scripts/lua_loader.h"
#include "server/http_client.h"
#include "server/server.h"

namespace reins::testing {

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

class TestServer {
 public:
  // `config` is a server configuration file's text; its `server:` section
  // gets listen and token_dir from the test unless it sets them.
  explicit TestServer(std::string config = "") : config_(std::move(config)) {
    REQUIRE(RegisterBuiltins(&registry_).ok());
    REQUIRE(RegisterLuaLoader(&registry_).ok());
    WriteConfig(config_);
    Start();
  }
  ~TestServer() { Stop(); }

  void WriteConfig(const std::string& config) {
    config_ = config;
    std::ofstream(dir.File("server.yaml")) << config;
  }

  void Start() {
    ServeOptions o;
    o.registry = &registry_;
    o.config_path = dir.File("server.yaml");
    if (config_.find("listen:") == std::string::npos) o.overrides.listen = listen_;
    o.overrides.token_dir = dir.File("tokens");
    o.db_path = dir.File("reins.db");
    o.io_threads = 2;
    o.log = [this](const std::string& line) {
      std::lock_guard lock(mu_);
      log_.push_back(line);
    };
    auto s = Server::Start(o);
    if (!s.ok()) FAIL("server did not start: " << s.status().ToString());
    server = std::move(s).value();
    // A restart keeps its port, so clients made before it still reach it.
    listen_ = "127.0.0.1:" + std::to_string(server->port());
    admin = Slurp(dir.File("tokens/admin.token"));
    approver = Slurp(dir.File("tokens/approver.token"));
  }

  void Stop() {
    if (server) server->Shutdown(std::chrono::seconds(5));
    server.reset();
  }

  HttpClient Client() const { return HttpClient(server->url(), std::chrono::seconds(20)); }

  // A new agent token named `name`, created like `reins token create` does.
  std::string AgentToken(const std::string& name) {
    auto t = TokenStore::Create(dir.File("tokens/tokens.json"), Role::kAgent, name);
    REQUIRE(t.ok());
    return *t;
  }

  std::vector<std::string> LogLines() {
    std::lock_guard lock(mu_);
    return log_;
  }

  TempDir dir;
  std::unique_ptr<Server> server;
  std::string admin, approver;

 private:
  PolicyRegistry registry_;
  std::string config_;
  std::string listen_ = "127.0.0.1:0";
  std::mutex mu_;
  std::vector<std::string> log_;
};

// The server policies most tests run with: installing a package makes the
// next `git push` ask.
inline constexpr const char* kGatePolicies = R"(policies:
  supply_chain:
    use: npm_then_push
)";

// A Bash tool call event.
inline Json BashCall(const std::string& command) {
  return {{"type", "tool_call"}, {"tool", "Bash"}, {"input", {{"command", command}}}};
}

// Sends a request and returns the response, failing the test on a
// transport error.
inline HttpResult Call(HttpClient& client, const std::string& method, const std::string& target,
                       const std::string& token, const Json& body = Json()) {
  auto r = client.Request(method, target, body.is_null() ? "" : body.dump(), token);
  if (!r.ok()) FAIL(method << " " << target << ": " << r.status().ToString());
  return std::move(r).value();
}

}  // namespace reins::testing
