// Test support for the adapters' tests: the guard policies they share, a
// Gemini transcript record, and a person answering an ask while a hook holds
// it.
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include "builtins/builtins.h"
#include "engine/testing.h"

namespace reins::testing {

// The test registry with every builtin policy.
inline std::unique_ptr<PolicyRegistry> BuiltinsRegistry() {
  auto r = TestRegistry();
  REQUIRE(RegisterBuiltins(r.get()).ok());
  return r;
}

// A shell guard and the supply-chain rule, as the body of `policies:`, plus
// `extra` (more entries, same indentation).
inline std::string GuardPolicies(const std::string& extra) {
  return R"(
  never:
    use: deny_commands
    with: {patterns: ["rm -rf *"]}
  supply_chain:
    use: npm_then_push
)" + extra;
}

// One line of a Gemini CLI transcript: a model message with its token counts.
inline std::string GeminiRecord(const std::string& id, int input, int cached, int output,
                                int thoughts) {
  Json line = {{"id", id},
               {"type", "gemini"},
               {"content", ""},
               {"model", "gemini-2.5-flash"},
               {"tokens",
                {{"input", input},
                 {"output", output},
                 {"cached", cached},
                 {"thoughts", thoughts},
                 {"tool", 0},
                 {"total", input + output + thoughts}}}};
  return line.dump() + "\n";
}

// Starts a thread that waits (up to 2 s) for `session`'s first pending
// approval and approves it as "bob". Join it after the held hook returns.
inline std::thread ApproveWhenAsked(EngineHarness& h, const std::string& session) {
  return std::thread([&h, session] {
    for (int i = 0; i < 200; ++i) {
      auto pending = h.State(session).pending_approvals;
      if (!pending.empty()) {
        h.Must({{"session", session},
                {"type", "approval"},
                {"approval_id", pending.begin()->first},
                {"approved", true},
                {"by", "bob"}});
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
}

}  // namespace reins::testing
