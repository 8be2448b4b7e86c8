#include "harness-adapters/llm_api.h"

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <utility>

namespace reins::llm {

namespace {

using Ptr = Json::json_pointer;

constexpr size_t kMaxText = 4000;

const Json& Field(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Str(const Json& j, const char* key) {
  const Json& v = Field(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

int64_t Count(const Json& j, const char* key) {
  const Json& v = Field(j, key);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::vector<std::string> Split(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t at; (at = s.find(sep, pos)) != std::string_view::npos; pos = at + sep.size()) {
    out.emplace_back(s.substr(pos, at - pos));
  }
  out.emplace_back(s.substr(pos));
  return out;
}

// Cuts at kMaxText bytes without splitting a UTF-8 sequence.
void Truncate(std::string* text) {
  if (text->size() <= kMaxText) return;
  size_t n = kMaxText;
  while (n > 0 && (static_cast<unsigned char>((*text)[n]) & 0xC0) == 0x80) --n;
  text->resize(n);
}

// The MODEL span of ".../models/MODEL:METHOD" (a query string after it is
// left alone); false when the path has none.
bool GeminiModelSpan(std::string_view path, size_t* begin, size_t* end) {
  std::string_view p = path.substr(0, path.find('?'));
  size_t colon = p.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view method = p.substr(colon + 1);
  if (method != "generateContent" && method != "streamGenerateContent") return false;
  size_t models = p.rfind("/models/", colon);
  if (models == std::string_view::npos) return false;
  *begin = models + 8;
  *end = colon;
  std::string_view model = p.substr(*begin, colon - *begin);
  return !model.empty() && model.find('/') == std::string_view::npos;
}

// Usage in the engine's form. OpenAI and Gemini count the cached part
// inside their input; Gemini counts thoughts outside its output.
Json EngineUsage(int64_t input_with_cache, int64_t cached, int64_t output, int64_t reasoning) {
  return {{"input_tokens", std::max<int64_t>(0, input_with_cache - cached)},
          {"cache_read_input_tokens", cached},
          {"cache_creation_input_tokens", 0},
          {"output_tokens", output},
          {"reasoning_tokens", reasoning}};
}

// Anthropic already counts input without the cache; it does not report the
// thinking part of its output separately.
void MergeAnthropicUsage(const Json& u, Json* usage) {
  if (!usage->is_object()) *usage = Json::object();
  for (const char* key : {"input_tokens", "output_tokens", "cache_read_input_tokens",
                          "cache_creation_input_tokens"}) {
    if (Field(u, key).is_number_integer()) (*usage)[key] = u[key];
    if (!usage->contains(key)) (*usage)[key] = 0;
  }
}

Json ChatUsage(const Json& u) {
  return EngineUsage(Count(u, "prompt_tokens"),
                     Count(Field(u, "prompt_tokens_details"), "cached_tokens"),
                     Count(u, "completion_tokens"),
                     Count(Field(u, "completion_tokens_details"), "reasoning_tokens"));
}

Json ResponsesUsage(const Json& u) {
  return EngineUsage(
      Count(u, "input_tokens"), Count(Field(u, "input_tokens_details"), "cached_tokens"),
      Count(u, "output_tokens"), Count(Field(u, "output_tokens_details"), "reasoning_tokens"));
}

Json GeminiUsage(const Json& u) {
  int64_t thoughts = Count(u, "thoughtsTokenCount");
  return EngineUsage(Count(u, "promptTokenCount"), Count(u, "cachedContentTokenCount"),
                     Count(u, "candidatesTokenCount") + thoughts, thoughts);
}

// The name a provider gives an HTTP status: from `table`, else `other`.
const char* Name(int status, std::initializer_list<std::pair<int, const char*>> table,
                 const char* other) {
  for (const auto& [code, name] : table) {
    if (code == status) return name;
  }
  return other;
}

// Tool arguments sent as JSON in a string; {} when they are not an object.
Json ParseArgs(const Json& args) {
  if (args.is_object()) return args;
  if (!args.is_string()) return Json::object();
  Json parsed = Json::parse(args.get<std::string>(), nullptr, false);
  return parsed.is_object() ? parsed : Json::object();
}

Json ToolCall(const std::string& tool, Json input, const std::string& call_id) {
  return {{"tool", tool}, {"input", std::move(input)}, {"call_id", call_id}};
}

// A GenerateContentResponse, whole or one streamed piece: its text parts
// (not thoughts) go to `text`. True when its candidate has finished.
bool ReadGemini(const Json& j, ResponseFacts* f,
                const std::function<void(std::string_view)>& text) {
  if (Field(j, "modelVersion").is_string()) f->model = j["modelVersion"].get<std::string>();
  if (Field(j, "usageMetadata").is_object()) f->usage = GeminiUsage(j["usageMetadata"]);
  const Json& candidates = Field(j, "candidates");
  if (!candidates.is_array() || candidates.empty()) return false;
  const Json& parts = Field(Field(candidates[0], "content"), "parts");
  for (size_t i = 0; parts.is_array() && i < parts.size(); ++i) {
    const Json& part = parts[i];
    if (Field(part, "text").is_string() && Field(part, "thought") != true) text(Str(part, "text"));
    const Json& call = Field(part, "functionCall");
    if (call.is_object()) {
      f->tool_calls.push_back(
          ToolCall(Str(call, "name"), ParseArgs(Field(call, "args")), Str(call, "id")));
    }
  }
  return !Str(candidates[0], "finishReason").empty();
}

// Gathers a request's text segments and their JSON pointers.
class Collector {
 public:
  explicit Collector(RequestFacts* f) : f_(f) {}

  void BeginMessage(bool user) {
    user_ = user;
    message_.clear();
  }
  void EndMessage() {
    if (user_) f_->prompt = Join(message_, "\n");
  }
  void Add(bool system, const Json& v, const Ptr& p) {
    if (!v.is_string()) return;
    (system ? system_ : text_).push_back(v.get<std::string>());
    (system ? f_->system_paths : f_->text_paths).push_back(p.to_string());
    message_.push_back(v.get<std::string>());
  }
  // A string, or an array of blocks of which those of `types` hold text
  // (Gemini parts have no type: ""); Anthropic tool results hold a string or
  // text blocks of their own.
  void Content(bool system, const Json& content, const Ptr& p,
               std::initializer_list<std::string_view> types) {
    if (content.is_string()) return Add(system, content, p);
    for (size_t i = 0; content.is_array() && i < content.size(); ++i) {
      std::string type = Str(content[i], "type");
      if (std::find(types.begin(), types.end(), type) != types.end()) {
        Add(system, Field(content[i], "text"), p / i / "text");
      } else if (type == "tool_result") {
        Content(system, Field(content[i], "content"), p / i / "content", {"text"});
      }
    }
  }
  void Finish() {
    f_->text = Join(text_, kSegmentSeparator);
    f_->system = Join(system_, kSegmentSeparator);
  }

 private:
  RequestFacts* f_;
  std::vector<std::string> text_, system_, message_;
  bool user_ = false;
};

Status NotA(const std::string& field, const char* what) {
  return Status::InvalidArgument("request field '" + field + "' is not " + what);
}

// The texts of every message (Anthropic and OpenAI chat "messages", Responses
// "input", Gemini "contents") and of the system prompt, and the counts.
Status ReadMessages(Api api, const Json& body, RequestFacts* f) {
  bool gemini = api == Api::kGemini, responses = api == Api::kOpenAiResponses;
  bool chat = api == Api::kOpenAiChat;
  std::string key = gemini ? "contents" : responses ? "input" : "messages";
  const Json& list = Field(body, key.c_str());
  Collector c(f);
  if (responses && list.is_string()) {
    c.BeginMessage(true);
    c.Add(false, list, Ptr("/input"));
    c.EndMessage();
    f->messages_count = 1;
  } else if (!list.is_array() && !(responses && list.is_null())) {
    return NotA(key, "an array");
  }
  if (api == Api::kAnthropicMessages || api == Api::kAnthropicCountTokens) {
    c.Content(true, Field(body, "system"), Ptr("/system"), {"text"});
  }
  if (responses) c.Content(true, Field(body, "instructions"), Ptr("/instructions"), {});
  for (std::string system_key : {"systemInstruction", "system_instruction"}) {
    const Json& parts = Field(Field(body, system_key.c_str()), "parts");
    if (gemini) c.Content(true, parts, Ptr("/" + system_key) / "parts", {""});
  }
  for (size_t i = 0; list.is_array() && i < list.size(); ++i) {
    const Json& item = list[i];
    if (!item.is_object()) return NotA(key + "/" + std::to_string(i), "an object");
    std::string role = Str(item, "role");
    bool system = (chat || responses) && (role == "system" || role == "developer");
    Ptr p = Ptr("/" + key) / i;
    c.BeginMessage(role == "user");
    if (gemini) {
      c.Content(false, Field(item, "parts"), p / "parts", {""});
    } else if (responses && Str(item, "type") == "function_call_output") {
      c.Add(false, Field(item, "output"), p / "output");
    } else if (responses && !role.empty()) {
      c.Content(system, Field(item, "content"), p / "content", {"input_text", "output_text"});
    } else if (!responses) {
      c.Content(system, Field(item, "content"), p / "content", {"text"});
    }
    c.EndMessage();
  }
  c.Finish();
  if (list.is_array()) f->messages_count = static_cast<int64_t>(list.size());
  const Json& tools = Field(body, "tools");
  if (!gemini && tools.is_array()) f->tools_count = static_cast<int64_t>(tools.size());
  for (size_t i = 0; gemini && tools.is_array() && i < tools.size(); ++i) {
    for (const char* decls : {"functionDeclarations", "function_declarations"}) {
      if (Field(tools[i], decls).is_array()) f->tools_count += tools[i][decls].size();
    }
  }
  return Status::OK();
}

Status ReplaceSegments(const std::string& key, const Json& value,
                       const std::vector<std::string>& paths, Json* body) {
  if (!value.is_string()) return Status::FailedPrecondition("patch '" + key + "' is not a string");
  std::vector<std::string> segments = Split(value.get<std::string>(), kSegmentSeparator);
  if (paths.empty() && value.get<std::string>().empty()) return Status::OK();
  if (segments.size() != paths.size()) {
    return Status::FailedPrecondition("patch '" + key + "' has " + std::to_string(segments.size()) +
                                      " segments where the request has " +
                                      std::to_string(paths.size()) + " (a separator was lost)");
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    Ptr p(paths[i]);
    if (!body->contains(p) || !(*body)[p].is_string()) {
      return Status::FailedPrecondition("request has no text at " + paths[i]);
    }
    (*body)[p] = segments[i];
  }
  return Status::OK();
}

}  // namespace

const char* ApiName(Api api) {
  static const char* const kNames[] = {"anthropic_messages",
                                       "anthropic_count_tokens",
                                       "openai_chat",
                                       "openai_responses",
                                       "gemini",
                                       "other"};
  return kNames[static_cast<int>(api)];
}

Api Classify(std::string_view method, std::string_view path) {
  if (method != "POST") return Api::kOther;
  if (path.ends_with("/v1/messages/count_tokens") || path == "/messages/count_tokens") {
    return Api::kAnthropicCountTokens;
  }
  // Not any ".../messages": OpenAI's Assistants API posts to /threads/ID/messages.
  if (path.ends_with("/v1/messages") || path == "/messages") return Api::kAnthropicMessages;
  if (path.ends_with("/chat/completions")) return Api::kOpenAiChat;
  if (path.ends_with("/responses")) return Api::kOpenAiResponses;
  size_t begin, end;
  if (GeminiModelSpan(path, &begin, &end)) return Api::kGemini;
  return Api::kOther;
}

Result<RequestFacts> ReadRequest(Api api, std::string_view path, const Json& body) {
  RequestFacts f;
  f.api = api;
  if (api == Api::kOther) return f;
  if (!body.is_object()) return Status::InvalidArgument("request body is not a JSON object");
  if (api == Api::kGemini) {
    size_t begin, end;
    if (!GeminiModelSpan(path, &begin, &end)) {
      return Status::InvalidArgument("path '" + std::string(path) + "' names no Gemini model");
    }
    f.model = std::string(path.substr(begin, end - begin));
    f.stream = path.substr(0, path.find('?')).ends_with(":streamGenerateContent");
  } else {
    const Json& model = Field(body, "model");
    if (!model.is_string()) return Status::InvalidArgument("request field 'model' is not a string");
    f.model = model.get<std::string>();
    f.stream = Field(body, "stream") == true;
  }
  REINS_RETURN_IF_ERROR(ReadMessages(api, body, &f));
  return f;
}

Status ApplyPatch(const RequestFacts& facts, const Json& patch, Json* body, std::string* path) {
  if (!patch.is_object()) return Status::FailedPrecondition("modify patch is not a JSON object");
  if (body == nullptr || !body->is_object()) {
    return Status::FailedPrecondition("request body is not a JSON object");
  }
  // Applied to copies, so that a refused patch changes nothing.
  Json new_body = *body;
  std::string new_path = path != nullptr ? *path : std::string();
  for (const auto& [key, value] : patch.items()) {
    if (facts.api == Api::kOther) {
      return Status::FailedPrecondition("patch '" + key +
                                        "' cannot apply to an ungoverned request");
    }
    if (key == "model") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return Status::FailedPrecondition("patch 'model' is not a non-empty string");
      }
      std::string model = value.get<std::string>();
      if (facts.api != Api::kGemini) {
        new_body["model"] = model;
        continue;
      }
      size_t begin, end;
      if (path == nullptr || !GeminiModelSpan(new_path, &begin, &end)) {
        return Status::FailedPrecondition("request path names no Gemini model to replace");
      }
      if (model.find_first_of("/:?#") != std::string::npos) {
        return Status::FailedPrecondition("patch 'model' '" + model + "' is not a Gemini model id");
      }
      new_path.replace(begin, end - begin, model);
    } else if (key == "text" || key == "system") {
      REINS_RETURN_IF_ERROR(ReplaceSegments(
          key, value, key == "text" ? facts.text_paths : facts.system_paths, &new_body));
    } else {
      return Status::FailedPrecondition("patch key '" + key + "' has no place in a " +
                                        ApiName(facts.api) + " request");
    }
  }
  body->swap(new_body);
  if (path != nullptr) path->swap(new_path);
  return Status::OK();
}

bool AskForStreamUsage(Json* body) {
  if (body == nullptr || !body->is_object()) return false;
  Json& options = (*body)["stream_options"];
  if (!options.is_object()) options = Json::object();
  bool asked = Field(options, "include_usage") == true;
  options["include_usage"] = true;
  return !asked;
}

ErrorReply ProviderError(Api api, int status, std::string_view message) {
  std::string msg(message);
  Json body = {{"error", {{"message", msg}}}};
  if (api == Api::kAnthropicMessages || api == Api::kAnthropicCountTokens) {
    const char* type = Name(status,
                            {{400, "invalid_request_error"},
                             {401, "authentication_error"},
                             {403, "permission_error"},
                             {404, "not_found_error"},
                             {413, "request_too_large"},
                             {429, "rate_limit_error"},
                             {529, "overloaded_error"}},
                            "api_error");
    body = {{"type", "error"}, {"error", {{"type", type}, {"message", msg}}}};
  } else if (api == Api::kOpenAiChat || api == Api::kOpenAiResponses) {
    // A budget denial borrows OpenAI's own word for money that has run out,
    // so that clients show it as that rather than as a passing rate limit.
    const char* type = Name(status, {{403, "permission_denied"}, {429, "insufficient_quota"}},
                            status >= 500 ? "server_error" : "invalid_request_error");
    const char* code = Name(status, {{403, "policy_denied"}, {429, "insufficient_quota"}}, nullptr);
    body["error"].update(
        {{"type", type}, {"param", nullptr}, {"code", code ? Json(code) : Json()}});
  } else if (api == Api::kGemini) {
    const char* s = Name(status,
                         {{400, "INVALID_ARGUMENT"},
                          {401, "UNAUTHENTICATED"},
                          {403, "PERMISSION_DENIED"},
                          {404, "NOT_FOUND"},
                          {429, "RESOURCE_EXHAUSTED"},
                          {502, "UNAVAILABLE"},
                          {503, "UNAVAILABLE"},
                          {504, "DEADLINE_EXCEEDED"}},
                         "INTERNAL");
    body = {{"error", {{"code", status}, {"message", msg}, {"status", s}}}};
  }
  ErrorReply reply;
  reply.status = status;
  reply.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return reply;
}

Result<ResponseFacts> ReadResponse(Api api, const Json& body) {
  ResponseFacts r;
  if (api == Api::kOther) return r;
  if (!body.is_object()) return Status::InvalidArgument("response body is not a JSON object");
  if (Field(body, "error").is_object()) {
    return Status::InvalidArgument("response is an error: " + Str(body["error"], "message"));
  }
  std::vector<std::string> texts;
  switch (api) {
    case Api::kAnthropicCountTokens:
      if (!Field(body, "input_tokens").is_number_integer()) {
        return Status::InvalidArgument("response field 'input_tokens' is not an integer");
      }
      return r;  // a count is not a model call: nothing to charge
    case Api::kAnthropicMessages: {
      const Json& content = Field(body, "content");
      if (!content.is_array())
        return Status::InvalidArgument("response field 'content' is not an array");
      r.model = Str(body, "model");
      for (const Json& block : content) {
        std::string type = Str(block, "type");
        if (type == "text") texts.push_back(Str(block, "text"));
        if (type == "tool_use") {
          r.tool_calls.push_back(
              ToolCall(Str(block, "name"), ParseArgs(Field(block, "input")), Str(block, "id")));
        }
      }
      if (Field(body, "usage").is_object()) MergeAnthropicUsage(body["usage"], &r.usage);
      break;
    }
    case Api::kOpenAiChat: {
      const Json& choices = Field(body, "choices");
      if (!choices.is_array())
        return Status::InvalidArgument("response field 'choices' is not an array");
      r.model = Str(body, "model");
      const Json& message = choices.empty() ? Field(Json(), "") : Field(choices[0], "message");
      if (Field(message, "content").is_string()) texts.push_back(Str(message, "content"));
      const Json& calls = Field(message, "tool_calls");
      for (size_t i = 0; calls.is_array() && i < calls.size(); ++i) {
        const Json& fn = Field(calls[i], "function");
        r.tool_calls.push_back(
            ToolCall(Str(fn, "name"), ParseArgs(Field(fn, "arguments")), Str(calls[i], "id")));
      }
      if (Field(body, "usage").is_object()) r.usage = ChatUsage(body["usage"]);
      break;
    }
    case Api::kOpenAiResponses: {
      const Json& output = Field(body, "output");
      if (!output.is_array())
        return Status::InvalidArgument("response field 'output' is not an array");
      r.model = Str(body, "model");
      for (const Json& item : output) {
        std::string type = Str(item, "type");
        if (type == "function_call") {
          r.tool_calls.push_back(ToolCall(Str(item, "name"), ParseArgs(Field(item, "arguments")),
                                          Str(item, "call_id")));
        }
        const Json& content = Field(item, "content");
        for (size_t i = 0; type == "message" && content.is_array() && i < content.size(); ++i) {
          if (Str(content[i], "type") == "output_text") texts.push_back(Str(content[i], "text"));
        }
      }
      if (Field(body, "usage").is_object()) r.usage = ResponsesUsage(body["usage"]);
      break;
    }
    case Api::kGemini: {
      if (!Field(body, "candidates").is_null() && !Field(body, "candidates").is_array()) {
        return Status::InvalidArgument("response field 'candidates' is not an array");
      }
      std::string text;
      ReadGemini(body, &r, [&](std::string_view t) { text += t; });
      texts.push_back(text);
      break;
    }
    case Api::kOther:
      break;
  }
  r.text = Join(texts, "\n");
  Truncate(&r.text);
  return r;
}

StreamReader::StreamReader(Api api, bool drop_usage_chunk)
    : api_(api), drop_usage_chunk_(drop_usage_chunk) {}

std::string StreamReader::Feed(std::string_view bytes) {
  std::string out;
  size_t pos = 0;
  for (size_t nl; (nl = bytes.find('\n', pos)) != std::string_view::npos; pos = nl + 1) {
    line_.append(bytes.substr(pos, nl - pos));
    if (drop_usage_chunk_) held_.append(bytes.substr(pos, nl + 1 - pos));
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (!line_.empty()) {
      OnLine(line_);
    } else {  // a blank line ends the event
      bool drop = has_data_ && OnEvent(event_, data_);
      event_.clear();
      data_.clear();
      has_data_ = false;
      if (!drop) out += held_;
      held_.clear();
    }
    line_.clear();
  }
  line_.append(bytes.substr(pos));
  if (!drop_usage_chunk_) return std::string(bytes);
  held_.append(bytes.substr(pos));
  return out;
}

void StreamReader::OnLine(std::string_view line) {
  if (line.front() == ':') return;  // a comment
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "event") {
    event_ = value;
  } else if (field == "data") {
    if (has_data_) data_ += '\n';
    data_ += value;
    has_data_ = true;
  }
}

bool StreamReader::OnEvent(std::string_view event, std::string_view data) {
  if (data == "[DONE]") {
    FinishCalls();
    complete_ = true;
    return false;
  }
  Json j = Json::parse(data, nullptr, false);
  if (!j.is_object()) return false;  // not ours to judge: relayed, not read
  if (!j.contains("type") && !event.empty()) j["type"] = event;
  try {
    switch (api_) {
      case Api::kAnthropicMessages:
        OnAnthropic(j);
        break;
      case Api::kOpenAiChat:
        OnChat(j);
        return drop_usage_chunk_ && Field(j, "usage").is_object() &&
               Field(j, "choices").is_array() && j["choices"].empty();
      case Api::kOpenAiResponses:
        OnResponses(j);
        break;
      case Api::kGemini:
        OnGemini(j);
        break;
      case Api::kAnthropicCountTokens:
      case Api::kOther:
        break;
    }
  } catch (const Json::exception&) {
    // A field of an unexpected type: the event is skipped, the stream goes on.
  }
  return false;
}

void StreamReader::OnAnthropic(const Json& j) {
  std::string type = Str(j, "type");
  int64_t index = Count(j, "index");
  if (type == "message_start") {
    const Json& message = Field(j, "message");
    facts_.model = Str(message, "model");
    if (Field(message, "usage").is_object()) MergeAnthropicUsage(message["usage"], &facts_.usage);
  } else if (type == "content_block_start") {
    const Json& block = Field(j, "content_block");
    std::string block_type = Str(block, "type");
    if (block_type == "text") AppendText(std::to_string(index), Str(block, "text"));
    if (block_type == "tool_use") {
      partial_calls_[index] = {
          {"tool", Str(block, "name")}, {"call_id", Str(block, "id")}, {"args", ""}};
    }
  } else if (type == "content_block_delta") {
    const Json& delta = Field(j, "delta");
    std::string delta_type = Str(delta, "type");
    if (delta_type == "text_delta") AppendText(std::to_string(index), Str(delta, "text"));
    auto call = partial_calls_.find(index);
    if (delta_type == "input_json_delta" && call != partial_calls_.end()) {
      call->second["args"] = call->second["args"].get<std::string>() + Str(delta, "partial_json");
    }
  } else if (type == "content_block_stop") {
    auto call = partial_calls_.find(index);
    if (call == partial_calls_.end()) return;
    const Json& c = call->second;
    facts_.tool_calls.push_back(ToolCall(c["tool"].get<std::string>(), ParseArgs(c["args"]),
                                         c["call_id"].get<std::string>()));
    partial_calls_.erase(call);
  } else if (type == "message_delta") {
    if (Field(j, "usage").is_object()) MergeAnthropicUsage(j["usage"], &facts_.usage);
  } else if (type == "message_stop") {
    complete_ = true;
  }
}

void StreamReader::OnChat(const Json& j) {
  if (Field(j, "model").is_string()) facts_.model = j["model"].get<std::string>();
  if (Field(j, "usage").is_object()) facts_.usage = ChatUsage(j["usage"]);
  const Json& choices = Field(j, "choices");
  if (!choices.is_array() || choices.empty()) return;
  const Json& delta = Field(choices[0], "delta");
  if (Field(delta, "content").is_string()) AppendText("", Str(delta, "content"));
  const Json& calls = Field(delta, "tool_calls");
  for (size_t i = 0; calls.is_array() && i < calls.size(); ++i) {
    const Json& fragment = calls[i];
    int64_t index = Field(fragment, "index").is_number_integer() ? Count(fragment, "index")
                                                                 : static_cast<int64_t>(i);
    Json& call = partial_calls_[index];
    if (call.is_null()) call = {{"tool", ""}, {"call_id", ""}, {"args", ""}};
    const Json& fn = Field(fragment, "function");
    if (Field(fragment, "id").is_string()) call["call_id"] = fragment["id"].get<std::string>();
    if (Field(fn, "name").is_string()) call["tool"] = fn["name"].get<std::string>();
    call["args"] = call["args"].get<std::string>() + Str(fn, "arguments");
  }
}

void StreamReader::OnResponses(const Json& j) {
  std::string type = Str(j, "type");
  if (type == "response.content_part.added" && Str(Field(j, "part"), "type") == "output_text") {
    AppendText(Str(j, "item_id") + "/" + std::to_string(Count(j, "content_index")), "");
  } else if (type == "response.output_text.delta") {
    AppendText(Str(j, "item_id") + "/" + std::to_string(Count(j, "content_index")),
               Str(j, "delta"));
  } else if (type == "response.output_item.done") {
    const Json& item = Field(j, "item");
    if (Str(item, "type") == "function_call") {
      facts_.tool_calls.push_back(
          ToolCall(Str(item, "name"), ParseArgs(Field(item, "arguments")), Str(item, "call_id")));
    }
  } else if (type == "response.created" || type == "response.completed" ||
             type == "response.incomplete" || type == "response.failed") {
    const Json& response = Field(j, "response");
    if (Field(response, "model").is_string()) facts_.model = response["model"].get<std::string>();
    if (Field(response, "usage").is_object()) facts_.usage = ResponsesUsage(response["usage"]);
    // An incomplete or failed response ends the stream too, and its usage is billed.
    if (type != "response.created") complete_ = true;
  }
}

void StreamReader::OnGemini(const Json& j) {
  if (ReadGemini(j, &facts_, [this](std::string_view t) { AppendText("", t); })) complete_ = true;
}

void StreamReader::AppendText(const std::string& part, std::string_view text) {
  std::string_view newline;
  if (!text_started_ || part != text_part_) {
    if (text_started_) newline = "\n";
    text_started_ = true;
    text_part_ = part;
  }
  if (text_full_) return;
  facts_.text.append(newline);
  facts_.text.append(text);
  if (facts_.text.size() > kMaxText) {
    Truncate(&facts_.text);
    text_full_ = true;
  }
}

void StreamReader::FinishCalls() {
  for (auto& [index, c] : partial_calls_) {
    facts_.tool_calls.push_back(ToolCall(c["tool"].get<std::string>(), ParseArgs(c["args"]),
                                         c["call_id"].get<std::string>()));
  }
  partial_calls_.clear();
}

}  // namespace reins::llm
