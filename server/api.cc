#include "server/api.h"

#include <charconv>

#include "server/api_util.h"

namespace reins {

namespace api {

HttpResponse JsonResponse(int status, const Json& body) {
  // Invalid UTF-8 (a malformed body's bytes quoted in its error) is replaced,
  // not thrown: the client gets its 400, not a 500.
  return {status,
          "application/json",
          body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n",
          {}};
}

HttpResponse Error(int status, const std::string& code, const std::string& message,
                   const std::string& field) {
  Json e = {{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  return JsonResponse(status, {{"error", e}});
}

HttpResponse FromStatus(const Status& st) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument:
      return Error(400, "invalid_argument", st.message(), FieldOf(st.message()));
    case Status::Code::kNotFound:
      return Error(404, "not_found", st.message());
    case Status::Code::kAlreadyExists:
      return Error(409, "already_exists", st.message());
    case Status::Code::kConflict:
    case Status::Code::kFailedPrecondition:
      return Error(409, "conflict", st.message());
    case Status::Code::kStorageFull: {
      // Nothing was written; the same request succeeds once there is room.
      HttpResponse r =
          Error(507, "storage_full", "storage full, nothing was recorded: " + st.message());
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
    case Status::Code::kUnavailable: {
      HttpResponse r = Error(503, "unavailable", st.message());
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
    case Status::Code::kCorruption:
      return Error(500, "corrupt_log", st.message());
    default:
      return Error(500, "internal", st.ToString());
  }
}

HttpResponse InvalidConfig(const std::vector<ConfigError>& errors, const Status& st) {
  if (errors.empty()) return FromStatus(st);
  Json all = Json::array();
  for (const ConfigError& e : errors) {
    Json j = {{"message", e.message}};
    if (!e.field.empty()) j["field"] = e.field;
    all.push_back(std::move(j));
  }
  HttpResponse r = Error(422, "invalid_policy", errors[0].message, errors[0].field);
  Json body = Json::parse(r.body);
  body["error"]["errors"] = std::move(all);
  return JsonResponse(422, body);
}

std::optional<Json> ParseBody(const HttpRequest& req, HttpResponse* error) {
  if (req.body.empty()) {
    *error = Error(400, "invalid_json", "the request needs a JSON body");
    return std::nullopt;
  }
  constexpr int kMaxDepth = 64;  // as for events read from files
  auto j = ParseJsonBounded(req.body, kMaxDepth);
  if (!j.ok()) {
    *error = Error(400, "invalid_json", j.status().message());
    return std::nullopt;
  }
  return std::move(j).value();
}

std::optional<int64_t> IntParam(const HttpRequest& req, const std::string& key, int64_t fallback,
                                int64_t min, int64_t max, HttpResponse* error) {
  if (!req.HasQuery(key)) return std::clamp(fallback, min, max);
  std::string text = req.Query(key);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    *error = Error(400, "invalid_argument", "'" + key + "' must be an integer", key);
    return std::nullopt;
  }
  return std::clamp(value, min, max);
}

std::string FieldOf(const std::string& message) {
  size_t at = message.find("field '");
  if (at == std::string::npos) return "";
  size_t end = message.find('\'', at + 7);
  return end == std::string::npos ? "" : message.substr(at + 7, end - at - 7);
}

}  // namespace api

using api::Error;
using api::FromStatus;
using api::JsonResponse;

namespace {

bool Is(const std::vector<std::string>& segs, std::initializer_list<const char*> pattern) {
  if (segs.size() != pattern.size()) return false;
  size_t i = 0;
  for (const char* p : pattern) {
    if (std::string_view(p) != "*" && segs[i] != p) return false;
    ++i;
  }
  return true;
}

std::string Bearer(const HttpRequest& req) {
  std::string h = req.Header("authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (h.size() <= kScheme.size()) return "";
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(h[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return "";
    }
  }
  return h.substr(kScheme.size());
}

}  // namespace

asio::awaitable<HttpResponse> Api::Handle(HttpRequest& req, HttpExchange& ex) {
  const auto& s = req.segments;
  const std::string& m = req.method;
  if (Is(s, {"healthz"}) && m == "GET") {
    auto set = ctx_.policies->server_set();
    co_return JsonResponse(200, {{"status", ctx_.engine ? "ok" : "starting"},
                                 {"version", "0.1.0"},
                                 {"server_policies_digest", set ? set->digest() : ""}});
  }
  std::string token = Bearer(req);
  std::optional<Principal> who = ctx_.tokens->Authenticate(token);
  if (!who && !token.empty() && ctx_.tokens->ReloadIfChanged().ok()) {
    who = ctx_.tokens->Authenticate(token);  // created by `reins token create` meanwhile
  }
  if (!who) {
    HttpResponse r = Error(401, "unauthorized",
                           token.empty() ? "this endpoint needs Authorization: Bearer TOKEN"
                                         : "the token is not valid for this server");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    co_return r;
  }
  Call c{req, ex, *who};

  // Route by path; each entry says which roles may call it.
  struct Entry {
    std::initializer_list<const char*> path;
    const char* method;
    Route route;
    bool agent, approver;  // admin may call everything
  };
  static const Entry kRoutes[] = {
      {{"metrics"}, "GET", &Api::Metrics, false, true},
      {{"v1", "sessions"}, "POST", &Api::CreateSession, true, false},
      {{"v1", "sessions"}, "GET", &Api::ListSessions, true, true},
      {{"v1", "sessions", "*"}, "GET", &Api::GetSession, true, true},
      {{"v1", "sessions", "*", "events"}, "POST", &Api::PostEvents, true, false},
      {{"v1", "sessions", "*", "events"}, "GET", &Api::GetEvents, true, true},
      {{"v1", "sessions", "*", "stream"}, "GET", &Api::Stream, true, true},
      {{"v1", "sessions", "*", "policies"}, "GET", &Api::GetSessionPolicies, true, true},
      {{"v1", "sessions", "*", "policies"}, "POST", &Api::AddSessionPolicy, false, true},
      {{"v1", "sessions", "*", "policies"}, "DELETE", &Api::DeleteSessionPolicy, false, true},
      {{"v1", "sessions", "*", "policies", "*"}, "DELETE", &Api::DeleteSessionPolicy, false, true},
      {{"v1", "approvals"}, "GET", &Api::ListApprovals, true, true},
      {{"v1", "approvals", "*"}, "GET", &Api::GetApproval, true, true},
      {{"v1", "approvals", "*"}, "POST", &Api::ResolveApproval, false, true},
      {{"v1", "policies"}, "GET", &Api::ListServerPolicies, false, true},
      {{"v1", "policies"}, "POST", &Api::AddServerPolicy, false, false},
      {{"v1", "policies", "*"}, "PATCH", &Api::PatchServerPolicy, false, false},
      {{"v1", "policies", "*"}, "DELETE", &Api::DeleteServerPolicy, false, false},
      {{"v1", "policy-registry"}, "GET", &Api::Registry, true, true},
      {{"v1", "hooks", "*"}, "POST", &Api::Hook, true, false},
  };
  bool path_known = false;
  for (const Entry& e : kRoutes) {
    if (!Is(s, e.path)) continue;
    path_known = true;
    if (m != e.method) continue;
    bool allowed = who->role == Role::kAdmin || (who->role == Role::kAgent && e.agent) ||
                   (who->role == Role::kApprover && e.approver);
    if (!allowed) {
      std::string session;
      if (s.size() >= 3 && s[1] == "sessions") session = s[2];
      if (s.size() >= 3 && s[1] == "approvals") {
        auto a = co_await Blocking([&] { return ctx_.store->GetApproval(s[2]); });
        if (a.ok() && a->has_value()) session = (*a)->session;
      }
      std::string need = e.approver ? "approver or admin" : "admin";
      co_return co_await Forbidden(c, session, "needs an " + need + " token");
    }
    co_return co_await (this->*e.route)(c);
  }
  if (path_known) co_return Error(405, "method_not_allowed", m + " is not allowed on this path");
  co_return Error(404, "not_found", "no such endpoint: " + m + " " + req.target);
}

asio::awaitable<HttpResponse> Api::Forbidden(Call& c, const std::string& session, std::string why) {
  ctx_.metrics->Forbidden();
  std::string message = "forbidden: " + std::string(RoleName(c.who.role)) + " token '" +
                        c.who.name + "' tried " + c.req.method + " " + c.req.target + " (" + why +
                        ")";
  ctx_.log(message);
  // Recorded where an auditor of that session will see it.
  std::string log = session.empty() ? std::string(kServerConfigSession) : session;
  auto owner = co_await OwnerOf(log);
  if (!owner.ok()) log = std::string(kServerConfigSession);
  co_await Blocking([&] { return ctx_.engine->Note(log, "server", message); });
  co_return Error(403, "forbidden", message);
}

asio::awaitable<Result<std::string>> Api::OwnerOf(const std::string& session) {
  {
    std::lock_guard lock(owners_mu_);
    auto it = owners_.find(session);
    if (it != owners_.end()) co_return it->second;
  }
  if (session == kServerConfigSession) co_return std::string();
  auto summary = co_await Blocking([&] { return ctx_.store->GetSession(session); });
  if (!summary.ok()) co_return summary.status();
  if (!summary->has_value()) co_return Status::NotFound("no session '" + session + "'");
  std::string owner = (*summary)->owner;
  RememberOwner(session, owner);
  co_return owner;
}

void Api::RememberOwner(const std::string& session, const std::string& owner) {
  std::lock_guard lock(owners_mu_);
  if (owners_.size() >= kOwnersCached) owners_ = {};  // a cache, not a record
  owners_[session] = owner;
}

asio::awaitable<std::optional<HttpResponse>> Api::CheckSession(Call& c,
                                                               const std::string& session) {
  auto owner = co_await OwnerOf(session);
  if (!owner.ok()) co_return FromStatus(owner.status());
  if (c.who.role == Role::kAgent && *owner != c.who.name) {
    co_return co_await Forbidden(c, session,
                                 "an agent token reads and writes only its own sessions");
  }
  co_return std::nullopt;
}

Result<TimeUs> Api::WaitParam(const HttpRequest& req) const {
  if (!req.HasQuery("wait")) return TimeUs{0};
  auto d = ParseDuration(req.Query("wait"));
  if (!d.ok() || *d < 0) {
    return Status::InvalidArgument("field 'wait': expected seconds or a duration such as 30s");
  }
  return std::min(*d, ctx_.settings.max_wait);
}

asio::awaitable<HttpResponse> Api::Metrics(Call&) {
  auto pending = co_await Blocking([&]() -> Result<int64_t> {
    int64_t n = 0;
    Status st = ctx_.store->ListApprovals("pending", 0, [&](const ApprovalSummary&) {
      ++n;
      return true;
    });
    if (!st.ok()) return st;
    return n;
  });
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = ctx_.metrics->Render(pending.ok() ? *pending : -1, ctx_.hub->ActiveSessions());
  co_return r;
}

asio::awaitable<HttpResponse> Api::Registry(Call&) {
  auto config = ctx_.policies->config();
  Json types = Json::array();
  for (const PolicyType* t : config->registry->List()) types.push_back(t->ToJson());
  co_return JsonResponse(200, {{"policies", types}});
}

}  // namespace reins
