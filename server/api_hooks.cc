// Harness hooks posted to the server: POST /v1/hooks/HARNESS takes the JSON
// the harness gives its hooks (Claude Code's http hooks post it; `reins
// hook HARNESS --server` forwards it) and answers with what the harness reads.
#include "engine/json_fields.h"
#include "harness-adapters/hook_adapter.h"
#include "server/api.h"
#include "server/api_util.h"

namespace reins {

using api::Error;

namespace {

// The engine client of one hook request: sessions it starts belong to the
// calling token, and an agent token may only continue its own sessions.
class OwnedDecisionClient : public EngineDecisionClient {
 public:
  OwnedDecisionClient(Engine* engine, LogStore* store, const Principal& who)
      : EngineDecisionClient(engine, store), store_(store), who_(who) {}

  Result<bool> StartSession(Json start) override {
    std::string session = JsonString(start, "session");
    start["owner"] = who_.name;
    auto started = EngineDecisionClient::StartSession(std::move(start));
    if (!started.ok() || *started || who_.role != Role::kAgent) return started;
    auto summary = store_->GetSession(session);
    if (!summary.ok()) return summary.status();
    if (summary->has_value() && (*summary)->owner != who_.name) {
      return Status::FailedPrecondition("session '" + session + "' belongs to another token");
    }
    return started;
  }

 private:
  LogStore* store_;
  Principal who_;
};

}  // namespace

asio::awaitable<HttpResponse> Api::Hook(Call& c) {
  const std::string& harness = c.req.segments[2];
  std::string mode = c.req.Query("ask_mode", harness == "claude" ? "harness" : "deny");
  auto ask_mode = ParseAskMode(mode);
  // A held ask would occupy a server thread for minutes: `reins hook
  // HARNESS --ask-mode hold` waits in its own process instead.
  if (!ask_mode.ok() || *ask_mode == AskMode::kHold ||
      (harness != "claude" && *ask_mode != AskMode::kDeny)) {
    co_return Error(400, "invalid_argument",
                    "ask_mode must be " +
                        std::string(harness == "claude" ? "harness, defer or deny" : "deny") +
                        " here (hold: use `reins hook " + harness +
                        " --ask-mode hold`, which waits in its own process)",
                    "ask_mode");
  }
  AdapterOptions options;
  options.ask_mode = *ask_mode;
  options.user = c.req.Query("user");
  bool known = true;
  HookAnswer answer = co_await Blocking([&] {
    OwnedDecisionClient client(ctx_.engine, ctx_.store, c.who);
    auto adapter = MakeHookAdapter(harness, &client, options);
    if (!adapter) {
      known = false;
      return HookAnswer{};
    }
    return adapter->Handle(c.req.body);
  });
  if (!known) {
    co_return Error(404, "not_found",
                    "no adapter for harness '" + harness + "' (claude, codex or gemini)");
  }
  if (!answer.err.empty()) ctx_.log(harness + " hook from " + c.who.name + ": " + answer.err);
  if (answer.exit_code == 2) co_return Error(400, "invalid_hook", answer.err);
  // A non-blocking failure: the harness shows a systemMessage to the user.
  if (answer.exit_code != 0) co_return api::JsonResponse(200, {{"systemMessage", answer.err}});
  HttpResponse r;
  r.body = answer.out.empty() ? "{}\n" : answer.out;
  co_return r;
}

}  // namespace reins
