// `reins hook claude` as Claude Code runs it: a process per hook, hook JSON
// on stdin, the answer on stdout, several at once against one log.
#include <catch2/catch.hpp>
#include <future>

#include "engine/log_store.h"
#include "engine/testing.h"
#include "tests/support/process.h"

using namespace reins;
using namespace reins::testing;

namespace {

Json PreToolUse(const std::string& session, const std::string& command, int n) {
  return {{"hook_event_name", "PreToolUse"},
          {"session_id", session},
          {"cwd", "/work"},
          {"transcript_path", "/nonexistent/t.jsonl"},
          {"tool_name", "Bash"},
          {"tool_input", {{"command", command}}},
          {"tool_use_id", "toolu_" + std::to_string(n)}};
}

}  // namespace

TEST_CASE("reins hook claude answers Claude Code from the shared log", "[hook]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"),
            "engine:\n  db: reins.db\npolicies:\n  never:\n    use: deny_commands\n"
            "    with: {patterns: [\"rm -rf *\"]}\n");
  std::vector<std::string> argv = {ReinsBin(), "hook", "claude", "--config",
                                   dir.File("server.yaml")};
  auto denied = Run(argv, PreToolUse("s1", "rm -rf /", 1).dump());
  CHECK(denied.exit_code == 0);
  Json out = Json::parse(denied.out);
  CHECK(out["hookSpecificOutput"]["permissionDecision"] == "deny");

  // Eight hook processes at once, as parallel tool calls make them.
  std::vector<std::future<ProcessResult>> runs;
  for (int i = 0; i < 8; ++i) {
    runs.push_back(std::async(std::launch::async, [&, i] {
      return Run(argv, PreToolUse("s1", "echo " + std::to_string(i), 10 + i).dump());
    }));
  }
  for (auto& r : runs) {
    ProcessResult p = r.get();
    INFO(p.err);
    CHECK(p.exit_code == 0);
    CHECK(p.out == "{}\n");
  }
  auto store = OpenSqliteLogStore(dir.File("reins.db"));
  REQUIRE(store.ok());
  int calls = 0;
  REQUIRE((*store)
              ->ScanEvents("s1", "tool_call", "", 0, 100,
                           [&](const Record&) {
                             ++calls;
                             return true;
                           })
              .ok());
  CHECK(calls == 9);
  CHECK((*store)->Verify("s1")->ok());

  // A new session whose first hooks race: one start, every call recorded.
  runs.clear();
  for (int i = 0; i < 6; ++i) {
    runs.push_back(std::async(std::launch::async, [&, i] {
      return Run(argv, PreToolUse("s2", "echo " + std::to_string(i), 20 + i).dump());
    }));
  }
  for (auto& r : runs) CHECK(r.get().exit_code == 0);
  int starts = 0;
  calls = 0;
  REQUIRE((*store)
              ->ScanEvents("s2", "", "", 0, 100,
                           [&](const Record& r) {
                             starts += r.body["type"] == "session_start";
                             calls += r.body["type"] == "tool_call";
                             return true;
                           })
              .ok());
  CHECK(starts == 1);
  CHECK(calls == 6);

  // Input it cannot read blocks: exit 2, the reason on stderr.
  auto bad = Run(argv, "{oops");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("not a JSON object") != std::string::npos);
}
