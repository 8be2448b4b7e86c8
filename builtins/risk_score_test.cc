#include <catch2/catch.hpp>

#include "builtins/builtins_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {
const char* kRisk = R"(  risk:
    use: risk_score_policy
    with:
      threshold: 10
      tool_points: {WebFetch: 3, read_secret: 4}
      sensitive_labels: {Confidential: 5, secret: 8}
      guarded_tools: [WebFetch, send_email]
      initial_scores_by_actor: {mallory: 9}
)";
Json Tool(const std::string& tool) {
  return {{"type", "tool_call"}, {"tool", tool}, {"input", Json::object()}};
}
}  // namespace

TEST_CASE("risk_score_policy: points accumulate and guarded tools escalate", "[risk_score]") {
  BuiltinHarness h(kRisk);
  CHECK(h.Must(Tool("WebFetch")).verdict == Verdict::kAllow);                 // 3
  CHECK(h.Must(Tool("mcp__vault__read_secret")).verdict == Verdict::kAllow);  // 7, by __suffix
  CHECK(*h.State().PolicyValue("server:risk", "risk_score") == 7);
  CHECK(h.Must(Tool("Read")).policies.empty());  // no points, no opinion
  // A sensitive result adds its label's highest weight (from labels or the output).
  h.Must({{"type", "tool_result"},
          {"tool", "Read"},
          {"labels", {{"dlp", "confidential"}}},
          {"output", R"({"doc": {"sensitivity": "SECRET"}})"}});
  CHECK(*h.State().PolicyValue("server:risk", "risk_score") == 15);
  Decision d = h.Must(Tool("mcp__gmail__send_email"));
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason ==
        "risk: Elevated session risk. Session risk score 15 >= threshold 10; "
        "mcp__gmail__send_email requires review.");
  // Escalation adds no points.
  h.Must(Approve());
  CHECK(*h.State().PolicyValue("server:risk", "risk_score") == 15);
}

TEST_CASE("risk_score_policy: actors start with their own score; deny escalation", "[risk_score]") {
  BuiltinHarness h(std::string(kRisk) + "      escalate_action: deny\n");
  h.Must({{"type", "session_start"}, {"user", "mallory"}});
  CHECK(h.Must(Tool("Read")).verdict == Verdict::kAllow);
  h.Must(Tool("mcp__vault__read_secret"));  // 9 + 4 = 13
  CHECK(h.Must(Tool("WebFetch")).verdict == Verdict::kDeny);
}

TEST_CASE("risk_score_policy: parameters are validated", "[risk_score]") {
  CHECK(BuiltinConfigErrors("  r: {use: risk_score_policy, with: {tool_points: {Bash: high}}}\n")
            .find("tool_points['Bash'] must be a number") != std::string::npos);
  CHECK(BuiltinConfigErrors("  r: {use: risk_score_policy, with: {escalate_action: warn}}\n")
            .find("'warn' is not one of: ask, deny") != std::string::npos);
  CHECK(BuiltinConfigErrors(R"(  r:
    type: function
    handler: omnigent.policies.builtins.risk_score.risk_score_policy
    factory_params: {threshold: 40, escalate_action: ASK}
)") == "");
}
