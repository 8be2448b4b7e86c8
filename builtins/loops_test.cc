#include <catch2/catch.hpp>

#include "builtins/builtins_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {
Json ToolResult(bool error, Json output = "ok") {
  return {{"type", "tool_result"}, {"tool", "Bash"}, {"is_error", error}, {"output", output}};
}
}  // namespace

TEST_CASE("detect_loop: identical calls in the window ask", "[detect_loop]") {
  BuiltinHarness h("  loop: {use: detect_loop, with: {window: 4, threshold: 3}}\n");
  CHECK(h.Must(Bash("make")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("make")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("make test")).verdict == Verdict::kAllow);  // different input
  Decision d = h.Must(Bash("make"));
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason ==
        "loop: The agent called Bash with identical input 3 times in its last 4 tool "
        "calls; it looks stuck in a loop.");
  h.Must(Approve());
  // A new user request resets the window.
  h.Must(Request("try a different approach"));
  CHECK(h.Must(Bash("make")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("make")).verdict == Verdict::kAllow);
}

TEST_CASE("detect_loop: old calls leave the window; exempt tools and deny", "[detect_loop]") {
  BuiltinHarness h(
      "  loop: {use: detect_loop, with: {window: 3, threshold: 2, action: deny, exempt_tools: "
      "[Read]}}\n");
  h.Must(Bash("a"));
  h.Must(Bash("b"));
  h.Must(Bash("c"));
  CHECK(h.Must(Bash("a")).verdict == Verdict::kAllow);  // the first "a" fell out
  CHECK(h.Must(Bash("a")).verdict == Verdict::kDeny);
  Json read = {{"type", "tool_call"}, {"tool", "Read"}, {"input", {{"file_path", "x"}}}};
  for (int i = 0; i < 4; ++i) CHECK(h.Must(read).policies.empty());
  CHECK(BuiltinConfigErrors("  l: {use: detect_loop, with: {window: 2, threshold: 3}}\n")
            .find("threshold must not exceed window") != std::string::npos);
}

TEST_CASE("detect_thrashing: a run of errors pauses the agent", "[detect_thrashing]") {
  BuiltinHarness h("  thrash: {use: detect_thrashing, with: {consecutive_threshold: 3}}\n");
  CHECK(h.Must(ToolResult(true)).verdict == Verdict::kAllow);
  CHECK(h.Must(ToolResult(false, "Error: file not found")).verdict == Verdict::kAllow);
  Decision d = h.Must(ToolResult(false, Json{{"exit_code", 2}, {"stdout", ""}}));
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason.find("3 tool errors in a row") != std::string::npos);
  h.Must(Approve());
  CHECK(h.Must(ToolResult(false, "all good")).verdict == Verdict::kAllow);
}

TEST_CASE("detect_thrashing: a high error rate over a full window", "[detect_thrashing]") {
  BuiltinHarness h(
      "  thrash: {use: detect_thrashing, with: {consecutive_threshold: 10, window: 5, "
      "window_error_rate: 0.6, action: deny}}\n");
  for (bool e : {true, false, true, false}) CHECK(h.Must(ToolResult(e)).verdict == Verdict::kAllow);
  Decision d = h.Must(ToolResult(false, "Traceback (most recent call last):\n  File x"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason.find("last 5 tool calls failed 3 times") != std::string::npos);
  CHECK(BuiltinConfigErrors("  t: {use: detect_thrashing, with: {window_error_rate: 1.5}}\n")
            .find("window_error_rate must be in (0, 1]") != std::string::npos);
}
