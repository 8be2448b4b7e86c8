// LlmClassifier: asks a model whether a prompt is trivial or complex, for
// deny_trivial_to_expensive_model's `classifier: llm`
// (docs/policies.md#deny_trivial_to_expensive_model).
//
// Evaluation never calls out: the proxy classifies a request's prompt before
// recording it and writes the answer into the llm_request event as
// `prompt_class`, so the log holds what the model said and a replay decides
// the same way. The answer is one of
//   {"by": "llm", "label": "trivial"|"complex", "model": M}
//   {"by": "llm", "error": "why there is no label"}
// and on an error the policy falls back to its heuristic and says so.
//
// Labels are cached per prompt (by SHA-256) for the process's life, up to
// `cache_entries`, the oldest forgotten first. After a failure the model is
// not asked again for `retry_after`, so a provider that is down costs one
// timeout, not one per request.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engine/canonical_json.h"
#include "engine/clock.h"
#include "harness-adapters/llm_proxy.h"
#include "harness-adapters/llm_upstream.h"

namespace reins {

class LlmClassifier {
 public:
  // Checks the options (URL, api, model) and reads the key from the
  // environment now. `pool` must outlive the classifier.
  static Result<std::unique_ptr<LlmClassifier>> Create(ClassifierOptions options,
                                                       UpstreamPool* pool);

  // The prompt's label (see above); never fails: errors are in the answer.
  // By value: callers may not keep their arguments alive across the await.
  boost::asio::awaitable<Json> Classify(std::string prompt);

  // Requests sent to the model so far (cache hits and skipped calls aside).
  size_t calls() const;

 private:
  LlmClassifier(ClassifierOptions options, UpstreamUrl url, std::string key, UpstreamPool* pool)
      : options_(std::move(options)), url_(std::move(url)), key_(std::move(key)), pool_(pool) {}
  boost::asio::awaitable<Result<std::string>> Ask(const std::string& prompt);

  ClassifierOptions options_;
  UpstreamUrl url_;
  std::string key_;
  UpstreamPool* pool_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> cache_;  // prompt hash -> label
  std::deque<std::string> order_;                       // cache keys, oldest first
  std::chrono::steady_clock::time_point failed_at_{};
  std::string last_error_;
  size_t calls_ = 0;
};

}  // namespace reins
