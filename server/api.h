// Api: the HTTP API's routes (docs/api.md). Every route but /healthz needs
// `Authorization: Bearer TOKEN`; what a token may do depends on its role
// (server/tokens.h). A request an agent token may not make gets 403 and is
// recorded as a note in the log it concerned (the session's, else the
// server's own "reins:server").
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engine/engine.h"
#include "server/async.h"
#include "server/http_server.h"
#include "server/hub.h"
#include "server/metrics.h"
#include "server/server_policies.h"
#include "server/settings.h"
#include "server/tokens.h"

namespace reins {

struct ApiContext {
  Engine* engine;
  LogStore* store;
  ServerPolicies* policies;
  Hub* hub;
  Metrics* metrics;
  TokenStore* tokens;
  asio::thread_pool* pool;  // runs the engine
  Clock* clock;
  ServerSettings settings;
  std::function<void(const std::string&)> log;  // one line to the server log
};

class Api {
 public:
  explicit Api(ApiContext ctx) : ctx_(std::move(ctx)) {}

  asio::awaitable<HttpResponse> Handle(HttpRequest& request, HttpExchange& exchange);

  // One request being answered.
  struct Call {
    HttpRequest& req;
    HttpExchange& ex;
    Principal who;
  };

 private:
  using Route = asio::awaitable<HttpResponse> (Api::*)(Call&);

  // sessions and events (api_sessions.cc)
  asio::awaitable<HttpResponse> CreateSession(Call& c);
  asio::awaitable<HttpResponse> ListSessions(Call& c);
  asio::awaitable<HttpResponse> GetSession(Call& c);
  asio::awaitable<HttpResponse> PostEvents(Call& c);
  asio::awaitable<HttpResponse> GetEvents(Call& c);
  asio::awaitable<HttpResponse> Stream(Call& c);
  // approvals (api_approvals.cc)
  asio::awaitable<HttpResponse> ListApprovals(Call& c);
  asio::awaitable<HttpResponse> GetApproval(Call& c);
  asio::awaitable<HttpResponse> ResolveApproval(Call& c);
  // policies (api_policies.cc)
  asio::awaitable<HttpResponse> GetSessionPolicies(Call& c);
  asio::awaitable<HttpResponse> AddSessionPolicy(Call& c);
  asio::awaitable<HttpResponse> DeleteSessionPolicy(Call& c);
  asio::awaitable<HttpResponse> ListServerPolicies(Call& c);
  asio::awaitable<HttpResponse> AddServerPolicy(Call& c);
  asio::awaitable<HttpResponse> PatchServerPolicy(Call& c);
  asio::awaitable<HttpResponse> DeleteServerPolicy(Call& c);
  asio::awaitable<HttpResponse> Registry(Call& c);
  // harness hooks (api_hooks.cc)
  asio::awaitable<HttpResponse> Hook(Call& c);  // POST /v1/hooks/{claude,codex,gemini}
  // api.cc
  asio::awaitable<HttpResponse> Metrics(Call& c);

  // The session's owner ("" when it has none); NotFound when no such session.
  asio::awaitable<Result<std::string>> OwnerOf(const std::string& session);
  // Caches a session's owner: at most kOwnersCached sessions, then the cache
  // starts over (the store has them all), so memory stays flat however many
  // sessions come and go.
  void RememberOwner(const std::string& session, const std::string& owner);
  static constexpr size_t kOwnersCached = 10000;
  // Checks that `c.who` may touch `session` (agents: only their own).
  // Returns an error response, or nullopt to go on.
  asio::awaitable<std::optional<HttpResponse>> CheckSession(Call& c, const std::string& session);
  // 403, recorded in `session`'s log (or the server's when empty).
  asio::awaitable<HttpResponse> Forbidden(Call& c, const std::string& session, std::string why);
  // Waits until approval `id` is no longer pending, `wait` runs out or the
  // server stops. Returns its summary (nullopt when it does not exist).
  asio::awaitable<Result<std::optional<ApprovalSummary>>> AwaitApproval(Call& c,
                                                                        const std::string& id,
                                                                        TimeUs wait);
  // The ?wait parameter, capped by max_wait; InvalidArgument when malformed.
  Result<TimeUs> WaitParam(const HttpRequest& req) const;
  Json ApprovalJson(const ApprovalSummary& a, const Json& event) const;

  template <typename F>
  auto Blocking(F fn) {
    return OnPool(*ctx_.pool, std::move(fn));
  }

  ApiContext ctx_;
  std::mutex owners_mu_;
  std::unordered_map<std::string, std::string> owners_;  // session -> owner (never changes)
  std::mutex create_mu_;                                 // one session creation at a time
};

}  // namespace reins
