// Governing and relaying one model call (llm_proxy.h): the request's event
// and its verdict, the exchange with the upstream, the answer's events.
#include "engine/json_fields.h"
#include "harness-adapters/llm_proxy_internal.h"

namespace reins {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using proxy_internal::HopByHop;
using proxy_internal::Request;

namespace {

constexpr size_t kMaxGovernedAnswer = 64 << 20;  // a JSON answer read for its usage

std::vector<std::string> Split(const std::string& joined, size_t expected) {
  std::vector<std::string> out;
  if (expected == 0) return out;
  size_t start = 0;
  while (true) {
    size_t at = joined.find(llm::kSegmentSeparator, start);
    out.push_back(joined.substr(start, at - start));
    if (at == std::string::npos) break;
    start = at + llm::kSegmentSeparator.size();
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += llm::kSegmentSeparator;
    out += parts[i];
  }
  return out;
}

// JSON pointer of the last message a user sent: the prompt the policies
// judge; every other text segment is the request's context.
std::string PromptPointer(llm::Api api, const Json& body) {
  const char* list = api == llm::Api::kGemini            ? "contents"
                     : api == llm::Api::kOpenAiResponses ? "input"
                                                         : "messages";
  auto it = body.find(list);
  if (it == body.end()) return "";
  if (it->is_string()) return std::string("/") + list;
  if (!it->is_array()) return "";
  for (size_t i = it->size(); i-- > 0;) {
    const Json& m = (*it)[i];
    if (!m.is_object()) continue;
    std::string role = JsonString(m, "role", api == llm::Api::kGemini ? "user" : "");
    if (role == "user") return std::string("/") + list + "/" + std::to_string(i);
  }
  return "";
}

bool Under(const std::string& path, const std::string& prefix) {
  return !prefix.empty() && path.rfind(prefix, 0) == 0 &&
         (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

asio::awaitable<bool> LlmProxy::Impl::Govern(beast::tcp_stream& client, Request req, llm::Api api,
                                             const std::string& path, const std::string& query,
                                             const std::string& requested, const UpstreamUrl& up) {
  auto refuse = [&](int status, const std::string& message) {
    return Reply(client, req.keep_alive(), llm::ProviderError(api, status, message));
  };
  // Bounded: redaction and rewriting walk the body recursively.
  auto parsed = ParseJsonBounded(req.body(), llm::kMaxJsonDepth);
  if (!parsed.ok()) {
    co_return co_await refuse(
        400, "reins proxy: the body is not usable JSON: " + parsed.status().message());
  }
  Json body = std::move(parsed).value();
  auto facts = llm::ReadRequest(api, path, body);
  if (!facts.ok()) co_return co_await refuse(400, "reins proxy: " + facts.status().message());
  bool drop_usage_chunk = false;
  if (api == llm::Api::kOpenAiChat && facts->stream) {
    drop_usage_chunk = llm::AskForStreamUsage(&body);
  }
  bool rewrite = drop_usage_chunk;

  auto session = co_await EnsureSession(requested, req);
  if (!session.ok()) {
    co_return co_await refuse(503, "reins proxy: cannot record this call, so it is not sent: " +
                                       session.status().message());
  }

  // The event: the prompt apart from the rest of what is sent.
  std::string prompt_at = PromptPointer(api, body);
  std::vector<std::string> segments = Split(facts->text, facts->text_paths.size());
  std::vector<std::string> prompt, context;
  for (size_t i = 0; i < segments.size() && i < facts->text_paths.size(); ++i) {
    (Under(facts->text_paths[i], prompt_at) ? prompt : context).push_back(segments[i]);
  }
  Json event = {{"type", "llm_request"},
                {"session", *session},
                {"model", facts->model},
                {"messages_count", facts->messages_count},
                {"tools_count", facts->tools_count},
                {"labels", {{"source", "proxy"}, {"api", llm::ApiName(api)}}}};
  if (!prompt.empty()) event["text"] = Join(prompt);
  if (!context.empty()) event["context"] = Join(context);
  if (!facts->system.empty()) event["system"] = facts->system;
  if (classifier && !prompt.empty()) {
    event["prompt_class"] = co_await classifier->Classify(Join(prompt));
  }
  // (Not `?:`: g++ 12 mishandles co_await in a conditional expression.)
  Result<Json> decision = Status::Internal("not evaluated");
  if (lane_queued[LaneIndex(*session)] == 0) {
    decision = decider->Submit(event);
  } else {
    decision = co_await OnExecutor(LaneOf(*session), [&] { return decider->Submit(event); });
  }
  if (!decision.ok()) {
    co_return co_await refuse(503,
                              "reins proxy: the call could not be evaluated, so it is not "
                              "sent: " +
                                  decision.status().message());
  }
  std::string verdict = decision->value("verdict", "deny");
  std::string reason = decision->value("reason", "");
  if (verdict == "ask") {
    // Held while a person decides; polled so that no thread waits with it.
    std::string id = decision->value("approval_id", "");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(options.ask_wait);
    std::string status = "pending";
    auto pause = std::chrono::milliseconds(20);
    while (true) {
      auto s = co_await Blocking([&] { return decider->AwaitApproval(id, 0); });
      status = s.ok() ? *s : "error: " + s.status().message();
      if (status != "pending" || std::chrono::steady_clock::now() >= deadline) break;
      asio::steady_timer timer(co_await asio::this_coro::executor, pause);
      error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      pause = std::min(pause * 2, std::chrono::milliseconds(500));
    }
    if (status == "approved") {
      verdict = decision->contains("patch") ? "modify" : "allow";
    } else {
      verdict = "deny";
      reason = reason + " (asked for approval " + id + ": " +
               (status == "pending" ? "nobody answered in time" : status) + ")";
    }
  }
  if (verdict == "deny") co_return co_await refuse(403, "reins: " + reason);

  std::string forward_path = path;
  if (decision->contains("patch") && verdict == "modify") {
    const Json& patch = (*decision)["patch"];
    Json apply = Json::object();
    if (patch.contains("model")) apply["model"] = patch["model"];
    if (patch.contains("system")) apply["system"] = patch["system"];
    if (patch.contains("text") || patch.contains("context")) {
      std::vector<std::string> new_prompt =
          patch.contains("text") ? Split(patch["text"].get<std::string>(), 1) : prompt;
      std::vector<std::string> new_context =
          patch.contains("context") ? Split(patch["context"].get<std::string>(), 1) : context;
      if (new_prompt.size() != prompt.size() || new_context.size() != context.size()) {
        co_return co_await refuse(403, "reins: a policy rewrote the request (" + reason +
                                           ") in a way the proxy cannot apply; not sent");
      }
      std::vector<std::string> all;
      size_t pi = 0, ci = 0;
      for (size_t i = 0; i < segments.size(); ++i) {
        all.push_back(Under(facts->text_paths[i], prompt_at) ? new_prompt[pi++]
                                                             : new_context[ci++]);
      }
      apply["text"] = Join(all);
    }
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      if (!apply.contains(it.key()) && it.key() != "context") apply[it.key()] = it.value();
    }
    Status applied = llm::ApplyPatch(*facts, apply, &body, &forward_path);
    if (!applied.ok()) {
      co_return co_await refuse(403, "reins: a policy rewrote the request (" + reason + ") but " +
                                         applied.message() + "; not sent");
    }
    if (patch.contains("model")) facts->model = patch["model"].get<std::string>();
    rewrite = true;
  }
  if (rewrite) req.body() = body.dump();

  std::string sent_model = facts->model;
  OnComplete record = [this, session = *session, api, sent_model](const Relay& answered) {
    // The answer is on its way already: a failure to record it can only be
    // reported here.
    {
      std::lock_guard lock(recording_mu);
      ++recording;
    }
    size_t lane = LaneIndex(session);
    ++lane_queued[lane];
    asio::post(lanes[lane], [this, lane, session, api, sent_model, relay = answered]() mutable {
      ReadAnswer(api, &relay);
      std::string model =
          relay.facts && !relay.facts->model.empty() ? relay.facts->model : sent_model;
      Status recorded = Record(session, api, model, relay);
      if (!recorded.ok()) options.log("recording a model answer failed: " + recorded.ToString());
      --lane_queued[lane];
      std::lock_guard lock(recording_mu);
      if (--recording == 0) recording_cv.notify_all();
    });
  };
  Relay relay = co_await Forward(client, std::move(req), up, forward_path + query, api, true,
                                 drop_usage_chunk, &record);
  if (!relay.recorded) {
    relay.recorded = true;
    record(relay);
  }
  if (!relay.started && !relay.client_gone) {
    co_await Reply(client, true,
                   llm::ProviderError(api, 502, "reins proxy: " + relay.error.message()));
  }
  co_return relay.keep_alive;
}

Status LlmProxy::Impl::Record(const std::string& session, llm::Api api, const std::string& model,
                              const Relay& relay) {
  Json labels = {{"source", "proxy"}, {"api", llm::ApiName(api)}};
  if (relay.status != 0) labels["status"] = std::to_string(relay.status);
  if (relay.client_gone) labels["incomplete"] = "the client left before the answer ended";
  if (!relay.error.ok()) labels["error"] = relay.error.message();
  Json event = {{"type", "llm_response"}, {"session", session}, {"model", model}};
  if (relay.facts) {
    if (relay.facts->usage.is_object()) event["usage"] = relay.facts->usage;
    if (!relay.facts->text.empty()) event["text"] = relay.facts->text;
  }
  event["labels"] = labels;
  auto d = decider->Submit(std::move(event));
  if (!d.ok()) return d.status();
  if (!relay.facts || !options.record_tool_calls) return Status::OK();
  for (const Json& call : relay.facts->tool_calls) {
    Json e = {{"type", "tool_call"},
              {"session", session},
              {"tool", JsonString(call, "tool")},
              {"input", call.contains("input") && call["input"].is_object() ? call["input"]
                                                                            : Json::object()},
              {"labels", {{"source", "proxy"}, {"observed", "true"}}}};
    if (call.contains("call_id") && call["call_id"].is_string()) e["call_id"] = call["call_id"];
    auto r = decider->Submit(std::move(e));
    if (!r.ok()) return r.status();
  }
  return Status::OK();
}

asio::awaitable<LlmProxy::Impl::Relay> LlmProxy::Impl::Forward(
    beast::tcp_stream& client, Request req, const UpstreamUrl& up, const std::string& target,
    llm::Api api, bool governed, bool drop_usage_chunk, const OnComplete* on_complete) {
  Relay out;
  Request ureq{req.method(), up.base_path + target, 11};
  for (const auto& f : req) {
    if (!HopByHop(f.name_string())) ureq.set(f.name_string(), f.value());
  }
  ureq.set(http::field::host, up.HostHeader());
  // A compressed answer could not be read for its usage.
  if (governed) ureq.set(http::field::accept_encoding, "identity");
  ureq.body() = std::move(req.body());
  ureq.keep_alive(true);
  ureq.prepare_payload();
  auto timeout = std::chrono::microseconds(options.upstream_timeout);
  // A kept-alive connection the upstream has closed fails before any answer:
  // the request is then sent once more on a new connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto conn = co_await pool->Get(up, timeout);
    if (!conn.ok()) {
      out.error = conn.status();
      co_return out;
    }
    out = Relay();
    bool reusable = false;
    if ((*conn)->plain) {
      co_await Exchange(*(*conn)->plain, **conn, client, ureq, req.keep_alive(), api, governed,
                        drop_usage_chunk, on_complete, &out, &reusable);
    } else {
      co_await Exchange(*(*conn)->tls, **conn, client, ureq, req.keep_alive(), api, governed,
                        drop_usage_chunk, on_complete, &out, &reusable);
    }
    if (reusable) pool->Put(up, std::move(conn).value());
    if (out.status != 0 || out.client_gone) break;
  }
  co_return out;
}

void LlmProxy::Impl::Complete(const std::optional<llm::StreamReader>& reader, std::string* copy,
                              bool governed, const OnComplete* on_complete, Relay* out) {
  if (reader) {
    out->facts = reader->facts();
  } else if (governed && out->status == 200) {
    // Parsed by the recording, so that the answer's last bytes wait for no
    // JSON parser.
    out->answer = std::move(*copy);
  }
  if (!on_complete) return;
  out->recorded = true;
  (*on_complete)(*out);
}

void LlmProxy::Impl::ReadAnswer(llm::Api api, Relay* relay) {
  if (relay->facts || relay->answer.empty()) return;
  auto answer = ParseJsonBounded(relay->answer, llm::kMaxJsonDepth);
  auto facts = llm::ReadResponse(api, answer.ok() ? std::move(answer).value() : Json());
  if (facts.ok()) relay->facts = std::move(facts).value();
}

template <typename Stream>
asio::awaitable<void> LlmProxy::Impl::Exchange(Stream& stream, UpstreamConn& conn,
                                               beast::tcp_stream& client, Request& ureq,
                                               bool client_keep_alive, llm::Api api, bool governed,
                                               bool drop_usage_chunk, const OnComplete* on_complete,
                                               Relay* out, bool* reusable) {
  error_code ec;
  conn.tcp().expires_after(std::chrono::microseconds(options.upstream_timeout));
  co_await http::async_write(stream, ureq, asio::redirect_error(asio::use_awaitable, ec));
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (!ec) {
    co_await http::async_read_header(stream, conn.buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    out->error = Status::IOError("the upstream " + ureq[http::field::host].to_string() +
                                 " failed: " + ec.message());
    co_return;
  }
  const auto& head = parser.get();
  out->status = head.result_int();
  bool sse = head[http::field::content_type].starts_with("text/event-stream");
  http::response<http::buffer_body> res{head.result(), 11};
  for (const auto& f : head) {
    if (!HopByHop(f.name_string())) res.set(f.name_string(), f.value());
  }
  res.keep_alive(client_keep_alive);
  // The answer passes as it comes: with its length when the upstream gave
  // one and nothing is dropped, in chunks otherwise.
  if (parser.content_length() && !drop_usage_chunk) {
    res.content_length(*parser.content_length());
  } else {
    res.chunked(true);
  }
  http::response_serializer<http::buffer_body> sr{res};
  client.expires_after(std::chrono::seconds(30));
  co_await http::async_write_header(client, sr, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) out->client_gone = true;
  out->started = !ec;
  std::optional<llm::StreamReader> reader;
  if (governed && sse) reader.emplace(api, drop_usage_chunk);
  std::string copy;  // a governed JSON answer, read for its usage once complete
  char buf[16384];
  while (!out->client_gone && !parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    // read_some: whatever has arrived goes on at once (async_read would wait
    // for the whole answer or a full buffer).
    co_await http::async_read_some(stream, conn.buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      out->error = Status::IOError("the upstream's answer broke off: " + ec.message());
      break;
    }
    std::string_view chunk(buf, sizeof buf - parser.get().body().size);
    std::string fed;
    if (reader) {
      fed = reader->Feed(chunk);
      chunk = fed;
    } else if (governed && copy.size() + chunk.size() <= kMaxGovernedAnswer) {
      copy.append(chunk);
    }
    if (parser.is_done()) Complete(reader, &copy, governed, on_complete, out);
    if (chunk.empty()) continue;
    res.body().data = const_cast<char*>(chunk.data());
    res.body().size = chunk.size();
    res.body().more = true;
    co_await http::async_write(client, sr, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) out->client_gone = true;
  }
  if (!out->client_gone && out->error.ok()) {
    res.body().data = nullptr;
    res.body().size = 0;
    res.body().more = false;
    co_await http::async_write(client, sr, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) out->client_gone = true;
  }
  client.expires_never();
  // An attempt that got no answer is retried or recorded by Govern, once.
  if (!out->recorded && (out->status != 0 || out->client_gone)) {
    Complete(reader, &copy, governed, on_complete, out);
  }
  *reusable = parser.is_done() && parser.keep_alive() && out->error.ok();
  out->keep_alive = client_keep_alive && !out->client_gone && out->error.ok();
}

}  // namespace reins
