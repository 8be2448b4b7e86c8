// Harness hooks posted to the server: POST /v1/hooks/claude takes the JSON
// Claude Code sends to an http hook (or that `reins hook claude --server`
// forwards) and answers with what Claude Code reads.
#include "harness-adapters/claude_code.h"
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
    std::string session = start.value("session", "");
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

asio::awaitable<HttpResponse> Api::ClaudeHook(Call& c) {
  std::string mode = c.req.Query("ask_mode", "harness");
  if (mode != "harness" && mode != "defer") {
    co_return Error(400, "invalid_argument",
                    "ask_mode must be harness or defer (hold: use `reins hook claude --ask-mode "
                    "hold`, which waits in its own process)",
                    "ask_mode");
  }
  ClaudeOptions options;
  options.ask_mode = mode == "defer" ? AskMode::kDefer : AskMode::kHarness;
  options.user = c.req.Query("user");
  HookAnswer answer = co_await Blocking([&] {
    OwnedDecisionClient client(ctx_.engine, ctx_.store, c.who);
    return ClaudeCodeAdapter(&client, options).Handle(c.req.body);
  });
  if (!answer.err.empty()) ctx_.log("claude hook from " + c.who.name + ": " + answer.err);
  if (answer.exit_code == 2) co_return Error(400, "invalid_hook", answer.err);
  // A non-blocking failure: Claude Code shows a systemMessage to the user.
  if (answer.exit_code != 0) co_return api::JsonResponse(200, {{"systemMessage", answer.err}});
  HttpResponse r;
  r.body = answer.out.empty() ? "{}\n" : answer.out;
  co_return r;
}

}  // namespace reins
