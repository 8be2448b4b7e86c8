#include <catch2/catch.hpp>

#include "builtins/builtins_testing.h"

using namespace reins;
using namespace reins::testing;

TEST_CASE("max_tool_calls_per_session: calls up to the limit pass, then deny", "[max_tool_calls]") {
  BuiltinHarness h("  cap: {use: max_tool_calls_per_session, with: {limit: 2}}\n");
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);
  CHECK(h.Must(Request()).verdict == Verdict::kAllow);  // not a tool call
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);
  Decision d = h.Must(Bash());
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason == "Exceeded 2 tool calls this session");
  CHECK(d.policies == std::vector<std::string>{"cap"});
  CHECK(h.Must(Bash()).verdict == Verdict::kDeny);
}

TEST_CASE("max_tool_calls_per_session: defaults to 100 and validates", "[max_tool_calls]") {
  BuiltinHarness h("  cap: {use: max_tool_calls_per_session}\n");
  for (int i = 0; i < 100; ++i) REQUIRE(h.Must(Bash()).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash()).reason == "Exceeded 100 tool calls this session");
  CHECK(BuiltinConfigErrors("  cap: {use: max_tool_calls_per_session, with: {limit: 2.5}}\n")
            .find("parameter 'limit': expected integer, got number") != std::string::npos);
  CHECK(BuiltinConfigErrors(R"(  cap:
    type: function
    handler: omnigent.policies.builtins.safety.max_tool_calls_per_session
    factory_params: {limit: 200}
)") == "");
}

TEST_CASE("max_tool_calls_per_session: the count waits for approval when another policy asks",
          "[max_tool_calls]") {
  BuiltinHarness h(R"(  cap: {use: max_tool_calls_per_session, with: {limit: 1}}
  budget: {use: cost_budget, with: {ask_thresholds_usd: [1]}}
)");
  h.Must(Spend(1));
  Decision d = h.Must(Bash());
  CHECK(d.verdict == Verdict::kAsk);
  h.Must({{"type", "approval"}, {"approved", false}});
  // The denied ask left no count behind, so the one allowed call remains.
  h.Must(Spend(0));
  d = h.Must(Bash());
  CHECK(d.verdict == Verdict::kAsk);
  h.Must(Approve());
  CHECK(h.Must(Bash()).reason == "Exceeded 1 tool calls this session");
}
