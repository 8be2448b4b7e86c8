#include <catch2/catch.hpp>

#include "builtins/builtins_testing.h"

using namespace reins;
using namespace reins::testing;

TEST_CASE("cost_budget: parameters are validated at load", "[cost_budget]") {
  CHECK(BuiltinConfigErrors("  b: {use: cost_budget}\n") ==
        "t.yaml:2:3: policy 'b' (cost_budget): at least one of max_cost_usd, "
        "ask_thresholds_usd, pause_every_usd is required\n");
  CHECK(BuiltinConfigErrors(
            "  b: {use: cost_budget, with: {max_cost_usd: 10, ask_thresholds_usd: [5, 10]}}\n") ==
        "t.yaml:2:70: policy 'b' (cost_budget): each threshold must lie strictly between 0 and "
        "max_cost_usd; got $10.00\n");
  CHECK(BuiltinConfigErrors("  b: {use: cost_budget, with: {max_cost_usd: 0}}\n")
            .find("max_cost_usd must be > 0") != std::string::npos);
  CHECK(BuiltinConfigErrors("  b: {use: cost_budget, with: {max_cost_usd: ten}}\n")
            .find("parameter 'max_cost_usd': expected number, got string") != std::string::npos);
  CHECK(BuiltinConfigErrors("  b: {use: cost_budget, with: {max_usd: 1}}\n")
            .find("unknown parameter 'max_usd'") != std::string::npos);
  CHECK(BuiltinConfigErrors(R"(  b:
    type: function
    handler: omnigent.policies.builtins.cost.cost_budget
    factory_params: {max_cost_usd: 10.0, ask_thresholds_usd: [5.0]}
)") == "");
}

TEST_CASE("cost_budget: at the cap every model is denied by default", "[cost_budget]") {
  BuiltinHarness h("  budget: {use: cost_budget, with: {max_cost_usd: 10}}\n");
  CHECK(h.Must(Request()).verdict == Verdict::kAllow);
  h.Must(Spend(9.99));
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);
  h.Must(Spend(0.01));
  Decision d = h.Must(Request());
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason ==
        "Session spend $10.00 has reached the $10.00 budget. Every model is blocked over budget.");
  d = h.Must(Bash());
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason.find("do not retry this tool call") != std::string::npos);
  CHECK(h.Must({{"type", "llm_request"}, {"model", "claude-haiku-4-5"}}).verdict == Verdict::kDeny);
  // Events it does not gate pass.
  CHECK(h.Must({{"type", "response"}, {"text", "ok"}}).verdict == Verdict::kAllow);
}

TEST_CASE("cost_budget: over the cap only expensive models are denied", "[cost_budget]") {
  BuiltinHarness h(
      "  budget: {use: cost_budget, with: {max_cost_usd: 5, expensive_models: [Opus, gpt-5]}}\n");
  h.Must({{"type", "session_start"}, {"model", "claude-opus-4-5"}});
  h.Must(Spend(6));
  Decision d = h.Must(Request());
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason.find("Models matching opus, gpt-5 are blocked over budget (current: "
                      "claude-opus-4-5)") != std::string::npos);
  // The event's own model wins: a request to a cheap model passes.
  CHECK(h.Must({{"type", "llm_request"}, {"model", "claude-haiku-4-5"}}).verdict ==
        Verdict::kAllow);
  CHECK(h.Must({{"type", "llm_request"}, {"model", "GPT-5-codex"}}).verdict == Verdict::kDeny);
  // The session's model is now haiku (last llm_request was gpt-5-codex: denied but seen).
  h.Must({{"type", "llm_response"}, {"model", "claude-haiku-4-5"}});
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);
}

TEST_CASE("cost_budget: an unknown model counts as expensive", "[cost_budget]") {
  BuiltinHarness h(
      "  budget: {use: cost_budget, with: {max_cost_usd: 1, expensive_models: [opus]}}\n");
  h.Must(Spend(2));
  CHECK(h.Must(Bash()).verdict == Verdict::kDeny);
}

TEST_CASE("cost_budget: thresholds ask once per approved high-water mark", "[cost_budget]") {
  BuiltinHarness h(
      "  budget: {use: cost_budget, with: {max_cost_usd: 10, ask_thresholds_usd: [5, 2]}}\n");
  h.Must(Spend(1.5));
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);
  h.Must(Spend(1.0));
  Decision d = h.Must(Bash());
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(
      d.reason ==
      "budget: Session spend $2.50 passed the $2.00 warning threshold (budget $10.00); continue?");
  // Until someone approves, it keeps asking.
  CHECK(h.Must(Request()).verdict == Verdict::kAsk);
  h.Must(Approve());
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);
  // Jumping over the next threshold asks once, for it.
  h.Must(Spend(4.0));
  d = h.Must(Bash());
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason.find("passed the $5.00 warning threshold") != std::string::npos);
  h.Must(Approve(d.approval_id));
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);
}

TEST_CASE("cost_budget: a denied threshold ask asks again", "[cost_budget]") {
  BuiltinHarness h("  budget: {use: cost_budget, with: {ask_thresholds_usd: [1]}}\n");
  h.Must(Spend(1));
  h.Must(Bash());
  h.Must({{"type", "approval"}, {"approved", false}});
  CHECK(h.Must(Bash()).verdict == Verdict::kAsk);
}

TEST_CASE("cost_budget: pause_every_usd pauses at each multiple", "[cost_budget]") {
  BuiltinHarness h("  budget: {use: cost_budget, with: {pause_every_usd: 100}}\n");
  h.Must(Spend(99));
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);
  h.Must(Spend(21));
  Decision d = h.Must(Bash());
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason ==
        "budget: Session spend $120.00 passed $100.00 (a pause every $100.00); continue?");
  h.Must(Approve());
  h.Must(Spend(60));
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);  // $180: no new multiple
  h.Must(Spend(250));                                // $430: jumps over 200 and 300
  d = h.Must(Bash());
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason.find("passed $400.00") != std::string::npos);
  h.Must(Approve());
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);
}

TEST_CASE("cost_budget: unpriced usage asks once per model", "[cost_budget]") {
  BuiltinHarness h("  budget: {use: cost_budget, with: {max_cost_usd: 10}}\n");
  h.Must({{"type", "llm_response"}, {"model", "house-llm"}, {"usage", {{"input_tokens", 500}}}});
  Decision d = h.Must(Bash());
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason.find("No price is known for 'house-llm'") != std::string::npos);
  h.Must(Approve());
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);
  h.Must({{"type", "llm_response"}, {"model", "other-llm"}, {"usage", {{"output_tokens", 1}}}});
  d = h.Must(Bash());
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason.find("'other-llm'") != std::string::npos);
  CHECK(d.reason.find("house-llm") == std::string::npos);
}

TEST_CASE("cost_budget: priced usage and child sessions count toward the budget", "[cost_budget]") {
  BuiltinHarness h("  budget: {use: cost_budget, with: {max_cost_usd: 0.4}}\n");
  h.Must({{"session", "root"}, {"type", "session_start"}});
  h.Must({{"session", "child"}, {"type", "session_start"}, {"parent", "root"}});
  CHECK(h.Must({{"session", "root"}, {"type", "request"}, {"text", "go"}}).verdict ==
        Verdict::kAllow);
  // 100k input tokens of Sonnet 4.5 cost $0.30; 10k output tokens $0.15.
  h.Must({{"session", "child"},
          {"type", "llm_response"},
          {"model", "claude-sonnet-4-5"},
          {"usage", {{"input_tokens", 100000}, {"output_tokens", 10000}}}});
  CHECK(h.Must({{"session", "root"}, {"type", "request"}, {"text", "go on"}}).verdict ==
        Verdict::kDeny);
}

TEST_CASE("user_daily_cost_budget: the owner's spend today across sessions", "[user_daily]") {
  BuiltinHarness h(
      "  daily: {use: user_daily_cost_budget, with: {max_cost_usd: 5, ask_thresholds_usd: [2]}}\n");
  TimeUs day1 = kStart, day2 = kStart + 24 * 3600 * kSecond;
  auto at = [](Json e, const char* session) {
    e["session"] = session;
    return e;
  };
  h.Must(at({{"type", "session_start"}, {"user", "ann"}}, "a1"), day1);
  h.Must(at({{"type", "session_start"}, {"user", "ann"}}, "a2"), day1 + 1);
  h.Must(at({{"type", "session_start"}, {"user", "bob"}}, "b1"), day1 + 2);
  h.Must(at(Spend(1.5), "a1"), day1 + 3);
  h.Must(at(Spend(1.0), "a2"), day1 + 4);
  // $2.50 across ann's two sessions passes her $2 threshold; bob is at $0.
  Decision d = h.Must(at(Bash(), "a1"), day1 + 5);
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason ==
        "daily: Ann's spend today $2.50 passed the $2.00 warning threshold (budget $5.00); "
        "continue?");
  CHECK(h.Must(at(Bash(), "b1"), day1 + 6).verdict == Verdict::kAllow);
  h.Must(at(Approve(d.approval_id), "a1"), day1 + 7);
  // The approval is remembered for ann's other session too.
  CHECK(h.Must(at(Bash(), "a2"), day1 + 8).verdict == Verdict::kAllow);
  // Over the cap across sessions: denied in either.
  h.Must(at(Spend(3.0), "a2"), day1 + 9);
  d = h.Must(at(Request(), "a1"), day1 + 10);
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason.find("Ann's spend today $5.50 has reached the $5.00 daily budget") == 0);
  // A new UTC day starts from zero, and the threshold asks again.
  CHECK(h.Must(at(Bash(), "a1"), day2).verdict == Verdict::kAllow);
  h.Must(at(Spend(2.25), "a1"), day2 + 1);
  CHECK(h.Must(at(Bash(), "a2"), day2 + 2).verdict == Verdict::kAsk);
}

TEST_CASE("user_daily_cost_budget: the reference handler loads", "[user_daily]") {
  CHECK(BuiltinConfigErrors(R"(  d:
    type: function
    handler: omnigent.policies.builtins.cost.user_daily_cost_budget
    factory_params: {max_cost_usd: 50}
)") == "");
}
