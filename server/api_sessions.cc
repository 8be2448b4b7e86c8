// Sessions, their events, and live streams of their records.
#include <openssl/rand.h>

#include <atomic>
#include <chrono>

#include "engine/json_fields.h"
#include "server/api.h"
#include "server/api_util.h"

namespace reins {

using api::Error;
using api::FromStatus;
using api::JsonResponse;

namespace {

constexpr int64_t kMaxRecordsPerPage = 1000;
constexpr auto kStreamKeepAlive = std::chrono::seconds(15);
constexpr size_t kStreamQueue = 10000;

std::string NewSessionId() {
  unsigned char bytes[12];
  RAND_bytes(bytes, sizeof bytes);
  std::string id = "s_";
  static const char* kHex = "0123456789abcdef";
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

Json DecisionJson(const Decision& d) {
  Json j = d.ToJson();
  j["digest"] = d.digest;
  return j;
}

// Tells the server log when appends start failing for a reason of the log's
// file (a full disk, a lock another process holds, damage) and when they
// work again. While they fail, one line every 10 s at most: the server log
// may be on the same full disk, and a refused event per line would flood it.
class StorageAlarm {
 public:
  void Failed(const std::function<void(const std::string&)>& log, const Status& st) {
    std::lock_guard lock(mu_);
    failing_ = true;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(10)) {
      ++suppressed_;
      return;
    }
    std::string more =
        suppressed_ ? " (" + std::to_string(suppressed_) + " more refused since the last line)"
                    : "";
    last_ = now;
    suppressed_ = 0;
    log("refusing events: the session log cannot record them: " + st.ToString() + more);
  }
  void Ok(const std::function<void(const std::string&)>& log) {
    if (!failing_.load(std::memory_order_relaxed)) return;
    std::lock_guard lock(mu_);
    if (!failing_) return;
    failing_ = false;
    std::string more =
        suppressed_ ? " (" + std::to_string(suppressed_) + " more were refused)" : "";
    suppressed_ = 0;
    last_ = {};
    log("the session log records events again" + more);
  }

 private:
  std::mutex mu_;
  std::atomic<bool> failing_{false};
  std::chrono::steady_clock::time_point last_{};
  int64_t suppressed_ = 0;
};

StorageAlarm& Alarm() {
  static StorageAlarm alarm;
  return alarm;
}

bool StorageFailure(const Status& st) {
  return st.code() == Status::Code::kStorageFull || st.code() == Status::Code::kUnavailable ||
         st.code() == Status::Code::kIOError || st.code() == Status::Code::kCorruption;
}

// A server-sent event carrying one record.
std::string Frame(const Record& r) {
  return "id: " + std::to_string(r.seq) + "\nevent: " + std::string(RecordKindName(r.kind)) +
         "\ndata: " + r.ToJson().dump() + "\n\n";
}

}  // namespace

asio::awaitable<HttpResponse> Api::CreateSession(Call& c) {
  HttpResponse bad;
  auto body = api::ParseBody(c.req, &bad);
  if (!body) co_return bad;
  if (!body->is_object()) co_return Error(400, "invalid_argument", "expected a JSON object");
  Json start = *body;
  Json policies = start.contains("policies") ? start["policies"] : Json();
  Json agent_spec = start.contains("agent_spec") ? start["agent_spec"] : Json();
  start.erase("policies");
  start.erase("agent_spec");
  if (!policies.is_null() && !policies.is_object()) {
    co_return Error(400, "invalid_argument", "'policies' must be an object of NAME: ENTRY",
                    "policies");
  }
  std::string id = JsonString(start, "id");
  if (start.contains("id") && (!start["id"].is_string() || id.empty())) {
    co_return Error(400, "invalid_argument", "'id' must be a non-empty string", "id");
  }
  if (id.empty()) id = NewSessionId();
  start.erase("id");
  start["session"] = id;
  start["type"] = "session_start";
  start["owner"] = c.who.name;
  auto event = Event::FromJson(start);
  if (!event.ok()) co_return FromStatus(event.status());

  auto result = co_await Blocking([&]() -> Result<std::pair<Decision, std::vector<ConfigError>>> {
    std::lock_guard lock(create_mu_);
    auto existing = ctx_.store->GetSession(id);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) return Status::AlreadyExists("session '" + id + "' exists");
    std::vector<ConfigError> errors;
    if (!policies.is_null() || !agent_spec.is_null()) {
      SessionState draft(id);
      draft.agent = JsonString(start, "agent");
      Status valid = ctx_.policies->ValidateSession(draft, policies, agent_spec, &errors);
      if (!valid.ok()) return std::pair{Decision{}, std::move(errors)};
      Json config = {{"by", c.who.name}};
      if (!policies.is_null()) config["session_policies"] = policies;
      if (!agent_spec.is_null()) config["agent_spec"] = agent_spec;
      auto seq = ctx_.engine->Configure(id, std::move(config));
      if (!seq.ok()) return seq.status();
    }
    auto d = ctx_.engine->Submit(std::move(event).value());
    if (!d.ok()) return d.status();
    return std::pair{std::move(d).value(), std::move(errors)};
  });
  if (!result.ok()) co_return FromStatus(result.status());
  if (!result->second.empty()) co_return api::InvalidConfig(result->second, Status::OK());
  RememberOwner(id, c.who.name);
  co_return JsonResponse(201, {{"id", id}, {"decision", DecisionJson(result->first)}});
}

asio::awaitable<HttpResponse> Api::ListSessions(Call& c) {
  SessionQuery q;
  q.user = c.req.Query("user");
  q.agent = c.req.Query("agent");
  if (c.who.role == Role::kAgent) q.owner = c.who.name;
  std::string active = c.req.Query("active");
  if (active == "true" || active == "1") q.ended = false;
  if (active == "false" || active == "0") q.ended = true;
  if (c.req.HasQuery("active") && !q.ended) {
    co_return Error(400, "invalid_argument", "'active' must be true or false", "active");
  }
  if (c.req.HasQuery("since")) {
    std::string since = c.req.Query("since");
    auto t = ParseRfc3339(since);
    if (!t.ok()) {
      auto d = ParseDuration(since);
      if (!d.ok()) {
        co_return Error(400, "invalid_argument",
                        "'since' must be a time (RFC 3339) or a duration such as 24h", "since");
      }
      t = ctx_.clock->Now() - *d;
    }
    q.since = *t;
  }
  HttpResponse bad;
  auto limit = api::IntParam(c.req, "limit", 100, 1, 10000, &bad);
  if (!limit) co_return bad;
  q.limit = *limit;
  auto list = co_await Blocking([&]() -> Result<Json> {
    Json out = Json::array();
    Status st = ctx_.store->ListSessions(q, [&](const SessionSummary& s) {
      out.push_back({{"id", s.id},
                     {"user", s.user},
                     {"agent", s.agent},
                     {"harness", s.harness},
                     {"model", s.model},
                     {"parent", s.parent},
                     {"owner", s.owner},
                     {"started_at", FormatRfc3339(s.started_at)},
                     {"last_at", FormatRfc3339(s.last_at)},
                     {"last_seq", s.last_seq},
                     {"ended", s.ended}});
      return true;
    });
    if (!st.ok()) return st;
    return out;
  });
  if (!list.ok()) co_return FromStatus(list.status());
  co_return JsonResponse(200, {{"sessions", *list}});
}

asio::awaitable<HttpResponse> Api::GetSession(Call& c) {
  const std::string& id = c.req.segments[2];
  if (auto refused = co_await CheckSession(c, id)) co_return *refused;
  std::string owner = *co_await OwnerOf(id);
  auto out = co_await Blocking([&]() -> Result<Json> {
    auto state = ctx_.engine->State(id);
    if (!state.ok()) return state.status();
    Json j = state->ToJson();
    j["owner"] = owner;
    auto set = ctx_.engine->Policies(id);
    if (set.ok()) {
      j["policies"] = (*set)->ToJson();
      j["digest"] = (*set)->digest();
    } else {
      j["policies"] = Json::array();
      j["policies_error"] = set.status().message();
    }
    return j;
  });
  if (!out.ok()) co_return FromStatus(out.status());
  co_return JsonResponse(200, *out);
}

asio::awaitable<HttpResponse> Api::PostEvents(Call& c) {
  const std::string& id = c.req.segments[2];
  HttpResponse bad;
  auto body = api::ParseBody(c.req, &bad);
  if (!body) co_return bad;
  bool batch = body->is_array() || (body->is_object() && body->contains("events"));
  Json list = body->is_array() ? *body : batch ? (*body)["events"] : Json::array({*body});
  if (!list.is_array() || list.empty()) {
    co_return Error(400, "invalid_argument", "expected an event, an array of events or {events}");
  }
  auto wait = WaitParam(c.req);
  if (!wait.ok()) co_return FromStatus(wait.status());
  if (batch && *wait > 0) {
    co_return Error(400, "invalid_argument", "?wait holds a single event; send asks one by one",
                    "wait");
  }
  std::vector<Event> events;
  bool starts = false;
  for (size_t i = 0; i < list.size(); ++i) {
    Json& j = list[i];
    std::string where = batch ? "events[" + std::to_string(i) + "]: " : "";
    if (!j.is_object()) co_return Error(400, "invalid_argument", where + "expected an object");
    if (!j.contains("session")) j["session"] = id;
    if (j["session"] != id) {
      co_return Error(400, "invalid_argument",
                      where + "field 'session' does not match the URL's session '" + id + "'",
                      "session");
    }
    if (JsonString(j, "type") == "approval") {
      if (c.who.role == Role::kAgent) {
        co_return co_await Forbidden(c, id, "an agent cannot resolve approvals");
      }
      co_return Error(400, "invalid_argument", "resolve approvals with POST /v1/approvals/ID",
                      "type");
    }
    if (JsonString(j, "type") == "session_start") {
      j["owner"] = c.who.name;  // who creates a session owns it; it cannot be claimed
      starts = starts || i == 0;
    }
    auto e = Event::FromJson(std::move(j));
    if (!e.ok()) {
      co_return Error(400, "invalid_event", where + e.status().message(),
                      api::FieldOf(e.status().message()));
    }
    events.push_back(std::move(e).value());
  }
  auto owner = co_await OwnerOf(id);
  if (!owner.ok() && !(owner.status().code() == Status::Code::kNotFound && starts)) {
    co_return Error(404, "not_found",
                    "no session '" + id + "'; start it with POST /v1/sessions or a session_start");
  }
  if (owner.ok() && c.who.role == Role::kAgent && *owner != c.who.name) {
    co_return co_await Forbidden(c, id, "an agent token writes only its own sessions");
  }

  Json decisions = Json::array();
  std::optional<Decision> last;
  for (size_t i = 0; i < events.size(); ++i) {
    auto d = co_await Blocking([&] { return ctx_.engine->Submit(std::move(events[i])); });
    if (!d.ok() && StorageFailure(d.status())) Alarm().Failed(ctx_.log, d.status());
    if (d.ok()) Alarm().Ok(ctx_.log);
    if (!d.ok()) {
      HttpResponse r = FromStatus(d.status());
      if (batch) {
        Json j = Json::parse(r.body);
        j["error"]["index"] = i;
        j["decisions"] = decisions;  // the events before it are recorded
        auto headers = std::move(r.headers);
        r = JsonResponse(r.status, j);
        r.headers = std::move(headers);
      }
      co_return r;
    }
    decisions.push_back(DecisionJson(*d));
    last = std::move(d).value();
  }
  if (batch) co_return JsonResponse(200, {{"decisions", decisions}});
  Json out = decisions[0];
  if (last->verdict == Verdict::kAsk && *wait > 0) {
    auto summary = co_await AwaitApproval(c, last->approval_id, *wait);
    if (!summary.ok()) {
      // The event is recorded: answer its ask rather than an error the
      // client might retry, which would record it twice.
      out["wait_error"] = summary.status().message();
      co_return JsonResponse(200, out);
    }
    if (summary->has_value() && (*summary)->status != "pending") {
      const ApprovalSummary& a = **summary;
      bool approved = a.status == "approved";
      out["verdict"] = approved ? (last->patch.is_null() ? "allow" : "modify") : "deny";
      out["reason"] = a.status == "expired" ? "nobody answered the ask in time"
                                            : a.status + (a.by.empty() ? "" : " by " + a.by) +
                                                  (a.note.empty() ? "" : ": " + a.note);
      out["approval"] = ApprovalJson(a, Json());
    }
  }
  co_return JsonResponse(200, out);
}

asio::awaitable<HttpResponse> Api::GetEvents(Call& c) {
  const std::string& id = c.req.segments[2];
  if (auto refused = co_await CheckSession(c, id)) co_return *refused;
  HttpResponse bad;
  auto after_param = api::IntParam(c.req, "after", 0, 0, INT64_MAX, &bad);
  auto limit_param = api::IntParam(c.req, "limit", kMaxRecordsPerPage, 1, kMaxRecordsPerPage, &bad);
  if (!after_param || !limit_param) co_return bad;
  int64_t after = *after_param, limit = *limit_param;
  auto out = co_await Blocking([&]() -> Result<Json> {
    Json records = Json::array();
    Status st = ctx_.store->Scan(id, after, limit, [&](const Record& r) {
      records.push_back(r.ToJson());
      return true;
    });
    if (!st.ok()) return st;
    auto summary = ctx_.store->GetSession(id);
    int64_t head = summary.ok() && summary->has_value() ? (*summary)->last_seq : 0;
    int64_t next = records.empty() ? after : records.back()["seq"].get<int64_t>();
    return Json{{"records", records}, {"next_after", next}, {"head", head}};
  });
  if (!out.ok()) co_return FromStatus(out.status());
  co_return JsonResponse(200, *out);
}

asio::awaitable<HttpResponse> Api::Stream(Call& c) {
  const std::string& id = c.req.segments[2];
  if (auto refused = co_await CheckSession(c, id)) co_return *refused;
  std::string resume = c.req.Header("last-event-id");
  int64_t after =
      std::max<int64_t>(0, std::atoll(c.req.Query("after", resume.empty() ? "0" : resume).c_str()));
  auto notifier = std::make_shared<Notifier>(co_await asio::this_coro::executor);
  auto queue = std::make_shared<StreamQueue>(notifier, kStreamQueue);
  auto handle = ctx_.hub->Subscribe(id, queue);
  if (!handle) co_return Error(503, "busy", "too many open streams and waits; try again later");
  if (!co_await c.ex.BeginStream(200, "text/event-stream")) co_return HttpResponse{};
  // The log up to now, then what the hub queued meanwhile and after.
  int64_t sent = after;
  while (true) {
    std::string frames;
    auto page = co_await Blocking([&]() -> Result<int64_t> {
      int64_t n = 0;
      Status st = ctx_.store->Scan(id, sent, kMaxRecordsPerPage, [&](const Record& r) {
        frames += Frame(r);
        ++n;
        return true;
      });
      if (!st.ok()) return st;
      return n;
    });
    if (!page.ok() || (*page > 0 && !co_await c.ex.Write(std::move(frames))))
      co_return HttpResponse{};
    sent += page.ok() ? *page : 0;
    if (!page.ok() || *page < kMaxRecordsPerPage) break;
  }
  while (!c.ex.stopping()) {
    std::string frames;
    bool overflowed = false;
    {
      std::lock_guard lock(queue->mu);
      for (const Record& r : queue->records) {
        if (r.seq <= sent) continue;
        frames += Frame(r);
        sent = r.seq;
      }
      queue->records.clear();
      overflowed = queue->overflowed;
    }
    if (overflowed) {
      frames += "event: overflow\ndata: {\"resume_after\":" + std::to_string(sent) + "}\n\n";
      co_await c.ex.Write(std::move(frames));
      break;
    }
    if (!frames.empty() && !co_await c.ex.Write(std::move(frames))) break;
    if (!co_await notifier->Wait(std::chrono::steady_clock::now() + kStreamKeepAlive)) {
      if (!co_await c.ex.Write(": keep-alive\n\n")) break;
    }
  }
  co_return HttpResponse{};
}

}  // namespace reins
