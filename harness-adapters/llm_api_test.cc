#include "harness-adapters/llm_api.h"

#include <catch2/catch.hpp>

using namespace reins;
using namespace reins::llm;

namespace {

const std::string kSep(kSegmentSeparator);

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

// Reads `body`, redacts `secret` in its text, and checks that the redaction
// lands at `pointer` only, and that a rewrite that lost a separator changes
// nothing.
void CheckRedaction(Api api, const std::string& path, Json body, const std::string& secret,
                    const std::string& pointer) {
  Result<RequestFacts> facts = ReadRequest(api, path, body);
  REQUIRE(facts.ok());
  Json expected = body;
  Json::json_pointer at(pointer);
  expected[at] = Replace(expected[at].get<std::string>(), secret, "[REDACTED]");
  std::string redacted = Replace(facts->text, secret, "[REDACTED]");
  std::string p = path;
  REQUIRE(ApplyPatch(*facts, {{"text", redacted}}, &body, &p).ok());
  CHECK(body == expected);
  CHECK(p == path);

  std::string lost = Replace(redacted, kSep, " ");
  Status st = ApplyPatch(*facts, {{"text", lost}}, &body, &p);
  CHECK(st.code() == Status::Code::kFailedPrecondition);
  CHECK(body == expected);
  st = ApplyPatch(*facts, {{"model", "m2"}, {"temperature", 0}}, &body, &p);
  CHECK(st.code() == Status::Code::kFailedPrecondition);
  CHECK(st.message().find("temperature") != std::string::npos);
  CHECK(body == expected);  // the valid "model" key was not applied either
}

struct Fed {
  std::string relayed;
  ResponseFacts facts;
  bool complete = false;
};

// Feeds `bytes` to a reader in pieces of `piece` bytes.
Fed FeedIn(Api api, bool drop, const std::string& bytes, size_t piece) {
  StreamReader reader(api, drop);
  Fed fed;
  for (size_t i = 0; i < bytes.size(); i += piece)
    fed.relayed += reader.Feed(bytes.substr(i, piece));
  fed.facts = reader.facts();
  fed.complete = reader.complete();
  return fed;
}

// Feeds `bytes` whole and one byte at a time; both must read the same.
Fed FeedBothWays(Api api, const std::string& bytes) {
  Fed whole = FeedIn(api, false, bytes, bytes.size());
  Fed bytewise = FeedIn(api, false, bytes, 1);
  CHECK(whole.relayed == bytes);
  CHECK(bytewise.relayed == bytes);
  CHECK(bytewise.facts.model == whole.facts.model);
  CHECK(bytewise.facts.usage == whole.facts.usage);
  CHECK(bytewise.facts.tool_calls == whole.facts.tool_calls);
  CHECK(bytewise.facts.text == whole.facts.text);
  CHECK(bytewise.complete == whole.complete);
  return whole;
}

Json Usage(int input, int cache_read, int cache_creation, int output, int reasoning) {
  return {{"input_tokens", input},
          {"cache_read_input_tokens", cache_read},
          {"cache_creation_input_tokens", cache_creation},
          {"output_tokens", output},
          {"reasoning_tokens", reasoning}};
}

Json Call(const std::string& tool, Json input, const std::string& id) {
  return {{"tool", tool}, {"input", std::move(input)}, {"call_id", id}};
}

// "data: X" events, as OpenAI chat and Gemini send them.
std::string DataEvents(const std::vector<std::string>& data, const std::string& eol = "\n") {
  std::string out;
  for (const std::string& d : data) out += "data: " + d + eol + eol;
  return out;
}

const Json kAnthropicRequest = Json::parse(R"({
  "model": "claude-sonnet-4-5-20250929", "max_tokens": 32000, "stream": true,
  "system": [{"type": "text", "text": "You are Claude Code."},
             {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
  "messages": [
    {"role": "user", "content": "Show me .env"},
    {"role": "assistant", "content": [
      {"type": "text", "text": "Reading both."},
      {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
      {"type": "tool_use", "id": "toolu_2", "name": "Read", "input": {"file_path": ".env"}}]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_1", "content": ".env"},
      {"type": "tool_result", "tool_use_id": "toolu_2",
       "content": [{"type": "text", "text": "KEY=sk-live-123"}]},
      {"type": "text", "text": "Explain it"}]}],
  "tools": [{"name": "Bash", "input_schema": {"type": "object"}},
            {"name": "Read", "input_schema": {"type": "object"}}]})");

const Json kChatRequest = Json::parse(R"({
  "model": "gpt-4o", "stream": true,
  "messages": [
    {"role": "system", "content": "You are a coding agent."},
    {"role": "user", "content": [{"type": "text", "text": "Run the tests"}]},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
      "function": {"name": "shell", "arguments": "{\"cmd\":\"make test\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "FAIL token=ghp_secret"},
    {"role": "user", "content": "Fix it"}],
  "tools": [{"type": "function", "function": {"name": "shell", "parameters": {}}}]})");

const Json kResponsesRequest = Json::parse(R"({
  "model": "gpt-5-codex", "instructions": "You are Codex.", "stream": true,
  "input": [
    {"type": "message", "role": "developer",
     "content": [{"type": "input_text", "text": "<permissions>workspace-write</permissions>"}]},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "run ls"}]},
    {"type": "function_call", "name": "shell", "arguments": "{\"command\":[\"ls\"]}",
     "call_id": "call_1"},
    {"type": "function_call_output", "call_id": "call_1", "output": "secret-42.txt"},
    {"type": "message", "role": "assistant",
     "content": [{"type": "output_text", "text": "Found one file."}]},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "cat it"}]}],
  "tools": [{"type": "function", "name": "shell", "parameters": {}}]})");

const std::string kGeminiPath = "/v1beta/models/gemini-2.5-pro:streamGenerateContent";
const Json kGeminiRequest = Json::parse(R"({
  "contents": [
    {"role": "user", "parts": [{"text": "Where is the API key?"}]},
    {"role": "model", "parts": [{"functionCall": {"name": "run_shell_command",
                                                  "args": {"command": "grep -r KEY ."}}}]},
    {"role": "user", "parts": [{"functionResponse": {"name": "run_shell_command",
                                                     "response": {"output": "KEY=AIza123"}}}]},
    {"role": "model", "parts": [{"text": "It is AIza123 in .env."}]},
    {"role": "user", "parts": [{"text": "Rotate it"}]}],
  "systemInstruction": {"role": "user", "parts": [{"text": "You are Gemini CLI."}]},
  "tools": [{"functionDeclarations": [{"name": "run_shell_command"}, {"name": "read_file"}]}],
  "generationConfig": {"temperature": 1}})");

}  // namespace

TEST_CASE("requests are classified by method and path", "[llm_api]") {
  CHECK(Classify("POST", "/v1/messages") == Api::kAnthropicMessages);
  CHECK(Classify("POST", "/messages") == Api::kAnthropicMessages);
  CHECK(Classify("POST", "/anthropic/v1/messages") == Api::kAnthropicMessages);
  CHECK(Classify("POST", "/v1/messages/count_tokens") == Api::kAnthropicCountTokens);
  CHECK(Classify("POST", "/v1/chat/completions") == Api::kOpenAiChat);
  CHECK(Classify("POST", "/chat/completions") == Api::kOpenAiChat);
  CHECK(Classify("POST", "/v1/responses") == Api::kOpenAiResponses);
  CHECK(Classify("POST", "/responses") == Api::kOpenAiResponses);
  CHECK(Classify("POST", kGeminiPath) == Api::kGemini);
  CHECK(Classify("POST", "/v1/models/gemini-2.5-flash:generateContent") == Api::kGemini);
  CHECK(Classify("POST", "/proxy/v1beta/models/g:generateContent") == Api::kGemini);
  CHECK(Classify("GET", "/v1/models") == Api::kOther);
  CHECK(Classify("GET", "/v1/messages") == Api::kOther);
  CHECK(Classify("POST", "/v1/threads/t1/messages") == Api::kOther);
  CHECK(Classify("POST", "/v1beta/models/g:countTokens") == Api::kOther);
  CHECK(Classify("POST", "/v1/responses/compact") == Api::kOther);
  CHECK(std::string(ApiName(Api::kOpenAiResponses)) == "openai_responses");
}

TEST_CASE("an Anthropic request's texts, prompt and counts are read with their places",
          "[llm_api]") {
  Result<RequestFacts> f = ReadRequest(Api::kAnthropicMessages, "/v1/messages", kAnthropicRequest);
  REQUIRE(f.ok());
  CHECK(f->model == "claude-sonnet-4-5-20250929");
  CHECK(f->stream);
  CHECK(f->system == "You are Claude Code." + kSep + "Be brief.");
  CHECK(f->system_paths == std::vector<std::string>{"/system/0/text", "/system/1/text"});
  CHECK(f->text == "Show me .env" + kSep + "Reading both." + kSep + ".env" + kSep +
                       "KEY=sk-live-123" + kSep + "Explain it");
  CHECK(f->text_paths == std::vector<std::string>{
                             "/messages/0/content", "/messages/1/content/0/text",
                             "/messages/2/content/0/content",
                             "/messages/2/content/1/content/0/text", "/messages/2/content/2/text"});
  CHECK(f->prompt == ".env\nKEY=sk-live-123\nExplain it");
  CHECK(f->messages_count == 3);
  CHECK(f->tools_count == 2);

  Result<RequestFacts> count =
      ReadRequest(Api::kAnthropicCountTokens, "/v1/messages/count_tokens", kAnthropicRequest);
  REQUIRE(count.ok());
  CHECK(count->text == f->text);
}

TEST_CASE("an OpenAI chat request puts system and developer messages in the system", "[llm_api]") {
  Result<RequestFacts> f = ReadRequest(Api::kOpenAiChat, "/v1/chat/completions", kChatRequest);
  REQUIRE(f.ok());
  CHECK(f->model == "gpt-4o");
  CHECK(f->stream);
  CHECK(f->system == "You are a coding agent.");
  CHECK(f->system_paths == std::vector<std::string>{"/messages/0/content"});
  CHECK(f->text == "Run the tests" + kSep + "FAIL token=ghp_secret" + kSep + "Fix it");
  CHECK(f->text_paths == std::vector<std::string>{"/messages/1/content/0/text",
                                                  "/messages/3/content", "/messages/4/content"});
  CHECK(f->prompt == "Fix it");
  CHECK(f->messages_count == 5);
  CHECK(f->tools_count == 1);

  Json prefilled = kChatRequest;  // an assistant turn after the last user one
  prefilled["messages"].push_back({{"role", "assistant"}, {"content", "Sure:"}});
  f = ReadRequest(Api::kOpenAiChat, "/v1/chat/completions", prefilled);
  REQUIRE(f.ok());
  CHECK(f->prompt == "Fix it");
}

TEST_CASE("a Responses request reads instructions, input items and tool outputs", "[llm_api]") {
  Result<RequestFacts> f = ReadRequest(Api::kOpenAiResponses, "/v1/responses", kResponsesRequest);
  REQUIRE(f.ok());
  CHECK(f->model == "gpt-5-codex");
  CHECK(f->stream);
  CHECK(f->system == "You are Codex." + kSep + "<permissions>workspace-write</permissions>");
  CHECK(f->system_paths == std::vector<std::string>{"/instructions", "/input/0/content/0/text"});
  CHECK(f->text == "run ls" + kSep + "secret-42.txt" + kSep + "Found one file." + kSep + "cat it");
  CHECK(f->text_paths == std::vector<std::string>{"/input/1/content/0/text", "/input/3/output",
                                                  "/input/4/content/0/text",
                                                  "/input/5/content/0/text"});
  CHECK(f->prompt == "cat it");
  CHECK(f->messages_count == 6);
  CHECK(f->tools_count == 1);

  Result<RequestFacts> plain =
      ReadRequest(Api::kOpenAiResponses, "/responses", {{"model", "gpt-5"}, {"input", "hi"}});
  REQUIRE(plain.ok());
  CHECK(plain->text == "hi");
  CHECK(plain->text_paths == std::vector<std::string>{"/input"});
  CHECK(plain->prompt == "hi");
  CHECK(plain->messages_count == 1);
  CHECK_FALSE(plain->stream);
}

TEST_CASE("a Gemini request takes its model and streaming from the path", "[llm_api]") {
  Result<RequestFacts> f = ReadRequest(Api::kGemini, kGeminiPath, kGeminiRequest);
  REQUIRE(f.ok());
  CHECK(f->model == "gemini-2.5-pro");
  CHECK(f->stream);
  CHECK(f->system == "You are Gemini CLI.");
  CHECK(f->system_paths == std::vector<std::string>{"/systemInstruction/parts/0/text"});
  CHECK(f->text == "Where is the API key?" + kSep + "It is AIza123 in .env." + kSep + "Rotate it");
  CHECK(f->text_paths == std::vector<std::string>{"/contents/0/parts/0/text",
                                                  "/contents/3/parts/0/text",
                                                  "/contents/4/parts/0/text"});
  CHECK(f->prompt == "Rotate it");
  CHECK(f->messages_count == 5);
  CHECK(f->tools_count == 2);
  Result<RequestFacts> once =
      ReadRequest(Api::kGemini, "/v1beta/models/gemini-2.5-pro:generateContent", kGeminiRequest);
  REQUIRE(once.ok());
  CHECK_FALSE(once->stream);
}

TEST_CASE("a request the API would not accept is refused naming the field", "[llm_api]") {
  auto message = [](Api api, const std::string& path, const Json& body) {
    Result<RequestFacts> f = ReadRequest(api, path, body);
    REQUIRE_FALSE(f.ok());
    CHECK(f.status().code() == Status::Code::kInvalidArgument);
    return f.status().message();
  };
  CHECK(message(Api::kAnthropicMessages, "/v1/messages", Json::array()).find("object") !=
        std::string::npos);
  CHECK(message(Api::kAnthropicMessages, "/v1/messages", {{"messages", Json::array()}})
            .find("'model'") != std::string::npos);
  CHECK(
      message(Api::kOpenAiChat, "/v1/chat/completions", {{"model", 4}, {"messages", Json::array()}})
          .find("'model'") != std::string::npos);
  CHECK(message(Api::kOpenAiChat, "/v1/chat/completions", {{"model", "m"}, {"messages", "hi"}})
            .find("'messages'") != std::string::npos);
  CHECK(message(Api::kGemini, kGeminiPath, {{"contents", Json::object()}}).find("'contents'") !=
        std::string::npos);
  CHECK(message(Api::kOpenAiResponses, "/v1/responses", {{"model", "m"}, {"input", 3}})
            .find("'input'") != std::string::npos);

  Result<RequestFacts> other = ReadRequest(Api::kOther, "/v1/models", Json("not read"));
  REQUIRE(other.ok());
  CHECK(other->api == Api::kOther);
  CHECK(other->text_paths.empty());
}

TEST_CASE("a redaction lands in the message it came from, and a broken one changes nothing",
          "[llm_api]") {
  CheckRedaction(Api::kAnthropicMessages, "/v1/messages", kAnthropicRequest, "sk-live-123",
                 "/messages/2/content/1/content/0/text");
  CheckRedaction(Api::kOpenAiChat, "/v1/chat/completions", kChatRequest, "ghp_secret",
                 "/messages/3/content");
  CheckRedaction(Api::kOpenAiResponses, "/v1/responses", kResponsesRequest, "secret-42",
                 "/input/3/output");
  CheckRedaction(Api::kGemini, kGeminiPath, kGeminiRequest, "AIza123", "/contents/3/parts/0/text");
}

TEST_CASE("a model reroute goes into the body, or into the path for Gemini", "[llm_api]") {
  Json body = kChatRequest;
  std::string path = "/v1/chat/completions";
  Result<RequestFacts> f = ReadRequest(Api::kOpenAiChat, path, body);
  REQUIRE(f.ok());
  REQUIRE(ApplyPatch(*f, {{"model", "gpt-4o-mini"}, {"system", "Be careful."}}, &body, &path).ok());
  CHECK(body["model"] == "gpt-4o-mini");
  CHECK(body["messages"][0]["content"] == "Be careful.");
  CHECK(path == "/v1/chat/completions");

  Json gemini = kGeminiRequest;
  std::string gemini_path = kGeminiPath;
  f = ReadRequest(Api::kGemini, gemini_path, gemini);
  REQUIRE(f.ok());
  REQUIRE(ApplyPatch(*f, {{"model", "gemini-2.5-flash"}}, &gemini, &gemini_path).ok());
  CHECK(gemini_path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent");
  CHECK(gemini == kGeminiRequest);
  CHECK(ApplyPatch(*f, {{"model", "a/b"}}, &gemini, &gemini_path).code() ==
        Status::Code::kFailedPrecondition);
  CHECK(ApplyPatch(*f, Json::array(), &gemini, &gemini_path).code() ==
        Status::Code::kFailedPrecondition);
}

TEST_CASE("a chat stream is asked for its usage once", "[llm_api]") {
  Json body = {{"model", "gpt-4o"}, {"stream", true}};
  CHECK(AskForStreamUsage(&body));
  CHECK(body["stream_options"]["include_usage"] == true);
  CHECK_FALSE(AskForStreamUsage(&body));
  Json asked = {{"stream_options", {{"include_usage", true}}}};
  CHECK_FALSE(AskForStreamUsage(&asked));
}

TEST_CASE("errors are worded in each provider's own shape", "[llm_api]") {
  std::string msg = "Denied by policy \"no-secrets\"\n<details>";
  ErrorReply a = ProviderError(Api::kAnthropicMessages, 403, msg);
  CHECK(a.status == 403);
  CHECK(a.content_type == "application/json");
  CHECK(Json::parse(a.body) ==
        Json({{"type", "error"}, {"error", {{"type", "permission_error"}, {"message", msg}}}}));
  CHECK(Json::parse(ProviderError(Api::kAnthropicMessages, 429, msg).body)["error"]["type"] ==
        "rate_limit_error");
  CHECK(Json::parse(ProviderError(Api::kAnthropicMessages, 502, msg).body)["error"]["type"] ==
        "api_error");

  Json chat = Json::parse(ProviderError(Api::kOpenAiChat, 403, msg).body);
  CHECK(chat == Json({{"error",
                       {{"message", msg},
                        {"type", "permission_denied"},
                        {"param", nullptr},
                        {"code", "policy_denied"}}}}));
  Json budget = Json::parse(ProviderError(Api::kOpenAiResponses, 429, msg).body);
  CHECK(budget["error"]["code"] == "insufficient_quota");
  CHECK(budget["error"]["type"] == "insufficient_quota");

  Json gemini = Json::parse(ProviderError(Api::kGemini, 429, msg).body);
  CHECK(gemini ==
        Json({{"error", {{"code", 429}, {"message", msg}, {"status", "RESOURCE_EXHAUSTED"}}}}));
  CHECK(Json::parse(ProviderError(Api::kGemini, 403, msg).body)["error"]["status"] ==
        "PERMISSION_DENIED");
  CHECK(Json::parse(ProviderError(Api::kGemini, 502, msg).body)["error"]["status"] ==
        "UNAVAILABLE");
  CHECK(Json::parse(ProviderError(Api::kOther, 403, msg).body) ==
        Json({{"error", {{"message", msg}}}}));
}

TEST_CASE("whole answers report usage without the cached part, tool calls and text", "[llm_api]") {
  Result<ResponseFacts> a = ReadResponse(Api::kAnthropicMessages, Json::parse(R"({
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"},
                {"type": "text", "text": "Listing."},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}],
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 10, "cache_creation_input_tokens": 200,
              "cache_read_input_tokens": 3000, "output_tokens": 50}})"));
  REQUIRE(a.ok());
  CHECK(a->model == "claude-sonnet-4-5-20250929");
  CHECK(a->usage == Json({{"input_tokens", 10},
                          {"cache_creation_input_tokens", 200},
                          {"cache_read_input_tokens", 3000},
                          {"output_tokens", 50}}));
  CHECK(a->tool_calls == std::vector<Json>{Call("Bash", {{"command", "ls"}}, "toolu_1")});
  CHECK(a->text == "Listing.");

  Result<ResponseFacts> c = ReadResponse(Api::kOpenAiChat, Json::parse(R"({
    "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
      "content": null, "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "shell", "arguments": "{\"cmd\":\"ls\"}"}}]}}],
    "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280,
              "prompt_tokens_details": {"cached_tokens": 1024},
              "completion_tokens_details": {"reasoning_tokens": 64}}})"));
  REQUIRE(c.ok());
  CHECK(c->usage == Usage(176, 1024, 0, 80, 64));
  CHECK(c->tool_calls == std::vector<Json>{Call("shell", {{"cmd", "ls"}}, "call_1")});
  CHECK(c->text.empty());

  Result<ResponseFacts> r = ReadResponse(Api::kOpenAiResponses, Json::parse(R"({
    "id": "resp_1", "object": "response", "status": "completed", "model": "gpt-5-codex",
    "output": [{"id": "rs_1", "type": "reasoning", "summary": []},
               {"id": "msg_1", "type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "Running.", "annotations": []}]},
               {"id": "fc_1", "type": "function_call", "call_id": "call_9", "name": "shell",
                "arguments": "not json"}],
    "usage": {"input_tokens": 5000, "input_tokens_details": {"cached_tokens": 4096},
              "output_tokens": 300, "output_tokens_details": {"reasoning_tokens": 256},
              "total_tokens": 5300}})"));
  REQUIRE(r.ok());
  CHECK(r->usage == Usage(904, 4096, 0, 300, 256));
  CHECK(r->tool_calls == std::vector<Json>{Call("shell", Json::object(), "call_9")});
  CHECK(r->text == "Running.");

  Result<ResponseFacts> g = ReadResponse(Api::kGemini, Json::parse(R"({
    "candidates": [{"content": {"role": "model", "parts": [
        {"text": "Planning...", "thought": true}, {"text": "Checking."},
        {"functionCall": {"id": "fc-1", "name": "run_shell_command", "args": {"command": "ls"}}}]},
      "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 900, "candidatesTokenCount": 30, "totalTokenCount": 1050,
                      "cachedContentTokenCount": 512, "thoughtsTokenCount": 120},
    "modelVersion": "gemini-2.5-pro"})"));
  REQUIRE(g.ok());
  CHECK(g->model == "gemini-2.5-pro");
  CHECK(g->usage == Usage(388, 512, 0, 150, 120));
  CHECK(g->tool_calls == std::vector<Json>{Call("run_shell_command", {{"command", "ls"}}, "fc-1")});
  CHECK(g->text == "Checking.");

  Result<ResponseFacts> count = ReadResponse(Api::kAnthropicCountTokens, {{"input_tokens", 42}});
  REQUIRE(count.ok());
  CHECK(count->usage.is_null());
  CHECK(ReadResponse(Api::kOpenAiChat, Json::array()).status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("an Anthropic stream reads the same whole or byte by byte", "[llm_api]") {
  std::string stream = R"(event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":300,"cache_read_input_tokens":4000,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll list "}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"the files."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"Bash","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"command\": \"ls"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" -la\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"TodoRead","input":{}}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":45}}

)";
  Fed before_stop = FeedBothWays(Api::kAnthropicMessages, stream);
  CHECK_FALSE(before_stop.complete);
  stream += "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  Fed fed = FeedBothWays(Api::kAnthropicMessages, stream);
  CHECK(fed.complete);
  CHECK(fed.facts.model == "claude-sonnet-4-5-20250929");
  CHECK(fed.facts.usage == Json({{"input_tokens", 12},
                                 {"cache_creation_input_tokens", 300},
                                 {"cache_read_input_tokens", 4000},
                                 {"output_tokens", 45}}));
  CHECK(fed.facts.tool_calls == std::vector<Json>{Call("Bash", {{"command", "ls -la"}}, "toolu_1"),
                                                  Call("TodoRead", Json::object(), "toolu_2")});
  CHECK(fed.facts.text == "I'll list the files.");
}

const std::vector<std::string> kChatChunks = {
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null})",
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Checking"},"logprobs":null,"finish_reason":null}],"usage":null})",
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":" now."},"logprobs":null,"finish_reason":null}],"usage":null})",
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"shell","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null})",
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"cmd\":"}}]},"logprobs":null,"finish_reason":null}],"usage":null})",
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"ls\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null})",
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null})",
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":80,"total_tokens":1280,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":64,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}})",
    "[DONE]"};

TEST_CASE("an OpenAI chat stream reads the same whole or byte by byte", "[llm_api]") {
  Fed fed = FeedBothWays(Api::kOpenAiChat, DataEvents(kChatChunks));
  CHECK(fed.complete);
  CHECK(fed.facts.model == "gpt-4o-2024-08-06");
  CHECK(fed.facts.usage == Usage(176, 1024, 0, 80, 64));
  CHECK(fed.facts.tool_calls == std::vector<Json>{Call("shell", {{"cmd", "ls"}}, "call_1")});
  CHECK(fed.facts.text == "Checking now.");
}

TEST_CASE("a usage chunk the proxy asked for is read but not relayed", "[llm_api]") {
  std::vector<std::string> kept = kChatChunks;
  kept.erase(kept.end() - 2);  // the usage chunk
  std::string stream = DataEvents(kChatChunks);
  for (size_t piece : {stream.size(), size_t{1}, size_t{7}}) {
    Fed fed = FeedIn(Api::kOpenAiChat, true, stream, piece);
    CHECK(fed.relayed == DataEvents(kept));
    CHECK(fed.facts.usage == Usage(176, 1024, 0, 80, 64));
    CHECK(fed.complete);
  }
  // Everything else goes out as soon as its event is complete.
  StreamReader reader(Api::kOpenAiChat, true);
  std::string first = DataEvents({kChatChunks[0]});
  std::string second = DataEvents({kChatChunks[1]});
  CHECK(reader.Feed(first + second.substr(0, 10)) == first);
  CHECK(reader.Feed(second.substr(10)) == second);
}

TEST_CASE("a Responses stream reads the same whole or byte by byte", "[llm_api]") {
  std::string stream = R"(event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-5-codex","output":[],"usage":null}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}}

event: response.content_part.added
data: {"type":"response.content_part.added","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"text":""}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Running"}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":" the tests."}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":5,"output_index":0,"item":{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"text":"Running the tests."}]}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":6,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_1","name":"shell"}}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":7,"item_id":"fc_1","output_index":1,"delta":"{\"command\":[\"make\",\"test\"]}"}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":8,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\"command\":[\"make\",\"test\"]}","call_id":"call_1","name":"shell"}}

event: response.completed
data: {"type":"response.completed","sequence_number":9,"response":{"id":"resp_1","object":"response","status":"completed","model":"gpt-5-codex","output":[{"id":"fc_1","type":"function_call","status":"completed","arguments":"{}","call_id":"call_1","name":"shell"}],"usage":{"input_tokens":5000,"input_tokens_details":{"cached_tokens":4096},"output_tokens":300,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":5300}}}

)";
  Fed fed = FeedBothWays(Api::kOpenAiResponses, stream);
  CHECK(fed.complete);
  CHECK(fed.facts.model == "gpt-5-codex");
  CHECK(fed.facts.usage == Usage(904, 4096, 0, 300, 256));
  CHECK(fed.facts.tool_calls ==
        std::vector<Json>{Call("shell", {{"command", {"make", "test"}}}, "call_1")});
  CHECK(fed.facts.text == "Running the tests.");
}

TEST_CASE("a Gemini stream with CRLF lines reads the same whole or byte by byte", "[llm_api]") {
  std::string stream = DataEvents(
      {R"({"candidates": [{"content": {"parts": [{"text": "Planning.", "thought": true}, {"text": "Let me"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 900,"candidatesTokenCount": 2,"totalTokenCount": 1022,"cachedContentTokenCount": 512,"thoughtsTokenCount": 120},"modelVersion": "gemini-2.5-pro","responseId": "r1"})",
       R"({"candidates": [{"content": {"parts": [{"text": " check."},{"functionCall": {"name": "run_shell_command","args": {"command": "ls"}}}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 900,"candidatesTokenCount": 30,"totalTokenCount": 1050,"cachedContentTokenCount": 512,"thoughtsTokenCount": 120},"modelVersion": "gemini-2.5-pro","responseId": "r1"})"},
      "\r\n");
  Fed fed = FeedBothWays(Api::kGemini, stream);
  CHECK(fed.complete);
  CHECK(fed.facts.model == "gemini-2.5-pro");
  CHECK(fed.facts.usage == Usage(388, 512, 0, 150, 120));
  CHECK(fed.facts.tool_calls ==
        std::vector<Json>{Call("run_shell_command", {{"command", "ls"}}, "")});
  CHECK(fed.facts.text == "Let me check.");
}

TEST_CASE("malformed events are skipped and still relayed", "[llm_api]") {
  std::vector<std::string> chunks = kChatChunks;
  chunks.insert(chunks.begin() + 2, "{\"choices\": [");
  chunks.insert(chunks.begin() + 3, R"({"choices":[{"index":0,"delta":{"content":7}}]})");
  chunks.insert(chunks.begin() + 4, R"({"choices":[{"index":"x","delta":{"tool_calls":"no"}}]})");
  std::string stream = DataEvents(chunks);
  Fed fed = FeedBothWays(Api::kOpenAiChat, stream);
  CHECK(fed.facts.text == "Checking now.");
  CHECK(fed.facts.usage == Usage(176, 1024, 0, 80, 64));
  CHECK(fed.facts.tool_calls == std::vector<Json>{Call("shell", {{"cmd", "ls"}}, "call_1")});
  CHECK(FeedIn(Api::kOpenAiChat, true, stream, 3).relayed.find("{\"choices\": [") !=
        std::string::npos);

  std::string anthropic =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\","
      "\"usage\":\"lots\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"usa\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":9}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  Fed a = FeedBothWays(Api::kAnthropicMessages, anthropic);
  CHECK(a.complete);
  CHECK(a.facts.model == "m");
  CHECK(a.facts.usage.is_null());
  CHECK(a.facts.tool_calls.empty());
}

TEST_CASE("separate text blocks of an answer are read on separate lines", "[llm_api]") {
  Result<ResponseFacts> whole = ReadResponse(Api::kAnthropicMessages, Json::parse(R"({
    "model": "claude-sonnet-4-5", "content": [
      {"type": "text", "text": "Searching."},
      {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
      {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
      {"type": "text", "text": "Found it."}]})"));
  REQUIRE(whole.ok());
  CHECK(whole->text == "Searching.\nFound it.");
  std::string stream;
  for (
      const char* data :
      {R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})",
       R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Searching."}})",
       R"({"type":"content_block_stop","index":0})",
       R"({"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}})",
       R"({"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Found"}})",
       R"({"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":" it."}})"}) {
    stream += "event: " + Json::parse(data)["type"].get<std::string>() + "\ndata: " + data + "\n\n";
  }
  CHECK(FeedBothWays(Api::kAnthropicMessages, stream).facts.text == whole->text);
}

TEST_CASE("answer text is cut at 4000 bytes without splitting a character", "[llm_api]") {
  std::string text = std::string(3999, 'a') + "\xC3\xA9" + "tail";  // é straddles the limit
  Result<ResponseFacts> whole = ReadResponse(
      Api::kOpenAiChat, {{"model", "m"}, {"choices", {{{"message", {{"content", text}}}}}}});
  REQUIRE(whole.ok());
  CHECK(whole->text == std::string(3999, 'a'));
  std::vector<std::string> chunks;  // the second ends inside é, the third comes after the cut
  for (auto [at, n] : {std::pair{0, 2000}, {2000, 2001}, {4001, 10}}) {
    chunks.push_back(Json{{"choices", {{{"delta", {{"content", text.substr(at, n)}}}}}}}.dump());
  }
  chunks.push_back("[DONE]");
  Fed fed = FeedBothWays(Api::kOpenAiChat, DataEvents(chunks));
  CHECK(fed.facts.text == whole->text);
}
