#include <catch2/catch.hpp>

#include "builtins/builtins_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {
const char* kRoute =
    "  route: {use: deny_trivial_to_expensive_model, with: {expensive_models: [opus], cheap_model: "
    "claude-haiku-4-5}}\n";
Json LlmRequest(const std::string& text, const std::string& model = "claude-opus-4-5") {
  return {{"type", "llm_request"}, {"model", model}, {"text", text}};
}
}  // namespace

TEST_CASE("deny_trivial_to_expensive_model: trivial prompts are rerouted", "[routing]") {
  BuiltinHarness h(kRoute);
  Decision d = h.Must(LlmRequest("what time zone is UTC+2?"));
  CHECK(d.verdict == Verdict::kModify);
  CHECK(d.patch == Json{{"model", "claude-haiku-4-5"}});
  CHECK(d.reason.find("rerouted from claude-opus-4-5 to claude-haiku-4-5") != std::string::npos);
  // The label is cached per prompt hash in the policy's state (so in the log).
  SessionState st = h.State();
  auto store = st.policy_state["server:route"];
  REQUIRE(store.size() == 1);
  CHECK(store.begin().value()["label"] == "trivial");
  // Cheap models and requests on a cheap session model pass.
  CHECK(h.Must(LlmRequest("hi", "claude-haiku-4-5")).verdict == Verdict::kAllow);
}

TEST_CASE("deny_trivial_to_expensive_model: complex prompts keep the model", "[routing]") {
  BuiltinHarness h(kRoute);
  const std::string long_prompt(300, 'x');
  for (const std::string& complex : std::vector<std::string>{
           "Refactor the parser so that tokens carry spans",
           "fix this:\n```\nint main() { return 1; }\n```",
           "Traceback (most recent call last):\n  File \"a.py\", line 3, in <module>",
           "1. add a flag\n2. wire it into main", "why do src/a.py and src/b.py disagree?",
           long_prompt}) {
    INFO(complex);
    CHECK(h.Must(LlmRequest(complex)).verdict == Verdict::kAllow);
  }
}

TEST_CASE("deny_trivial_to_expensive_model: deny names the cheaper model; requests too",
          "[routing]") {
  BuiltinHarness h(
      "  route: {use: deny_trivial_to_expensive_model, with: {expensive_models: [opus], "
      "cheap_model: claude-haiku-4-5, action: deny, max_trivial_chars: 40}}\n");
  h.Must({{"type", "session_start"}, {"model", "claude-opus-4-5"}});
  Decision d = h.Must(Request("thanks!"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason ==
        "This prompt looks trivial (short, no code, no multi-step wording); use a "
        "cheaper model such as claude-haiku-4-5 instead of claude-opus-4-5.");
  CHECK(h.Must(Request("please summarise the design doc we wrote yesterday")).verdict ==
        Verdict::kAllow);
  CHECK(BuiltinConfigErrors(
            "  r: {use: deny_trivial_to_expensive_model, with: {expensive_models: [opus]}}\n")
            .find("missing required parameter 'cheap_model'") != std::string::npos);
}

TEST_CASE("deny_trivial_to_expensive_model: classifier llm decides by the label on the event",
          "[routing]") {
  BuiltinHarness h(
      "  route: {use: deny_trivial_to_expensive_model, with: {expensive_models: [opus], "
      "cheap_model: claude-haiku-4-5, classifier: llm}}\n");
  // A short prompt the model found complex keeps its model; a long one it
  // found trivial is rerouted.
  Json complex = LlmRequest("hi");
  complex["prompt_class"] = {{"by", "llm"}, {"label", "complex"}, {"model", "m"}};
  CHECK(h.Must(complex).verdict == Verdict::kAllow);
  Json trivial = LlmRequest(std::string(300, 'x'));
  trivial["prompt_class"] = {{"by", "llm"}, {"label", "trivial"}, {"model", "m"}};
  Decision d = h.Must(trivial);
  CHECK(d.verdict == Verdict::kModify);
  CHECK(d.reason.find("the LLM classifier m says trivial") != std::string::npos);

  // Without a label the heuristic decides, and says why.
  Json failed = LlmRequest("what time zone is UTC+2?");
  failed["prompt_class"] = {{"by", "llm"}, {"error", "timed out"}};
  d = h.Must(failed);
  CHECK(d.verdict == Verdict::kModify);
  CHECK(d.reason.find("heuristic, as the LLM classifier failed: timed out") != std::string::npos);
  d = h.Must(LlmRequest("and UTC+3?"));
  CHECK(d.reason.find("heuristic, as no LLM label on the event") != std::string::npos);
}
