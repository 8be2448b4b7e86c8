// Reading what a model answered: whole JSON answers and Server-Sent Event
// streams (llm_api.h), for usage, text and tool calls.
#include <algorithm>
#include <functional>
#include <utility>

#include "harness-adapters/llm_api.h"
#include "harness-adapters/llm_api_util.h"

namespace reins::llm {

using namespace detail;

namespace {

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

// Tool arguments sent as JSON in a string; {} when they are not an object.
Json ParseArgs(const Json& args) {
  if (args.is_object()) return args;
  if (!args.is_string()) return Json::object();
  auto parsed = ParseJsonBounded(args.get<std::string>(), kMaxJsonDepth);
  return parsed.ok() && parsed->is_object() ? std::move(parsed).value() : Json::object();
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

}  // namespace

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
  auto parsed = ParseJsonBounded(data, kMaxJsonDepth);
  if (!parsed.ok() || !parsed->is_object()) return false;  // not ours to judge: relayed, not read
  Json j = std::move(parsed).value();
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
