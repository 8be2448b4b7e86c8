// A scripted model server on 127.0.0.1 for the end-to-end tests: the real
// harness CLIs talk to it as if it were the provider, offline.
//
// It speaks three dialects, chosen by the request path:
//   POST .../messages                         Anthropic Messages API (Claude Code)
//   POST .../responses                        OpenAI Responses API (Codex)
//   POST .../models/M:streamGenerateContent   Gemini API (Gemini CLI)
//   POST .../models/M:generateContent
// Streaming requests get Server-Sent Events, others one JSON body.
//
// The script is a list of shell commands. A request that offers the
// harness's shell tool (Bash, exec_command, run_shell_command) and carries k tool results gets a
// call of the shell tool with commands[k] while k < commands.size(); any other request gets the
// final text. So each command is asked for once, whether the harness ran it or a hook refused it,
// and the conversation ends with text.
//
// Every response reports `usage` (the same token counts each time), so
// the cost a harness records is known in advance: tests price it with the
// price table and compare with the reins log.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace reins::testing {

struct ModelScript {
  std::vector<std::string> commands;
  std::string final_text = "All done.";
  long input_tokens = 1000;  // per response
  long output_tokens = 100;
  // Prompt-cache tokens per response, reported by the Anthropic dialect
  // only (its usage counts them apart from input_tokens).
  long cache_read_tokens = 0;
  long cache_write_tokens = 0;
};

class FakeModelServer {
 public:
  explicit FakeModelServer(ModelScript script);
  ~FakeModelServer();
  FakeModelServer(const FakeModelServer&) = delete;
  FakeModelServer& operator=(const FakeModelServer&) = delete;

  // http://127.0.0.1:PORT (no trailing slash).
  std::string url() const;
  // Model calls answered so far: {"path", "model", "body", "api_key"} each
  // (api_key: the x-api-key header the call carried, "" without one).
  std::vector<nlohmann::json> requests() const;
  // How many of the answers asked for a tool (the rest were text).
  int tool_calls_answered() const;

  struct Reply {
    std::string content_type;
    std::string body;
  };

 private:
  void Serve();
  Reply Answer(const std::string& path, const std::string& api_key, const nlohmann::json& request);

  ModelScript script_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  mutable std::mutex mu_;
  std::vector<nlohmann::json> requests_;
  int tool_calls_ = 0;
  int next_id_ = 0;
  std::thread thread_;
};

}  // namespace reins::testing
