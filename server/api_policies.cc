// Session and server policies over the API.
#include "server/api.h"
#include "server/api_util.h"

namespace reins {

using api::Error;
using api::FromStatus;
using api::JsonResponse;

namespace {

// The policy in a request's body: {"name": NAME, ...entry keys} (the
// reference engine's REST form) or {NAME: {...entry}}. Returns false with
// `*error` when the body is not JSON or neither form.
bool ReadEntry(const HttpRequest& req, std::string* name, Json* entry, HttpResponse* error) {
  auto parsed = api::ParseBody(req, error);
  if (!parsed) return false;
  const Json& body = *parsed;
  if (body.is_object() && body.contains("name")) {
    if (!body["name"].is_string() || body["name"].get<std::string>().empty()) {
      *error = Error(400, "invalid_argument", "'name' must be a non-empty string", "name");
      return false;
    }
    *name = body["name"];
    *entry = body;
    entry->erase("name");
    return true;
  }
  if (body.is_object() && body.size() == 1 && body.begin().value().is_object()) {
    *name = body.begin().key();
    *entry = body.begin().value();
    return true;
  }
  *error = Error(400, "invalid_argument",
                 "expected {\"name\": NAME, \"use\": TYPE, \"with\": {...}} or {NAME: {...}}");
  return false;
}

HttpResponse PolicyError(const Status& st, const std::vector<ConfigError>& errors) {
  if (st.code() == Status::Code::kInvalidArgument && !errors.empty()) {
    return api::InvalidConfig(errors, st);
  }
  return FromStatus(st);
}

}  // namespace

asio::awaitable<HttpResponse> Api::GetSessionPolicies(Call& c) {
  const std::string& id = c.req.segments[2];
  if (auto refused = co_await CheckSession(c, id)) co_return *refused;
  auto out = co_await Blocking([&]() -> Result<Json> {
    auto state = ctx_.engine->State(id);
    if (!state.ok()) return state.status();
    auto own = state->config.find("session_policies");
    Json j = {{"session_policies", own == state->config.end() ? Json::object() : *own}};
    auto set = ctx_.engine->Policies(id);
    if (!set.ok()) return set.status();
    j["effective"] = (*set)->ToJson();
    j["digest"] = (*set)->digest();
    return j;
  });
  if (!out.ok()) co_return FromStatus(out.status());
  co_return JsonResponse(200, *out);
}

asio::awaitable<HttpResponse> Api::AddSessionPolicy(Call& c) {
  const std::string& id = c.req.segments[2];
  HttpResponse bad;
  std::string name;
  Json entry;
  if (!ReadEntry(c.req, &name, &entry, &bad)) co_return bad;
  std::vector<ConfigError> errors;
  auto st = co_await Blocking(
      [&] { return ctx_.policies->AddSession(id, name, entry, c.who.name, &errors); });
  if (!st.ok()) co_return PolicyError(st, errors);
  co_return co_await GetSessionPolicies(c);
}

asio::awaitable<HttpResponse> Api::DeleteSessionPolicy(Call& c) {
  const std::string& id = c.req.segments[2];
  std::string name = c.req.segments.size() > 4 ? c.req.segments[4] : "";
  auto st = co_await Blocking([&] { return ctx_.policies->RemoveSession(id, name, c.who.name); });
  if (!st.ok()) co_return FromStatus(st);
  co_return co_await GetSessionPolicies(c);
}

asio::awaitable<HttpResponse> Api::ListServerPolicies(Call&) {
  auto set = ctx_.policies->server_set();
  co_return JsonResponse(200,
                         {{"policies", ctx_.policies->ListServer()}, {"digest", set->digest()}});
}

asio::awaitable<HttpResponse> Api::AddServerPolicy(Call& c) {
  HttpResponse bad;
  std::string name;
  Json entry;
  if (!ReadEntry(c.req, &name, &entry, &bad)) co_return bad;
  std::vector<ConfigError> errors;
  auto st =
      co_await Blocking([&] { return ctx_.policies->AddServer(name, entry, c.who.name, &errors); });
  if (!st.ok()) co_return PolicyError(st, errors);
  ctx_.log("server policy '" + name + "' added by " + c.who.name + "; digest " +
           ctx_.policies->server_set()->digest());
  HttpResponse r = co_await ListServerPolicies(c);
  r.status = 201;
  co_return r;
}

asio::awaitable<HttpResponse> Api::PatchServerPolicy(Call& c) {
  const std::string& name = c.req.segments[2];
  HttpResponse bad;
  auto body = api::ParseBody(c.req, &bad);
  if (!body) co_return bad;
  if (!body->is_object()) co_return Error(400, "invalid_argument", "expected a JSON merge patch");
  std::vector<ConfigError> errors;
  auto st = co_await Blocking(
      [&] { return ctx_.policies->PatchServer(name, *body, c.who.name, &errors); });
  if (!st.ok()) co_return PolicyError(st, errors);
  ctx_.log("server policy '" + name + "' changed by " + c.who.name + "; digest " +
           ctx_.policies->server_set()->digest());
  co_return co_await ListServerPolicies(c);
}

asio::awaitable<HttpResponse> Api::DeleteServerPolicy(Call& c) {
  const std::string& name = c.req.segments[2];
  auto st = co_await Blocking([&] { return ctx_.policies->RemoveServer(name, c.who.name); });
  if (!st.ok()) co_return FromStatus(st);
  ctx_.log("server policy '" + name + "' removed by " + c.who.name + "; digest " +
           ctx_.policies->server_set()->digest());
  co_return co_await ListServerPolicies(c);
}

}  // namespace reins
