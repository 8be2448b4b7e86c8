// Test support: a real `reins serve` child process on a free loopback port,
// with its tokens written on first start.
#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "tests/support/process.h"

namespace reins::testing {

// `reins serve --config server.yaml` run in `dir` (log `db`, relative to
// `dir`, tokens in tokens/), output in `dir/log`. Waits until it serves.
class ServeProcess {
 public:
  explicit ServeProcess(const std::string& dir, const std::string& log = "serve.log",
                        const std::string& db = "reins.db")
      : dir_(dir),
        process_({ReinsBin(), "serve", "--config", "server.yaml", "--listen", "127.0.0.1:0",
                  "--token-dir", "tokens", "--db", db},
                 dir + "/" + log, dir) {
    REQUIRE(process_.WaitForOutput("reins is serving", std::chrono::seconds(20)));
    std::string out = process_.Output();
    size_t at = out.find("API         ");
    REQUIRE(at != std::string::npos);
    url_ = out.substr(at + 12, out.find('\n', at) - at - 12);
  }

  const std::string& url() const { return url_; }
  BackgroundProcess& process() { return process_; }
  std::string TokenFile(const std::string& role) const {
    return dir_ + "/tokens/" + role + ".token";
  }
  std::string Token(const std::string& role) const {
    std::string t = ReadFile(TokenFile(role));
    while (!t.empty() && t.back() == '\n') t.pop_back();
    return t;
  }
  // What the CLI needs to reach this server with `role`'s token.
  std::map<std::string, std::string> Env(const std::string& role) const {
    return {{"REINS_SERVER", url_}, {"REINS_TOKEN_FILE", TokenFile(role)}};
  }

 private:
  std::string dir_;
  BackgroundProcess process_;
  std::string url_;
};

}  // namespace reins::testing
