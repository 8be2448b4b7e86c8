#include "bench/http_load_client.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>

#include "engine/canonical_json.h"
#include "server/http_client.h"

namespace reins::bench {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

int64_t NsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

http::request<http::string_body> Post(const std::string& target, std::string body,
                                      const std::string& token) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

asio::awaitable<http::response<http::string_body>> Exchange(tcp::socket& socket,
                                                            beast::flat_buffer& buffer,
                                                            http::request<http::string_body> req,
                                                            beast::error_code& ec) {
  http::response<http::string_body> res;
  co_await http::async_write(socket, req, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) {
    co_await http::async_read(socket, buffer, res, asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return res;
}

}  // namespace

std::string Conn::NextSession() {
  session = name + "-" + std::to_string(++sessions);
  target = "/v1/sessions/" + session + "/events";
  return R"({"id":")" + session +
         R"(","user":"bench","agent":"coder","harness":"claude-code",)"
         R"("model":"claude-sonnet-4-5"})";
}

// A coding agent's turn: a model response with usage, then a Bash and a Read
// tool call with their results. Call ids are unique in the session.
std::string Conn::NextEvent() {
  int64_t i = sent++;
  std::string n = std::to_string(i / 5);
  switch (i % 5) {
    case 0:
      return R"({"type":"llm_response","model":"claude-sonnet-4-5","usage":{"input_tokens":1200,)"
             R"("output_tokens":300,"cache_read_input_tokens":20000}})";
    case 1:
      return R"({"type":"tool_call","tool":"Bash","call_id":"b)" + n +
             R"(","input":{"command":"ls -la"}})";
    case 2:
      return R"({"type":"tool_result","tool":"Bash","call_id":"b)" + n +
             R"(","output":"total 8\ndrwxr-xr-x 2 dev dev 4096 .\n)"
             R"(-rw-r--r-- 1 dev dev 120 main.py\n"})";
    case 3:
      return R"({"type":"tool_call","tool":"Read","call_id":"r)" + n +
             R"(","input":{"file_path":"src/parser.py"}})";
    default:
      return R"({"type":"tool_result","tool":"Read","call_id":"r)" + n +
             R"(","output":"def parse(text):\n    return text.split()\n"})";
  }
}

void Conn::Fail(std::string why) {
  ++requests;
  ++errors;
  if (first_error.empty()) first_error = session + ": " + std::move(why);
}

void Conn::Done(int status, const std::string& body, int64_t ns, bool measuring) {
  if (status != 200) return Fail("status " + std::to_string(status) + ": " + body);
  Json j = Json::parse(body, nullptr, false);
  std::string verdict = j.is_object() && j.contains("verdict") && j["verdict"].is_string()
                            ? j["verdict"].get<std::string>()
                            : "";
  auto it = std::find(std::begin(kVerdicts), std::end(kVerdicts), verdict);
  if (it == std::end(kVerdicts)) return Fail("no valid verdict in " + body);
  ++requests;
  ++verdicts[it - std::begin(kVerdicts)];
  if (measuring) latencies_ns.push_back(ns);
}

asio::awaitable<void> DriveAsync(Level& level, Conn& c) {
  tcp::socket socket(co_await asio::this_coro::executor);
  beast::flat_buffer buffer;
  beast::error_code ec;
  co_await socket.async_connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(level.port)},
      asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) socket.set_option(tcp::no_delay(true), ec);
  if (ec) {
    c.Fail("connect: " + ec.message());
    co_return;
  }
  asio::steady_timer timer(socket.get_executor());
  // Connections start their schedules spread over one interval.
  auto due = Clock::now() +
             level.interval * (&c - level.conns.data()) / static_cast<int64_t>(level.conns.size());
  while (level.phase.load(std::memory_order_relaxed) != kStop) {
    if (c.sessions == 0 || (level.session_events > 0 && c.sent % level.session_events == 0 &&
                            c.sent / level.session_events == c.sessions)) {
      auto created =
          co_await Exchange(socket, buffer, Post("/v1/sessions", c.NextSession(), level.token), ec);
      if (ec || created.result_int() != 201) {
        c.Fail("creating the session: " + (ec ? ec.message() : created.body()));
        co_return;
      }
    }
    auto req = Post(c.target, c.NextEvent(), level.token);
    auto start = Clock::now();
    if (level.interval.count() > 0) {
      if (due > start) {
        timer.expires_at(due);
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      start = due;
      due += level.interval;
    }
    auto res = co_await Exchange(socket, buffer, std::move(req), ec);
    int64_t ns = NsSince(start);
    if (ec) {
      c.Fail("connection: " + ec.message());
      co_return;
    }
    c.Done(res.result_int(), res.body(), ns,
           level.phase.load(std::memory_order_relaxed) == kMeasure);
  }
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

void DriveBlocking(Level& level, Conn& c) {
  HttpClient client(level.url);
  auto created = client.Request("POST", "/v1/sessions", c.NextSession(), level.token);
  if (!created.ok() || created->status != 201) {
    return c.Fail("creating the session: " +
                  (created.ok() ? created->body : created.status().ToString()));
  }
  while (level.phase.load(std::memory_order_relaxed) != kStop) {
    std::string body = c.NextEvent();
    auto start = Clock::now();
    auto res = client.Request("POST", c.target, body, level.token);
    int64_t ns = NsSince(start);
    if (!res.ok()) return c.Fail(res.status().ToString());
    c.Done(res->status, res->body, ns, level.phase.load(std::memory_order_relaxed) == kMeasure);
  }
}

}  // namespace reins::bench
