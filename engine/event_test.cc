#include "engine/event.h"

#include <catch2/catch.hpp>

using namespace reins;

namespace {

std::string ErrorOf(const std::string& text) {
  auto e = Event::Parse(text);
  REQUIRE_FALSE(e.ok());
  return e.status().message();
}

}  // namespace

TEST_CASE("every event type parses with its fields", "[event]") {
  const char* valid[] = {
      R"({"session":"s","type":"session_start","user":"ann","agent":"coder","harness":"claude-code","model":"claude-sonnet-4-5","cwd":"/w","parent":"p","labels":{"team":"x"}})",
      R"({"session":"s","type":"request","text":"hi","attachments":[{"name":"a.txt","content_type":"text/plain","text":"x"}]})",
      R"({"session":"s","type":"llm_request","model":"m","text":"t","system":"sys","messages_count":3,"tools_count":0})",
      R"({"session":"s","type":"llm_response","model":"m","usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":0,"cache_creation_input_tokens":1,"reasoning_tokens":2},"cost_usd":0.5,"text":"ok"})",
      R"({"session":"s","type":"tool_call","tool":"Bash","input":{"command":"ls"},"call_id":"c1"})",
      R"({"session":"s","type":"tool_result","tool":"Bash","call_id":"c1","output":{"any":["json"]},"is_error":false,"labels":{"classification":"secret"}})",
      R"({"session":"s","type":"response","text":"done"})",
      R"({"session":"s","type":"cost","cost_usd":1.25,"model":"m"})",
      R"({"session":"s","type":"approval","approval_id":"s:3","approved":true,"by":"bob","note":"ok"})",
      R"({"session":"s","type":"session_end","ts":"2026-11-21T08:00:00Z","seq":7})",
  };
  for (const char* text : valid) {
    INFO(text);
    auto e = Event::Parse(text);
    REQUIRE(e.ok());
    CHECK(e->session() == "s");
  }
  auto e = Event::Parse(valid[4]);
  CHECK(e->type() == EventType::kToolCall);
  CHECK(e->tool() == "Bash");
  CHECK(e->input()["command"] == "ls");
}

TEST_CASE("invalid events name the field and the expected type", "[event]") {
  CHECK(ErrorOf(R"({"session":"s","type":"tool_call"})") ==
        "field 'tool': required for tool_call events (string)");
  CHECK(ErrorOf(R"({"session":"s","type":"tool_call","tool":7})") ==
        "field 'tool': expected string, got number");
  CHECK(ErrorOf(R"({"session":"s","type":"tool_call","tool":"x","input":"ls"})") ==
        "field 'input': expected object, got string");
  CHECK(ErrorOf(R"({"session":"s","type":"nope"})").find("unknown event type 'nope'") !=
        std::string::npos);
  CHECK(ErrorOf(R"({"type":"request","text":"x"})") == "field 'session': required");
  CHECK(ErrorOf(R"({"session":"s","type":"request","text":"x","toool":1})")
            .find("field 'toool': not a field of request events") != std::string::npos);
  CHECK(
      ErrorOf(R"({"session":"s","type":"llm_response","model":"m","usage":{"input_tokens":-1}})") ==
      "field 'usage.input_tokens': expected non-negative integer, got number");
  CHECK(ErrorOf(R"({"session":"s","type":"llm_response","model":"m","usage":{"tokens":1}})")
            .find("field 'usage.tokens': unknown token count") != std::string::npos);
  CHECK(ErrorOf(R"({"session":"s","type":"cost","cost_usd":-2})") ==
        "field 'cost_usd': expected non-negative number, got number");
  CHECK(ErrorOf(R"({"session":"s","type":"approval"})").find("field 'approved': required") !=
        std::string::npos);
  CHECK(ErrorOf(R"({"session":"s","type":"request","text":"x","attachments":[{"name":1}]})") ==
        "field 'attachments[0].name': expected string, got number");
  CHECK(ErrorOf(R"({"session":"s","type":"request","text":"x","ts":"noon"})")
            .find("field 'ts': invalid RFC 3339 timestamp 'noon'") != std::string::npos);
  CHECK(ErrorOf(R"({"session":"","type":"request","text":"x"})") ==
        "field 'session': must be 1 to 256 characters");
  CHECK(ErrorOf(R"([1,2])") == "event must be a JSON object, got array");
  CHECK(ErrorOf(R"({"session":"s",)").find("malformed JSON") == 0);
}

TEST_CASE("oversized and deeply nested events are refused", "[event]") {
  EventLimits limits;
  limits.max_bytes = 100;
  std::string big = R"({"session":"s","type":"request","text":")" + std::string(200, 'x') + "\"}";
  auto e = Event::Parse(big, limits);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().message().find("over the limit of 100") != std::string::npos);

  std::string deep = R"({"session":"s","type":"tool_call","tool":"x","input":)";
  for (int i = 0; i < 100; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 100; ++i) deep += "}";
  deep += "}";
  e = Event::Parse(deep);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().message() == "JSON nests deeper than 64 levels");
}

TEST_CASE("patches rewrite fields and are re-validated", "[event]") {
  auto e =
      Event::Parse(R"({"session":"s","type":"llm_request","model":"claude-opus-4-5","text":"hi"})");
  REQUIRE(e.ok());
  Event original = *e;
  REQUIRE(e->ApplyPatch({{"model", "claude-haiku-4-5"}}).ok());
  CHECK(e->model() == "claude-haiku-4-5");
  CHECK(MergePatchDiff(original.json(), e->json()) == Json{{"model", "claude-haiku-4-5"}});

  CHECK_FALSE(e->ApplyPatch({{"session", "other"}}).ok());
  auto bad = e->ApplyPatch({{"model", nullptr}});  // removes a required field
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.message().find("patched event: field 'model': required") == 0);
  CHECK(e->model() == "claude-haiku-4-5");  // unchanged after a failed patch
}

TEST_CASE("merge patch diff covers nested changes and removals", "[event]") {
  Json from = {{"a", 1}, {"input", {{"command", "ls"}, {"cwd", "/"}}}, {"gone", true}};
  Json to = {{"a", 1}, {"input", {{"command", "ls -la"}, {"cwd", "/"}}}};
  Json patch = MergePatchDiff(from, to);
  CHECK(patch == Json{{"input", {{"command", "ls -la"}}}, {"gone", nullptr}});
  Json applied = from;
  applied.merge_patch(patch);
  CHECK(applied == to);
}

// Found by tests/fuzz (fuzz_event_json): counts above INT64_MAX passed as
// non-negative and read back negative (seq, and token counts in cost sums).
TEST_CASE("counts beyond a signed 64-bit integer are refused", "[event][fuzz]") {
  CHECK(ErrorOf(R"({"session":"s","type":"cost","cost_usd":1,"seq":9223372036854775808})") ==
        "field 'seq': expected non-negative integer, got number");
  CHECK(ErrorOf(R"({"session":"s","type":"llm_response","model":"m",)"
                R"("usage":{"input_tokens":18446744073709551615}})") ==
        "field 'usage.input_tokens': expected non-negative integer, got number");
  auto max =
      Event::Parse(R"({"session":"s","type":"cost","cost_usd":1,"seq":9223372036854775807})");
  REQUIRE(max.ok());
  CHECK(max->seq() == INT64_MAX);
}

TEST_CASE("summaries of records that were never validated do not throw", "[event][fuzz]") {
  // Found by fuzz_event_json: an "approved" that was not a boolean threw
  // from EventSummary, which shows raw records too.
  Json odd = Json::parse(R"({"session":"s","type":"approval","approved":"9999-12-31","by":"N8"})");
  CHECK(EventSummary(odd) == "deny by N8");
  CHECK(EventSummary(Json::parse(R"({"type":"approval","approved":true,"approval_id":7})")) ==
        "approve");
  CHECK(
      EventSummary(Json::parse(R"({"type":"tool_call","tool":["Bash"],"input":{"command":1}})")) ==
      R"( {"command":1})");
  CHECK(EventSummary(Json::array()).empty());
}
