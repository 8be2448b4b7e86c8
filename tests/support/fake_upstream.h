// A fake model provider on 127.0.0.1 for the LLM proxy's tests and
// benchmarks: it answers the four model APIs the proxy governs the way the
// real providers do (their JSON shapes, their Server-Sent Event sequences,
// their usage fields), records what it was sent, and can be scripted to
// fail, to stream slowly or to ask for a tool.
//
// Routes, by the path (query string ignored):
//   POST .../v1/messages                   Anthropic Messages ("stream": true: SSE)
//   POST .../v1/messages/count_tokens      {"input_tokens": N}
//   POST .../chat/completions              OpenAI Chat Completions ("stream": true: SSE)
//   POST .../responses                     OpenAI Responses ("stream": true: SSE)
//   POST .../models/MODEL:generateContent  Gemini
//   POST .../models/MODEL:streamGenerateContent  Gemini stream: SSE with ?alt=sse, else a
//                                          JSON array written element by element
//   GET  .../models                        a small model list, for pass-through tests
//   anything else                          404 with a JSON error
//
// Streamed answers use chunked transfer encoding; every event is its own
// chunk, written and flushed on its own, so a client sees each as it is
// produced. Gemini's events end in "\r\n\r\n", as Google's servers send them.
//
// Token counts follow the engine's usage form (docs/events.md): `input`
// excludes the cached part and `output` includes reasoning. Each API gets
// them in its own fields:
//   Anthropic  input_tokens=input, output_tokens=output,
//              cache_read_input_tokens, cache_creation_input_tokens
//   OpenAI     prompt_tokens (chat) / input_tokens (responses) = input + cache_read,
//              cached_tokens = cache_read, completion/output tokens = output,
//              reasoning_tokens = reasoning, total = prompt + output
//   Gemini     promptTokenCount = input + cache_read, cachedContentTokenCount = cache_read,
//              candidatesTokenCount = output - reasoning, thoughtsTokenCount = reasoning,
//              totalTokenCount = prompt + candidates + thoughts
// cache_creation exists only in Anthropic's answers; count_tokens answers
// input + cache_read + cache_creation (the whole prompt: counting knows no cache).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace reins::testing {

class FakeUpstream {
 public:
  struct Options {
    // Serve HTTPS with a self-signed certificate made at start-up (EC P-256,
    // CN=127.0.0.1, subjectAltName IP:127.0.0.1 and DNS:localhost, valid
    // from an hour ago for a day); ca_file() names its PEM.
    bool tls = false;
  };

  struct Tokens {
    int64_t input = 100;
    int64_t output = 20;
    int64_t cache_read = 0;
    int64_t cache_creation = 0;
    int64_t reasoning = 0;
  };

  struct ToolCall {
    std::string name;
    nlohmann::json input = nlohmann::json::object();
  };

  struct Script {
    std::string reply_text = "Hello from the fake upstream.";
    Tokens tokens;
    // When set, the answer asks for this tool after its text (tool_use block,
    // tool_calls, function_call item, functionCall part).
    std::optional<ToolCall> tool_call;
    // Non-zero: every request gets this status and the provider's own error
    // body (Anthropic, OpenAI or Gemini form, chosen by the path).
    int status_override = 0;
    // Pause between two events of a stream (none before the first).
    std::chrono::milliseconds chunk_delay{0};
  };

  struct Seen {
    std::string method, target;                  // target keeps the query string
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };

  // Starts listening on 127.0.0.1 on a free port and serving at once.
  FakeUpstream();
  explicit FakeUpstream(Options options);
  FakeUpstream(Options options, Script script);
  // Closes the listener and every connection still open, and waits for
  // their threads; a stream being written ends there (counted as cut).
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  // "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT" (no trailing slash).
  std::string url() const;
  int port() const;
  // The PEM file of the TLS certificate, for a client to trust as its CA;
  // empty without TLS. Removed by the destructor.
  const std::string& ca_file() const;

  // Applies to requests that arrive from now on.
  void set_script(Script script);
  Script script() const;

  // Every request received, in arrival order (recorded before it is answered).
  std::vector<Seen> requests() const;
  void clear_requests();

  // Streams whose client went away before the last event. Noticed when the
  // next event is due, so a stream cut before its last event counts once
  // that event's time (chunk_delay) comes.
  int streams_cut() const;
  // Waits until streams_cut() >= n; false after `timeout`.
  bool WaitForStreamsCut(int n, std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reins::testing
