// DecisionClient: where a harness adapter sends the canonical events it
// translated and gets decisions back. Adapters see only this interface; the
// engine-backed client below serves both `reins hook` (embedded, in the hook
// process) and the server (which runs adapters for hook JSON posted to it).
#pragma once

#include <string>

#include "engine/canonical_json.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/log_store.h"
#include "engine/status.h"

namespace reins {

class DecisionClient {
 public:
  virtual ~DecisionClient() = default;

  // Appends `event` (canonical JSON), evaluates it and returns the decision
  // (Decision::ToJson()). Errors: the event is invalid, or the log failed.
  virtual Result<Json> Submit(Json event) = 0;

  // Submits `start` (a session_start) unless its session has a log already,
  // even when other processes race to start it. True when this call started it.
  virtual Result<bool> StartSession(Json start) = 0;

  // The adapter's bookkeeping for a session under `key` (null when none),
  // kept in the session's log so that every hook process sees it.
  virtual Result<Json> GetNote(const std::string& session, const std::string& key) = 0;
  virtual Status PutNote(const std::string& session, const std::string& key, Json value) = 0;

  // Waits until approval `id` is resolved or `wait` passes; returns its
  // status: "pending", "approved", "denied" or "expired".
  virtual Result<std::string> AwaitApproval(const std::string& id, TimeUs wait) = 0;
};

// A DecisionClient over an engine in this process.
class EngineDecisionClient : public DecisionClient {
 public:
  // `engine` and `store` must outlive the client.
  EngineDecisionClient(Engine* engine, LogStore* store) : engine_(engine), store_(store) {}

  Result<Json> Submit(Json event) override;
  Result<bool> StartSession(Json start) override;
  Result<Json> GetNote(const std::string& session, const std::string& key) override;
  Status PutNote(const std::string& session, const std::string& key, Json value) override;
  Result<std::string> AwaitApproval(const std::string& id, TimeUs wait) override;

 private:
  Engine* engine_;
  LogStore* store_;
};

}  // namespace reins
