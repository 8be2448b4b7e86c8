// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include "bench/floors.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "engine/canonical_json.h"
#include "engine/json_fields.h"
#include "server/http_server.h"

namespace reins::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

HttpResponse FloorAnswer(const HttpRequest& request) {
  Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (request.method != "POST" || !body.is_object()) return {404, "application/json", "{}", {}};
  if (request.segments.size() == 2) {
    return {201, "application/json", Json{{"id", JsonString(body, "id")}}.dump(), {}};
  }
  Json d = {{"seq", 1},
            {"session", request.segments.size() > 2 ? request.segments[2] : ""},
            {"type", JsonString(body, "type")},
            {"verdict", "allow"},
            {"policies", Json::array()}};
  return {200, "application/json", d.dump(), {}};
}

}  // namespace

struct HttpFloor::Impl {
  HttpServer http{HttpOptions{},
                  [](HttpRequest& request, HttpExchange&) -> asio::awaitable<HttpResponse> {
                    co_return FloorAnswer(request);
                  },
                  nullptr};
  std::string error;
};

HttpFloor::HttpFloor(int threads) : impl_(std::make_unique<Impl>()) {
  Status st = impl_->http.ListenTcp("127.0.0.1:0");
  if (!st.ok()) {
    impl_->error = st.ToString();
    return;
  }
  impl_->http.Start(threads);
}

HttpFloor::~HttpFloor() { impl_->http.Shutdown(std::chrono::milliseconds(1000)); }

bool HttpFloor::ok() const { return impl_->error.empty(); }
const std::string& HttpFloor::error() const { return impl_->error; }
int HttpFloor::port() const { return impl_->http.tcp_port(); }

struct BareRelay::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  tcp::endpoint upstream;
  std::thread thread;

  asio::awaitable<void> Relay(tcp::socket client) {
    beast::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    tcp::socket up(co_await asio::this_coro::executor);
    co_await up.async_connect(upstream, token);
    if (ec) co_return;
    client.set_option(tcp::no_delay(true), ec);
    up.set_option(tcp::no_delay(true), ec);
    beast::flat_buffer from_client, from_up;
    while (true) {
      http::request<http::string_body> req;
      co_await http::async_read(client, from_client, req, token);
      if (ec) co_return;
      co_await http::async_write(up, req, token);
      if (ec) co_return;
      http::response<http::string_body> res;
      co_await http::async_read(up, from_up, res, token);
      if (ec) co_return;
      co_await http::async_write(client, res, token);
      if (ec) co_return;
    }
  }

  asio::awaitable<void> Accept() {
    while (true) {
      beast::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(io, Relay(std::move(s)), asio::detached);
    }
  }
};

BareRelay::BareRelay(int upstream_port) : impl_(std::make_unique<Impl>()) {
  impl_->upstream = {asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(upstream_port)};
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

BareRelay::~BareRelay() {
  impl_->io.stop();
  impl_->thread.join();
}

int BareRelay::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace reins::bench
