#include "tests/support/fake_upstream_answers.h"

#include <algorithm>

namespace reins::testing::fake {

using nlohmann::json;

namespace {

// What one answer is built from.
struct Call {
  const FakeUpstream::Script& s;
  const json& req;
  std::string model;
  std::string n;  // the request's number, for ids
  bool stream;
};

bool IsTrue(const json& obj, const char* key) {
  return obj.is_object() && obj.contains(key) && obj[key] == true;
}

// The text in word-sized pieces (each word with the spaces after it), as a
// model streams tokens.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    size_t j = text.find_first_of(" \n", text.find_first_not_of(" \n", i));
    j = j == std::string::npos ? text.size() : text.find_first_not_of(" \n", j);
    j = j == std::string::npos ? text.size() : j;
    out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

// `s` in about three pieces, cut between UTF-8 characters (each piece goes
// into a JSON string, which must stay valid UTF-8).
std::vector<std::string> Fragments(const std::string& s) {
  std::vector<std::string> out;
  size_t step = std::max<size_t>(1, (s.size() + 2) / 3);
  for (size_t i = 0; i < s.size();) {
    size_t j = std::min(s.size(), i + step);
    while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string Sse(const std::string& event, const json& data) {
  return (event.empty() ? "" : "event: " + event + "\n") + "data: " + data.dump() + "\n\n";
}

}  // namespace

Reply JsonReply(const json& body, int status) {
  return {status, "application/json", body.dump(), {}, false};
}

namespace {

Reply Stream(std::vector<std::string> events, std::string type = "text/event-stream") {
  return {200, std::move(type), "", std::move(events), true};
}

// Text first (when there is some, or nothing else), then the tool call.
bool HasText(const FakeUpstream::Script& s) { return !s.reply_text.empty() || !s.tool_call; }

Reply Anthropic(const Call& c) {
  const auto& t = c.s.tokens;
  json usage = {{"input_tokens", t.input},
                {"output_tokens", t.output},
                {"cache_creation_input_tokens", t.cache_creation},
                {"cache_read_input_tokens", t.cache_read}};
  json message = {{"id", "msg_fake_" + c.n},
                  {"type", "message"},
                  {"role", "assistant"},
                  {"model", c.model},
                  {"content", json::array()}};
  json tool;
  if (c.s.tool_call) {
    tool = {{"type", "tool_use"},
            {"id", "toolu_fake_" + c.n},
            {"name", c.s.tool_call->name},
            {"input", c.s.tool_call->input}};
  }
  std::string stop = c.s.tool_call ? "tool_use" : "end_turn";
  if (!c.stream) {
    if (HasText(c.s)) message["content"].push_back({{"type", "text"}, {"text", c.s.reply_text}});
    if (c.s.tool_call) message["content"].push_back(tool);
    message.update({{"stop_reason", stop}, {"stop_sequence", nullptr}, {"usage", usage}});
    return JsonReply(message);
  }
  json start_usage = usage;
  start_usage["output_tokens"] = 1;
  message.update({{"stop_reason", nullptr}, {"stop_sequence", nullptr}, {"usage", start_usage}});
  std::vector<std::string> ev = {
      Sse("message_start", {{"type", "message_start"}, {"message", message}})};
  int index = 0;
  auto block = [&](const json& start, const char* delta_type, const char* field,
                   const std::vector<std::string>& pieces) {
    ev.push_back(
        Sse("content_block_start",
            {{"type", "content_block_start"}, {"index", index}, {"content_block", start}}));
    if (index == 0) ev.push_back(Sse("ping", {{"type", "ping"}}));
    for (const auto& p : pieces) {
      ev.push_back(Sse("content_block_delta", {{"type", "content_block_delta"},
                                               {"index", index},
                                               {"delta", {{"type", delta_type}, {field, p}}}}));
    }
    ev.push_back(Sse("content_block_stop", {{"type", "content_block_stop"}, {"index", index++}}));
  };
  if (HasText(c.s)) {
    block({{"type", "text"}, {"text", ""}}, "text_delta", "text", Words(c.s.reply_text));
  }
  if (c.s.tool_call) {
    json start = tool;
    start["input"] = json::object();
    block(start, "input_json_delta", "partial_json", Fragments(tool["input"].dump()));
  }
  ev.push_back(Sse("message_delta", {{"type", "message_delta"},
                                     {"delta", {{"stop_reason", stop}, {"stop_sequence", nullptr}}},
                                     {"usage", {{"output_tokens", t.output}}}}));
  ev.push_back(Sse("message_stop", {{"type", "message_stop"}}));
  return Stream(std::move(ev));
}

Reply OpenAiChat(const Call& c) {
  const auto& t = c.s.tokens;
  json usage = {{"prompt_tokens", t.input + t.cache_read},
                {"completion_tokens", t.output},
                {"total_tokens", t.input + t.cache_read + t.output},
                {"prompt_tokens_details", {{"cached_tokens", t.cache_read}}},
                {"completion_tokens_details", {{"reasoning_tokens", t.reasoning}}}};
  json head = {{"id", "chatcmpl-fake" + c.n}, {"created", std::time(nullptr)}, {"model", c.model}};
  std::string call_id = "call_fake_" + c.n;
  std::string args = c.s.tool_call ? c.s.tool_call->input.dump() : "";
  std::string finish = c.s.tool_call ? "tool_calls" : "stop";
  if (!c.stream) {
    json message = {{"role", "assistant"},
                    {"content", c.s.reply_text.empty() ? json() : json(c.s.reply_text)}};
    if (c.s.tool_call) {
      message["tool_calls"] = {
          {{"id", call_id},
           {"type", "function"},
           {"function", {{"name", c.s.tool_call->name}, {"arguments", args}}}}};
    }
    json body = head;
    body.update(
        {{"object", "chat.completion"},
         {"choices",
          {{{"index", 0}, {"message", message}, {"finish_reason", finish}, {"logprobs", nullptr}}}},
         {"usage", usage}});
    return JsonReply(body);
  }
  bool include_usage =
      c.req.contains("stream_options") && IsTrue(c.req["stream_options"], "include_usage");
  head["object"] = "chat.completion.chunk";
  // With include_usage every chunk carries "usage": null but the last.
  if (include_usage) head["usage"] = nullptr;
  std::vector<std::string> ev;
  auto chunk = [&](const json& delta, const json& finish_reason) {
    json j = head;
    j["choices"] = {{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}}};
    ev.push_back(Sse("", j));
  };
  chunk({{"role", "assistant"}, {"content", ""}}, nullptr);
  for (const auto& w : Words(c.s.reply_text)) chunk({{"content", w}}, nullptr);
  if (c.s.tool_call) {
    chunk({{"tool_calls",
            {{{"index", 0},
              {"id", call_id},
              {"type", "function"},
              {"function", {{"name", c.s.tool_call->name}, {"arguments", ""}}}}}}},
          nullptr);
    for (const auto& f : Fragments(args)) {
      chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", f}}}}}}}, nullptr);
    }
  }
  chunk(json::object(), finish);
  if (include_usage) {
    json j = head;
    j.update({{"choices", json::array()}, {"usage", usage}});
    ev.push_back(Sse("", j));
  }
  ev.push_back("data: [DONE]\n\n");
  return Stream(std::move(ev));
}

Reply OpenAiResponses(const Call& c) {
  const auto& t = c.s.tokens;
  std::string msg_id = "msg_fake_" + c.n, fc_id = "fc_fake_" + c.n;
  json part = {{"type", "output_text"}, {"text", c.s.reply_text}, {"annotations", json::array()}};
  json message = {{"type", "message"},
                  {"id", msg_id},
                  {"status", "completed"},
                  {"role", "assistant"},
                  {"content", {part}}};
  json call;
  if (c.s.tool_call) {
    call = {{"type", "function_call"},
            {"id", fc_id},
            {"call_id", "call_fake_" + c.n},
            {"name", c.s.tool_call->name},
            {"arguments", c.s.tool_call->input.dump()},
            {"status", "completed"}};
  }
  json response = {
      {"id", "resp_fake_" + c.n}, {"object", "response"},  {"created_at", std::time(nullptr)},
      {"model", c.model},         {"status", "completed"}, {"output", json::array()}};
  if (HasText(c.s)) response["output"].push_back(message);
  if (c.s.tool_call) response["output"].push_back(call);
  response["usage"] = {{"input_tokens", t.input + t.cache_read},
                       {"input_tokens_details", {{"cached_tokens", t.cache_read}}},
                       {"output_tokens", t.output},
                       {"output_tokens_details", {{"reasoning_tokens", t.reasoning}}},
                       {"total_tokens", t.input + t.cache_read + t.output}};
  if (!c.stream) return JsonReply(response);

  std::vector<std::string> ev;
  int seq = 0;
  auto event = [&](const std::string& type, json data) {
    data["type"] = type;
    data["sequence_number"] = seq++;
    ev.push_back(Sse(type, data));
  };
  json pending = response;
  pending.update({{"status", "in_progress"}, {"output", json::array()}, {"usage", nullptr}});
  event("response.created", {{"response", pending}});
  event("response.in_progress", {{"response", pending}});
  int index = 0;
  if (HasText(c.s)) {
    json at = {{"item_id", msg_id}, {"output_index", index}, {"content_index", 0}};
    json empty = message;
    empty.update({{"status", "in_progress"}, {"content", json::array()}});
    event("response.output_item.added", {{"output_index", index}, {"item", empty}});
    json empty_part = part;
    empty_part["text"] = "";
    json added = at;
    added["part"] = empty_part;
    event("response.content_part.added", added);
    for (const auto& w : Words(c.s.reply_text)) {
      json d = at;
      d["delta"] = w;
      event("response.output_text.delta", d);
    }
    json done = at;
    done["text"] = c.s.reply_text;
    event("response.output_text.done", done);
    done.erase("text");
    done["part"] = part;
    event("response.content_part.done", done);
    event("response.output_item.done", {{"output_index", index++}, {"item", message}});
  }
  if (c.s.tool_call) {
    json empty = call;
    empty.update({{"arguments", ""}, {"status", "in_progress"}});
    event("response.output_item.added", {{"output_index", index}, {"item", empty}});
    for (const auto& f : Fragments(call["arguments"])) {
      event("response.function_call_arguments.delta",
            {{"item_id", fc_id}, {"output_index", index}, {"delta", f}});
    }
    event("response.function_call_arguments.done",
          {{"item_id", fc_id}, {"output_index", index}, {"arguments", call["arguments"]}});
    event("response.output_item.done", {{"output_index", index}, {"item", call}});
  }
  event("response.completed", {{"response", response}});
  return Stream(std::move(ev));
}

Reply Gemini(const Call& c, bool sse) {
  const auto& t = c.s.tokens;
  int64_t prompt = t.input + t.cache_read, thoughts = t.reasoning;
  int64_t candidates = std::max<int64_t>(0, t.output - t.reasoning);
  auto usage = [&](int64_t cand) {
    return json{{"promptTokenCount", prompt},
                {"candidatesTokenCount", cand},
                {"totalTokenCount", prompt + cand + thoughts},
                {"cachedContentTokenCount", t.cache_read},
                {"thoughtsTokenCount", thoughts}};
  };
  json call;
  if (c.s.tool_call) {
    call = {{"functionCall", {{"name", c.s.tool_call->name}, {"args", c.s.tool_call->input}}}};
  }
  auto answer = [&](json parts, int64_t cand, bool last) {
    json candidate = {{"content", {{"role", "model"}, {"parts", std::move(parts)}}}, {"index", 0}};
    if (last) candidate["finishReason"] = "STOP";
    return json{{"candidates", {candidate}},
                {"usageMetadata", usage(cand)},
                {"modelVersion", c.model},
                {"responseId", "fake-" + c.n}};
  };
  if (!c.stream) {
    json parts = json::array();
    if (HasText(c.s)) parts.push_back({{"text", c.s.reply_text}});
    if (c.s.tool_call) parts.push_back(call);
    return JsonReply(answer(parts, candidates, true));
  }
  // One chunk per word, the function call (Gemini sends it whole) last.
  std::vector<json> parts;
  for (const auto& w : Words(c.s.reply_text)) parts.push_back({{"text", w}});
  if (HasText(c.s) && parts.empty()) parts.push_back({{"text", ""}});
  if (c.s.tool_call) parts.push_back(call);
  std::vector<std::string> ev;
  int64_t n = static_cast<int64_t>(parts.size());
  for (int64_t i = 0; i < n; ++i) {
    std::string data = answer(json::array({parts[i]}), candidates * (i + 1) / n, i + 1 == n).dump();
    if (sse) {
      ev.push_back("data: " + data + "\r\n\r\n");
    } else {
      ev.push_back((i == 0 ? "[" : ",\r\n") + data + (i + 1 == n ? "]" : ""));
    }
  }
  return Stream(std::move(ev), sse ? "text/event-stream" : "application/json");
}

enum class Dialect { kAnthropic, kOpenAi, kGemini };

// The provider's own error body for `status`.
Reply ProviderError(Dialect d, int status, const std::string& message) {
  // Each provider's error type for a status; the first row for any other
  // 4xx, the row of 500 for any other 5xx.
  static const struct {
    int status;
    const char *anthropic, *openai, *google;
  } kTypes[] = {{400, "invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"},
                {401, "authentication_error", "invalid_request_error", "UNAUTHENTICATED"},
                {403, "permission_error", "invalid_request_error", "PERMISSION_DENIED"},
                {404, "not_found_error", "invalid_request_error", "NOT_FOUND"},
                {429, "rate_limit_error", "rate_limit_exceeded", "RESOURCE_EXHAUSTED"},
                {500, "api_error", "server_error", "INTERNAL"},
                {503, "overloaded_error", "server_error", "UNAVAILABLE"},
                {529, "overloaded_error", "server_error", "UNAVAILABLE"}};
  const auto* type = status < 500 ? &kTypes[0] : &kTypes[5];
  for (const auto& t : kTypes) {
    if (t.status == status) type = &t;
  }
  json body;
  if (d == Dialect::kAnthropic) {
    body = {{"type", "error"}, {"error", {{"type", type->anthropic}, {"message", message}}}};
  } else if (d == Dialect::kOpenAi) {
    body = {
        {"error",
         {{"message", message}, {"type", type->openai}, {"param", nullptr}, {"code", nullptr}}}};
  } else {
    body = {{"error", {{"code", status}, {"message", message}, {"status", type->google}}}};
  }
  return JsonReply(body, status);
}

bool EndsWith(const std::string& s, const std::string& end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

}  // namespace

Reply Answer(const FakeUpstream::Seen& seen, const FakeUpstream::Script& s, uint64_t number) {
  std::string path = seen.target.substr(0, seen.target.find('?'));
  std::string query = seen.target.size() > path.size() ? seen.target.substr(path.size()) : "";
  size_t models = path.find("/models/");
  bool gemini = models != std::string::npos &&
                (EndsWith(path, ":generateContent") || EndsWith(path, ":streamGenerateContent"));
  Dialect dialect = gemini                                        ? Dialect::kGemini
                    : path.find("/messages") != std::string::npos ? Dialect::kAnthropic
                                                                  : Dialect::kOpenAi;
  bool post = seen.method == "POST";
  bool known =
      post && (gemini || EndsWith(path, "/messages") || EndsWith(path, "/messages/count_tokens") ||
               EndsWith(path, "/chat/completions") || EndsWith(path, "/responses"));
  if (!known && !(seen.method == "GET" && EndsWith(path, "/models"))) {
    return ProviderError(dialect, 404, "fake upstream: no route for " + seen.method + " " + path);
  }
  if (s.status_override != 0) {
    return ProviderError(dialect, s.status_override, "fake upstream: scripted error");
  }
  if (!post) {
    json m = {{"id", "fake-model-1"},
              {"object", "model"},
              {"type", "model"},
              {"display_name", "Fake Model 1"},
              {"owned_by", "reins-fake-upstream"}};
    return JsonReply({{"object", "list"}, {"data", {m}}, {"has_more", false}});
  }
  json req = json::parse(seen.body, nullptr, false);
  if (!req.is_object())
    return ProviderError(dialect, 400, "fake upstream: the body is not a JSON object");
  std::string model =
      req.contains("model") && req["model"].is_string() ? req["model"].get<std::string>() : "";
  if (gemini) {
    size_t colon = path.rfind(':');
    model = path.substr(models + 8, colon - models - 8);
  }
  Call c{s, req, model, std::to_string(number), IsTrue(req, "stream")};
  if (gemini) {
    c.stream = EndsWith(path, ":streamGenerateContent");
    return Gemini(c, query.find("alt=sse") != std::string::npos);
  }
  if (EndsWith(path, "/count_tokens")) {
    const auto& t = s.tokens;
    return JsonReply({{"input_tokens", t.input + t.cache_read + t.cache_creation}});
  }
  if (dialect == Dialect::kAnthropic) return Anthropic(c);
  if (EndsWith(path, "/chat/completions")) return OpenAiChat(c);
  return OpenAiResponses(c);
}

}  // namespace reins::testing::fake
