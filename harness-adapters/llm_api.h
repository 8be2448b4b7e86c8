// The model APIs the LLM proxy governs, as facts about one exchange: which
// API a request speaks, what it asks for, how to rewrite it, how the
// provider words an error, and what the answer used and asked to run.
//
// Four APIs (facts in llm_api_facts.md):
//   Anthropic Messages      POST .../v1/messages, .../v1/messages/count_tokens
//   OpenAI Chat Completions POST .../chat/completions
//   OpenAI Responses        POST .../responses
//   Gemini                  POST .../models/MODEL:generateContent
//                           POST .../models/MODEL:streamGenerateContent
//
// Token counts come out in the engine's usage form (TokenCounts::FromUsage):
// {"input_tokens", "output_tokens", "cache_read_input_tokens",
// "cache_creation_input_tokens", "reasoning_tokens"}, where input_tokens
// excludes the cached part (OpenAI and Gemini count it inside their input)
// and output_tokens includes reasoning (reasoning_tokens says how much).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/canonical_json.h"
#include "engine/status.h"

namespace reins::llm {

enum class Api {
  kAnthropicMessages,
  kAnthropicCountTokens,
  kOpenAiChat,
  kOpenAiResponses,
  kGemini,  // generateContent and streamGenerateContent
  kOther,   // forwarded untouched, not governed
};

// "anthropic_messages", "anthropic_count_tokens", "openai_chat",
// "openai_responses", "gemini", "other".
const char* ApiName(Api api);

// Which API a request speaks, from its method and path (no query string, no
// /s/SESSION prefix). Only POSTs are governed; anything else is kOther.
Api Classify(std::string_view method, std::string_view path);

// Provider JSON (request bodies, answers, stream events, tool arguments)
// nesting deeper than this is not read: walking and serializing it recurse.
inline constexpr int kMaxJsonDepth = 256;

// Text segments of a request are joined with this between them into one
// event field, and a rewritten field is split on it again. A policy's
// rewrite (a redaction) must keep every separator.
inline constexpr std::string_view kSegmentSeparator = "\n\n\u241E\n\n";

struct RequestFacts {
  Api api = Api::kOther;
  std::string model;    // the body's "model", or MODEL from a Gemini path
  bool stream = false;  // "stream": true, or :streamGenerateContent
  // Every text the request sends in its messages (user and assistant text,
  // tool results that are text), in order, joined with kSegmentSeparator;
  // and the system prompt's texts likewise. `text_paths` and
  // `system_paths` are the JSON pointers (RFC 6901) of those strings in the
  // body, one per segment.
  std::string text, system;
  std::vector<std::string> text_paths, system_paths;
  // The last user message's text (its text segments joined with "\n"):
  // the prompt a person typed, or the tool results the harness sends back.
  std::string prompt;
  int64_t messages_count = 0;
  int64_t tools_count = 0;
};

// Reads the facts of a request to `api` at `path` whose body is `body`.
// InvalidArgument naming the field when the body is not what the API
// expects (not an object, no model where the body must name one, messages
// not an array).
Result<RequestFacts> ReadRequest(Api api, std::string_view path, const Json& body);

// Applies a policy's modify patch to the request. Keys: "model" (the body's
// model, or the MODEL segment of a Gemini `path`), "text" and "system"
// (split on kSegmentSeparator back into the strings at text_paths /
// system_paths). FailedPrecondition, with nothing changed, when the patch
// cannot be applied faithfully: a key the API has no place for, or a
// rewritten text whose segment count differs. The proxy then refuses the
// request instead of sending it unrewritten.
Status ApplyPatch(const RequestFacts& facts, const Json& patch, Json* body, std::string* path);

// OpenAI Chat Completions streams report usage only when asked: sets
// stream_options.include_usage to true. Returns true when the client had
// not asked (the proxy then drops the usage chunk from what it relays).
bool AskForStreamUsage(Json* body);

// An error the client's SDK understands: the provider's own error body.
struct ErrorReply {
  int status = 400;
  std::string content_type = "application/json";
  std::string body;
};
// `status` is the HTTP status to send (403 for a policy's deny, 429 for a
// budget, 502 when the upstream failed); `message` is shown to the user.
ErrorReply ProviderError(Api api, int status, std::string_view message);

// What an answer reported.
struct ResponseFacts {
  std::string model;  // the model that answered, when the answer names it
  Json usage;         // the usage form above; null when the answer has none
  // Tool calls the model asked for: {"tool": NAME, "input": OBJECT,
  // "call_id": ID} each (input parsed from JSON-in-a-string where the API
  // sends it that way; {} when it does not parse).
  std::vector<Json> tool_calls;
  std::string text;  // the answer's text, truncated to 4,000 bytes
};

// Reads a whole (non-streamed) JSON answer. InvalidArgument when `body` is
// not the API's answer object.
Result<ResponseFacts> ReadResponse(Api api, const Json& body);

// Reads a streamed answer (Server-Sent Events) as it passes through the
// proxy, in whatever pieces the network delivers it.
class StreamReader {
 public:
  // `drop_usage_chunk`: an OpenAI chat stream whose usage the proxy asked
  // for; the chunk that carries only usage (empty "choices") is not relayed.
  StreamReader(Api api, bool drop_usage_chunk);

  // Takes the next bytes from upstream and returns the bytes to relay to
  // the client now: the same bytes, except a dropped usage chunk (then
  // bytes are held back only until the end of the event they belong to).
  std::string Feed(std::string_view bytes);

  // Everything the stream reported so far: usage accumulates as the API
  // sends it (Anthropic: message_start, then message_delta; OpenAI chat: the
  // final usage chunk; Responses: the response's end event; Gemini: the last
  // usageMetadata), tool calls once their arguments are complete.
  const ResponseFacts& facts() const { return facts_; }

  // True once the stream's own end marker has passed (Anthropic
  // message_stop, OpenAI chat [DONE], Responses response.completed or
  // .incomplete or .failed, Gemini a candidate with finishReason).
  bool complete() const { return complete_; }

 private:
  void OnLine(std::string_view line);  // one complete line, without its line end
  // One complete event; true when it is the usage chunk to drop.
  bool OnEvent(std::string_view event, std::string_view data);
  void OnAnthropic(const Json& j);
  void OnChat(const Json& j);
  void OnResponses(const Json& j);
  void OnGemini(const Json& j);
  // Appends to the answer's text; a new `part` (content block) starts on a
  // new line, as ReadResponse joins them.
  void AppendText(const std::string& part, std::string_view text);
  void FinishCalls();

  Api api_;
  bool drop_usage_chunk_;
  std::string line_;          // the current line, not yet ended
  std::string event_, data_;  // the current event's fields so far
  bool has_data_ = false;
  std::string held_;  // bytes of the current event, held back until it is complete
  ResponseFacts facts_;
  bool complete_ = false;
  bool text_started_ = false;
  bool text_full_ = false;  // text reached its limit: later pieces are not appended
  std::string text_part_;   // the content part the text came from last
  // Tool calls being streamed, by index: {"tool", "call_id", "args"}.
  std::map<int64_t, Json> partial_calls_;
};

}  // namespace reins::llm
