#include "harness-adapters/decision_client.h"

#include <chrono>
#include <thread>

namespace reins {

namespace {

// Adapter notes live under this key of the session's configuration, which
// config records set key by key (engine/record.h).
constexpr const char* kNotesKey = "adapter";

}  // namespace

Result<Json> EngineDecisionClient::Submit(Json event) {
  auto parsed = Event::FromJson(std::move(event));
  if (!parsed.ok()) return parsed.status();
  auto decision = engine_->Submit(std::move(parsed).value());
  if (!decision.ok()) return decision.status();
  return decision->ToJson();
}

Result<bool> EngineDecisionClient::StartSession(Json start) {
  auto parsed = Event::FromJson(std::move(start));
  if (!parsed.ok()) return parsed.status();
  auto decision = engine_->StartSession(std::move(parsed).value());
  if (!decision.ok()) return decision.status();
  return decision->has_value();
}

Result<Json> EngineDecisionClient::GetNote(const std::string& session, const std::string& key) {
  auto state = engine_->State(session);
  if (!state.ok()) return state.status();
  auto notes = state->config.find(kNotesKey);
  if (notes == state->config.end() || !notes->is_object() || !notes->contains(key)) return Json();
  return (*notes)[key];
}

Status EngineDecisionClient::PutNote(const std::string& session, const std::string& key,
                                     Json value) {
  auto state = engine_->State(session);
  if (!state.ok()) return state.status();
  auto found = state->config.find(kNotesKey);
  Json notes = found != state->config.end() && found->is_object() ? *found : Json::object();
  notes[key] = std::move(value);
  return engine_->Configure(session, {{kNotesKey, std::move(notes)}}).status();
}

Result<std::string> EngineDecisionClient::AwaitApproval(const std::string& id, TimeUs wait) {
  // Another process (the server, `reins approve`) resolves it in the log;
  // polling the index is what works across processes.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(wait);
  auto pause = std::chrono::milliseconds(20);
  while (true) {
    auto a = store_->GetApproval(id);
    if (!a.ok()) return a.status();
    if (!a->has_value()) return Status::NotFound("no approval '" + id + "'");
    if ((*a)->status != "pending" || std::chrono::steady_clock::now() >= deadline) {
      return (*a)->status;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

}  // namespace reins
