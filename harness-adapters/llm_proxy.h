// LlmProxy: an HTTP proxy between a harness and its model provider that
// governs, meters and reroutes every model call (docs/adapters.md#llm-proxy).
//
// A harness pointed at the proxy (ANTHROPIC_BASE_URL, OPENAI_BASE_URL,
// GOOGLE_GEMINI_BASE_URL) sends it what it would send the provider. For the
// APIs in llm_api.h the proxy
//   1. records the request as an llm_request event and evaluates it: deny
//      answers with the provider's own error format, modify rewrites the
//      request (model, redacted text) before it leaves, ask holds it until a
//      person decides or `ask_wait` passes;
//   2. forwards it (TLS to https upstreams, certificates verified) and
//      relays the answer as it arrives, streamed answers event by event;
//   3. records an llm_response event with the answer's usage (the engine
//      prices it) and a tool_call event, labelled observed, for each tool
//      call the answer asks for.
// Everything else (other paths, other methods) is forwarded untouched.
// Headers pass through, API keys included; they are never recorded.
//
// Sessions: the `x-reins-session` header, or a base URL ending in
// /s/SESSION (the prefix is removed before forwarding); otherwise one
// session per API key and UTC day, "proxy-KEYHASH-YYYY-MM-DD".
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/clock.h"
#include "engine/status.h"
#include "harness-adapters/decision_client.h"

namespace reins {

// The model that labels prompts trivial or complex for
// deny_trivial_to_expensive_model's `classifier: llm` (llm_classifier.h).
struct ClassifierOptions {
  std::string base_url;           // e.g. https://api.anthropic.com
  std::string api = "anthropic";  // anthropic (Messages) or openai (Chat Completions)
  std::string model;              // a small, cheap model
  std::string api_key_env;        // the environment variable holding the key ("" : none)
  TimeUs timeout = 5 * 1000000LL;
  size_t cache_entries = 10000;
  TimeUs retry_after = 30 * 1000000LL;  // no call for this long after one failed
  size_t max_prompt_chars = 8000;       // longer prompts are cut (and complex anyway)
};

struct ProxyOptions {
  std::string listen = "127.0.0.1:8788";  // host:port; port 0 picks one
  // Upstream base URLs by provider: "anthropic", "openai", "gemini".
  std::map<std::string, std::string> upstreams;
  std::string ca_file;  // trusted CAs in PEM besides the system store
  // I/O threads relay, and evaluate a request at once when its session has
  // no answer waiting to be recorded; `workers` record answers (after their
  // last byte is relayed), start sessions and evaluate the rest. One I/O
  // thread is fastest: more wake each other for every completion.
  int threads = 1;
  int workers = 8;
  TimeUs ask_wait = 5 * 60 * 1000000LL;  // how long an ask holds a request
  size_t max_body_bytes = 32 << 20;
  TimeUs upstream_timeout = 10 * 60 * 1000000LL;
  std::string user;  // the user of sessions the proxy starts ("" : none)
  bool record_tool_calls = true;
  // Set: each governed request's prompt is labelled before it is recorded.
  std::optional<ClassifierOptions> classifier;
  // Where the proxy reports what no client hears about, such as an answer
  // that could not be recorded (default: stderr).
  std::function<void(const std::string&)> log;
};

// The defaults for the three providers' public endpoints.
std::map<std::string, std::string> DefaultUpstreams();

class LlmProxy {
 public:
  // Starts listening. `client` and `clock` must outlive the proxy; the
  // clock stamps events (evaluation never reads the wall clock itself).
  static Result<std::unique_ptr<LlmProxy>> Start(ProxyOptions options, DecisionClient* client,
                                                 Clock* clock);
  ~LlmProxy();

  std::string url() const;  // http://HOST:PORT
  int port() const;
  // Returns true once every answer relayed so far is recorded (or its
  // recording failed and was logged); false if that takes longer than
  // `timeout`. An answer is recorded just after its last bytes are written,
  // so a reader of the log that wants it must wait; the session's own next
  // call through the proxy always waits for it.
  bool WaitRecorded(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Stops accepting, lets the calls in flight finish (and their answers be
  // recorded) for up to `grace`, then ends the rest and joins the threads.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  struct Impl;

 private:
  explicit LlmProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reins
