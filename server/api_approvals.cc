// Approvals: listing what waits for a person, long-polling one, resolving it.
#include "server/api.h"
#include "server/api_util.h"

namespace reins {

using api::Error;
using api::FromStatus;
using api::JsonResponse;

namespace {

// The event an approval is about, read from its session's log.
Json EventOf(LogStore* store, const ApprovalSummary& a) {
  Json event;
  (void)store->Scan(a.session, a.event_seq - 1, 1, [&](const Record& r) {
    if (r.kind == RecordKind::kEvent) event = r.body;
    return false;
  });
  return event;
}

std::string Time(TimeUs t) { return t ? FormatRfc3339(t) : ""; }

}  // namespace

Json Api::ApprovalJson(const ApprovalSummary& a, const Json& event) const {
  Json j = {{"id", a.id},
            {"session", a.session},
            {"status", a.status},
            {"event_seq", a.event_seq},
            {"event_type", a.event_type},
            {"tool", a.tool},
            {"policies", a.policies},
            {"reason", a.reason},
            {"requested_at", Time(a.requested_at)},
            {"expires_at", Time(a.expires_at)}};
  if (a.resolved_at) j["resolved_at"] = Time(a.resolved_at);
  if (!a.by.empty()) j["by"] = a.by;
  if (!a.note.empty()) j["note"] = a.note;
  if (!event.is_null()) {
    j["event"] = event;
    j["action"] = EventSummary(event, 120);
  }
  return j;
}

asio::awaitable<Result<std::optional<ApprovalSummary>>> Api::AwaitApproval(Call& c,
                                                                           const std::string& id,
                                                                           TimeUs wait) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(wait);
  std::shared_ptr<Notifier> notifier;
  Hub::Handle handle;
  if (wait > 0) {
    notifier = std::make_shared<Notifier>(co_await asio::this_coro::executor);
    handle = ctx_.hub->WatchApproval(id, notifier);
    if (!handle) co_return Status::FailedPrecondition("too many waiters; try again without ?wait");
  }
  while (true) {
    auto a = co_await Blocking([&] { return ctx_.store->GetApproval(id); });
    if (!a.ok() || !a->has_value() || (*a)->status != "pending") co_return a;
    if (!handle || c.ex.stopping() || std::chrono::steady_clock::now() >= deadline) co_return a;
    co_await notifier->Wait(deadline);
  }
}

asio::awaitable<HttpResponse> Api::ListApprovals(Call& c) {
  std::string status = c.req.Query("status", "pending");
  if (status == "all") status = "";
  if (!status.empty() && status != "pending" && status != "approved" && status != "denied" &&
      status != "expired") {
    co_return Error(400, "invalid_argument",
                    "status must be pending, approved, denied, expired or all", "status");
  }
  HttpResponse bad;
  auto limit = api::IntParam(c.req, "limit", 100, 1, 1000, &bad);
  if (!limit) co_return bad;
  std::vector<ApprovalSummary> found;
  bool agent = c.who.role == Role::kAgent;
  auto st = co_await Blocking([&] {
    // Agents see their own sessions' approvals only; filtering them needs
    // every row, so list without a limit and stop once we have enough.
    return ctx_.store->ListApprovals(status, agent ? 0 : *limit, [&](const ApprovalSummary& a) {
      found.push_back(a);
      return agent || static_cast<int64_t>(found.size()) < *limit;
    });
  });
  if (!st.ok()) co_return FromStatus(st);
  Json out = Json::array();
  for (const ApprovalSummary& a : found) {
    if (static_cast<int64_t>(out.size()) >= *limit) break;
    if (agent) {
      auto owner = co_await OwnerOf(a.session);
      if (!owner.ok() || *owner != c.who.name) continue;
    }
    Json event = co_await Blocking([&] { return EventOf(ctx_.store, a); });
    out.push_back(ApprovalJson(a, event));
  }
  co_return JsonResponse(200, {{"approvals", out}});
}

asio::awaitable<HttpResponse> Api::GetApproval(Call& c) {
  const std::string& id = c.req.segments[2];
  auto wait = WaitParam(c.req);
  if (!wait.ok()) co_return FromStatus(wait.status());
  auto first = co_await Blocking([&] { return ctx_.store->GetApproval(id); });
  if (!first.ok()) co_return FromStatus(first.status());
  if (!first->has_value()) co_return Error(404, "not_found", "no approval '" + id + "'");
  if (auto refused = co_await CheckSession(c, (*first)->session)) co_return *refused;
  auto a = co_await AwaitApproval(c, id, *wait);
  if (!a.ok()) {
    if (a.status().code() == Status::Code::kFailedPrecondition) {
      co_return Error(503, "busy", a.status().message());
    }
    co_return FromStatus(a.status());
  }
  Json event = co_await Blocking([&] { return EventOf(ctx_.store, **a); });
  co_return JsonResponse(200, ApprovalJson(**a, event));
}

asio::awaitable<HttpResponse> Api::ResolveApproval(Call& c) {
  const std::string& id = c.req.segments[2];
  HttpResponse bad;
  auto body = api::ParseBody(c.req, &bad);
  if (!body) co_return bad;
  if (!body->is_object() || !body->contains("approved") || !(*body)["approved"].is_boolean()) {
    co_return Error(400, "invalid_argument", "expected {\"approved\": true|false, ...}",
                    "approved");
  }
  for (const auto& [key, value] : body->items()) {
    if (key != "approved" && key != "note" && key != "grant") {
      co_return Error(400, "invalid_argument",
                      "unknown field '" + key + "' (known: approved, note, grant)", key);
    }
    if (key != "approved" && !value.is_string()) {
      co_return Error(400, "invalid_argument", "field '" + key + "' must be a string", key);
    }
  }
  std::string grant = body->value("grant", "");
  if (!grant.empty() && grant != "once" && grant != "session") {
    auto d = ParseDuration(grant);
    if (!d.ok() || *d <= 0) {
      co_return Error(400, "invalid_argument",
                      "grant must be once, session or a duration such as 15m", "grant");
    }
  }
  auto a = co_await Blocking([&] { return ctx_.store->GetApproval(id); });
  if (!a.ok()) co_return FromStatus(a.status());
  if (!a->has_value()) co_return Error(404, "not_found", "no approval '" + id + "'");
  if ((*a)->status != "pending") {
    co_return Error(409, "conflict",
                    "approval '" + id + "' is already " + (*a)->status +
                        ((*a)->by.empty() ? "" : " by " + (*a)->by));
  }
  Json ev = {{"session", (*a)->session},
             {"type", "approval"},
             {"approval_id", id},
             {"approved", (*body)["approved"]},
             {"by", c.who.name}};
  if (body->contains("note")) ev["note"] = (*body)["note"];
  if (!grant.empty()) ev["grant"] = grant;
  auto event = Event::FromJson(std::move(ev));
  if (!event.ok()) co_return FromStatus(event.status());
  auto d = co_await Blocking([&] { return ctx_.engine->Submit(std::move(event).value()); });
  if (!d.ok()) {
    // Resolved or expired between the check and the submit.
    if (d.status().code() == Status::Code::kInvalidArgument) {
      co_return Error(409, "conflict", d.status().message());
    }
    co_return FromStatus(d.status());
  }
  auto after = co_await Blocking([&] { return ctx_.store->GetApproval(id); });
  Json out = {{"decision", d->ToJson()}};
  if (after.ok() && after->has_value()) out["approval"] = ApprovalJson(**after, Json());
  co_return JsonResponse(200, out);
}

}  // namespace reins
