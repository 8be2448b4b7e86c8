// The HTTP layer alone: keep-alive, limits, malformed and slow clients, the
// Unix socket, shutdown with a request in flight.
#include "server/http_server.h"

#include <sys/stat.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

#include "engine/testing.h"
#include "server/http_client.h"

using namespace reins;
using namespace reins::testing;
namespace asio = boost::asio;

namespace {

// Echoes the request; /slow waits 300 ms first.
asio::awaitable<HttpResponse> Echo(HttpRequest& req, HttpExchange&) {
  if (req.target == "/slow") {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
    co_await t.async_wait(asio::use_awaitable);
  }
  Json query = Json::object();
  for (const auto& [k, v] : req.query) query[k] = v;
  co_return HttpResponse{
      200,
      "application/json",
      Json{{"method", req.method}, {"segments", req.segments}, {"query", query}, {"body", req.body}}
          .dump(),
      {}};
}

struct Fixture {
  explicit Fixture(HttpOptions options = {}) : server(options, Echo, &metrics) {
    REQUIRE(server.ListenTcp("127.0.0.1:0").ok());
    REQUIRE(server.ListenUnix(dir.File("s.sock")).ok());
    server.Start(2);
    url = "http://127.0.0.1:" + std::to_string(server.tcp_port());
  }
  TempDir dir;
  Metrics metrics;
  HttpServer server;
  std::string url;
};

}  // namespace

TEST_CASE("requests on one keep-alive connection, over TCP and the Unix socket", "[http]") {
  Fixture f;
  std::vector<HttpClient> clients;
  clients.emplace_back(f.url);
  clients.emplace_back("unix:" + f.dir.File("s.sock"));
  for (HttpClient& c : clients) {
    for (int i = 0; i < 3; ++i) {
      auto r = c.Request("POST", "/a/b%20c?x=1&y=two+words", "{\"n\":" + std::to_string(i) + "}");
      REQUIRE(r.ok());
      CHECK(r->status == 200);
      CHECK(r->json()["segments"] == Json::array({"a", "b c"}));
      CHECK(r->json()["query"]["y"] == "two words");
      CHECK(r->json()["body"] == "{\"n\":" + std::to_string(i) + "}");
    }
  }
  CHECK(f.metrics.connections().load() == 2);  // one per client, kept alive
  struct stat st;
  REQUIRE(::stat(f.dir.File("s.sock").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("oversized, malformed and slow requests get an answer and a closed connection",
          "[http]") {
  HttpOptions o;
  o.max_body_bytes = 100;
  o.max_header_bytes = 1024;
  o.header_timeout = std::chrono::milliseconds(300);
  Fixture f(o);
  HttpClient c(f.url, std::chrono::seconds(5));

  auto big = c.Raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
  REQUIRE(big.ok());
  CHECK(big->rfind("HTTP/1.1 413", 0) == 0);
  CHECK(big->find("body_too_large") != std::string::npos);

  auto chunked = c.Raw("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                       std::string("c8\r\n") + std::string(200, 'a') + "\r\n0\r\n\r\n");
  REQUIRE(chunked.ok());
  CHECK(chunked->rfind("HTTP/1.1 413", 0) == 0);

  auto headers =
      c.Raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'h') + "\r\n\r\n");
  REQUIRE(headers.ok());
  CHECK(headers->rfind("HTTP/1.1 431", 0) == 0);

  auto garbage = c.Raw("HELLO THERE\r\n\r\n");
  REQUIRE(garbage.ok());
  CHECK(garbage->rfind("HTTP/1.1 400", 0) == 0);

  auto escape = c.Raw("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(escape.ok());
  CHECK(escape->rfind("HTTP/1.1 400", 0) == 0);

  // Headers that never finish: the server hangs up after header_timeout.
  auto start = std::chrono::steady_clock::now();
  auto slow = c.Raw("GET / HTTP/1.1\r\nHost: x\r\n");
  REQUIRE(slow.ok());
  CHECK(slow->empty());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));

  // A request with "Expect: 100-continue" and a body under the limit works.
  auto expect = c.Raw(
      "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Length: 2\r\nConnection: close\r\n\r\nok");
  REQUIRE(expect.ok());
  CHECK(expect->find("HTTP/1.1 200") != std::string::npos);
}

TEST_CASE("at max_connections the longest-idle connection gives way; busy ones never do",
          "[http]") {
  HttpOptions o;
  o.max_connections = 2;
  Fixture f(o);
  HttpClient a(f.url), b(f.url), extra(f.url);
  REQUIRE(a.Request("GET", "/").ok());
  REQUIRE(b.Request("GET", "/").ok());
  // a and b sit idle on kept-alive connections: a newcomer closes a's.
  auto r = extra.Request("GET", "/");
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(f.metrics.connections_evicted().load() == 1);
  // a's client finds its connection closed and opens a new one (closing b's).
  auto again = a.Request("GET", "/");
  REQUIRE(again.ok());
  CHECK(again->status == 200);

  // Both connections busy with a request: a newcomer is refused, and the
  // requests in flight finish.
  auto slow1 = std::async(std::launch::async, [&] { return a.Request("GET", "/slow"); });
  auto slow2 = std::async(std::launch::async, [&] { return extra.Request("GET", "/slow"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  HttpClient late(f.url);
  auto refused = late.Request("GET", "/");
  REQUIRE(refused.ok());
  CHECK(refused->status == 503);
  CHECK(slow1.get()->status == 200);
  CHECK(slow2.get()->status == 200);
}

TEST_CASE("10,000 idle and slow-loris connections do not lock out a client", "[http]") {
  RaiseDescriptorLimit();  // 10,200 here and up to 1,024 in the server
  Fixture f;               // max_connections 1024
  asio::io_context io;
  asio::ip::tcp::endpoint server(asio::ip::make_address("127.0.0.1"), f.server.tcp_port());
  std::vector<asio::ip::tcp::socket> hostile;
  hostile.reserve(10200);
  for (int i = 0; i < 10200; ++i) {
    asio::ip::tcp::socket s(io);
    boost::system::error_code ec;
    s.connect(server, ec);
    REQUIRE(!ec);
    // The last 200 start a request and never finish its headers.
    if (i >= 10000) asio::write(s, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n")), ec);
    hostile.push_back(std::move(s));
  }
  HttpClient c(f.url);
  for (int i = 0; i < 50; ++i) {
    auto r = c.Request("GET", "/?i=" + std::to_string(i));
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
  }
  CHECK(f.metrics.connections_evicted().load() >= 10200 - 1024);
  CHECK(f.metrics.connections().load() <= 1024 + 1);
}

TEST_CASE("shutdown lets a request in flight finish and refuses new connections", "[http]") {
  Fixture f;
  HttpClient c(f.url);
  auto slow = std::async(std::launch::async, [&] { return c.Request("GET", "/slow"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  f.server.Shutdown(std::chrono::seconds(5));
  auto r = slow.get();
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  HttpClient late(f.url, std::chrono::seconds(2));
  CHECK_FALSE(late.Request("GET", "/").ok());
  CHECK_FALSE(std::filesystem::exists(f.dir.File("s.sock")));
}
