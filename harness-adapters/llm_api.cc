#include "harness-adapters/llm_api.h"

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <utility>

#include "harness-adapters/llm_api_util.h"

namespace reins::llm {

using namespace detail;

namespace {

using Ptr = Json::json_pointer;

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

// The name a provider gives an HTTP status: from `table`, else `other`.
const char* Name(int status, std::initializer_list<std::pair<int, const char*>> table,
                 const char* other) {
  for (const auto& [code, name] : table) {
    if (code == status) return name;
  }
  return other;
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

}  // namespace reins::llm
