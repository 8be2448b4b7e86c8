// examples/policies/npm_then_push.lua and the npm_then_push builtin give
// identical decisions on the same event streams.
#include <fstream>
#include <random>

#include "builtins/builtins.h"
#include "scripts/lua_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

std::unique_ptr<PolicyRegistry> BothRegistry() {
  auto r = std::make_unique<PolicyRegistry>();
  REQUIRE(RegisterBuiltins(r.get()).ok());
  REQUIRE(RegisterLuaLoader(r.get()).ok());
  return r;
}

// The same policy name in both, so reasons ("p: ...") compare as they are.
std::string Builtin() {
  return "  p: {use: npm_then_push}\n  off: {use: self_protect, enabled: false}\n";
}
std::string Lua() {
  return "  p: {lua: " + std::string(REINS_SOURCE_DIR) +
         "/examples/policies/npm_then_push.lua}\n  off: {use: self_protect, enabled: false}\n";
}

// Runs `events` through both and compares every decision.
void Same(const std::vector<Json>& events) {
  EngineHarness builtin(Builtin(), ":memory:", BothRegistry());
  EngineHarness lua(Lua(), ":memory:", BothRegistry());
  for (size_t i = 0; i < events.size(); ++i) {
    INFO("event " << i << ": " << events[i].dump());
    auto a = builtin.Send(events[i]);
    auto b = lua.Send(events[i]);
    REQUIRE(a.ok() == b.ok());
    if (!a.ok()) continue;
    CHECK(a->ToJson() == b->ToJson());
  }
}

}  // namespace

TEST_CASE("npm_then_push: Lua and builtin agree on the example session", "[lua][equivalence]") {
  std::vector<Json> events;
  std::ifstream in(std::string(REINS_SOURCE_DIR) + "/examples/sessions/npm_then_push.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) events.push_back(Json::parse(line));
  }
  REQUIRE(events.size() > 5);
  Same(events);
}

TEST_CASE("npm_then_push: Lua and builtin agree on installs and push shapes",
          "[lua][equivalence]") {
  const char* installs[] = {"npm install left-pad",   "npm ci",         "npm install",
                            "pip install -r req.txt", "yarn add react", "sudo npm i -g pm2",
                            "cargo add serde",        "go get ./...",   "pip install ."};
  const char* pushes[] = {"git push",
                          "echo hi & git push EVIL main",
                          "bash -lc \"git push x\"",
                          "sudo -u root git push o m",
                          "env -S 'git push o m'",
                          "x=$(git push o m)",
                          "find . -exec git push \\;",
                          "git -C r push",
                          "git pull",
                          "git status"};
  for (const char* i : installs) {
    for (const char* p : pushes) {
      std::vector<Json> events = {BashCall(i), BashCall(p), ApprovalEvent(), BashCall(p)};
      Same(events);
    }
  }
}

TEST_CASE("npm_then_push: Lua and builtin agree on random streams", "[lua][equivalence]") {
  const char* commands[] = {"npm install lodash",
                            "npm ci",
                            "git push origin main",
                            "ls",
                            "git push",
                            "pip install requests",
                            "make test",
                            "npm i x && git push",
                            "git push && npm i y",
                            "bun add zod"};
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    std::vector<Json> events;
    for (int i = 0; i < 25; ++i) {
      if (rng() % 5 == 0) {
        events.push_back(ApprovalEvent(rng() % 2 == 0));
      } else {
        events.push_back(BashCall(commands[rng() % std::size(commands)]));
      }
    }
    Same(events);
  }
}
