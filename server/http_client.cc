#include "server/http_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

namespace reins {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

struct HttpClient::Conn {
  asio::io_context io;
  std::unique_ptr<asio::ip::tcp::socket> tcp;  // one of the two is set
  std::unique_ptr<asio::local::stream_protocol::socket> local;
  beast::flat_buffer buffer;
  std::unique_ptr<http::response_parser<http::string_body>> stream;  // OpenStream in progress

  template <typename F>
  void With(F f) {
    if (tcp) {
      f(*tcp);
    } else {
      f(*local);
    }
  }
};

Json HttpResult::json() const { return Json::parse(body, nullptr, false, true); }

HttpClient::HttpClient(std::string address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;

Status HttpClient::Connect() {
  conn_ = std::make_unique<Conn>();
  error_code ec;
  if (address_.rfind("unix:", 0) == 0) {
    conn_->local = std::make_unique<asio::local::stream_protocol::socket>(conn_->io);
    conn_->local->connect(asio::local::stream_protocol::endpoint(address_.substr(5)), ec);
  } else {
    std::string hostport = address_.rfind("http://", 0) == 0 ? address_.substr(7) : address_;
    while (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
    size_t colon = hostport.rfind(':');
    if (colon == std::string::npos) {
      return Status::InvalidArgument("server address '" + address_ +
                                     "' must be http://HOST:PORT or unix:/PATH");
    }
    asio::ip::tcp::resolver resolver(conn_->io);
    auto endpoints = resolver.resolve(hostport.substr(0, colon), hostport.substr(colon + 1), ec);
    conn_->tcp = std::make_unique<asio::ip::tcp::socket>(conn_->io);
    if (!ec) asio::connect(*conn_->tcp, endpoints, ec);
    if (!ec) conn_->tcp->set_option(asio::ip::tcp::no_delay(true), ec);
  }
  if (ec) {
    conn_.reset();
    return Status::IOError("cannot connect to " + address_ + ": " + ec.message());
  }
  timeval tv{static_cast<time_t>(timeout_.count() / 1000),
             static_cast<suseconds_t>(timeout_.count() % 1000 * 1000)};
  conn_->With([&](auto& s) {
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  });
  return Status::OK();
}

namespace {

http::request<http::string_body> Build(const std::string& method, const std::string& target,
                                       const std::string& body, const std::string& token) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "reins");
  req.set(http::field::user_agent, "reins-cli");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();
  return req;
}

HttpResult ToResult(const http::response<http::string_body>& res) {
  HttpResult r;
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  return r;
}

}  // namespace

Result<HttpResult> HttpClient::Request(const std::string& method, const std::string& target,
                                       const std::string& body, const std::string& token) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = !conn_;
    if (fresh) REINS_RETURN_IF_ERROR(Connect());
    auto req = Build(method, target, body, token);
    error_code ec;
    http::response<http::string_body> res;
    conn_->With([&](auto& s) {
      http::write(s, req, ec);
      if (!ec) http::read(s, conn_->buffer, res, ec);
    });
    if (!ec) {
      if (!res.keep_alive()) conn_.reset();
      return ToResult(res);
    }
    conn_.reset();
    // A kept-alive connection the server closed: retry once on a new one.
    if (fresh) return Status::IOError("request to " + address_ + " failed: " + ec.message());
  }
  return Status::IOError("request to " + address_ + " failed");
}

Result<HttpResult> HttpClient::OpenStream(const std::string& target, const std::string& token) {
  conn_.reset();
  REINS_RETURN_IF_ERROR(Connect());
  auto req = Build("GET", target, "", token);
  req.set(http::field::accept, "text/event-stream");
  conn_->stream = std::make_unique<http::response_parser<http::string_body>>();
  conn_->stream->body_limit(boost::none);
  error_code ec;
  conn_->With([&](auto& s) {
    http::write(s, req, ec);
    if (!ec) http::read_header(s, conn_->buffer, *conn_->stream, ec);
  });
  if (ec) return Status::IOError("stream from " + address_ + " failed: " + ec.message());
  return ToResult(conn_->stream->get());
}

Result<std::string> HttpClient::ReadStream() {
  if (!conn_ || !conn_->stream) return Status::FailedPrecondition("no stream is open");
  auto& parser = *conn_->stream;
  while (!parser.is_done()) {
    error_code ec;
    conn_->With([&](auto& s) { http::read_some(s, conn_->buffer, parser, ec); });
    std::string& body = parser.get().body();
    if (!body.empty()) {
      std::string out = std::move(body);
      body.clear();
      return out;
    }
    if (ec == http::error::need_buffer) continue;
    if (ec) return Status::IOError("stream from " + address_ + " ended: " + ec.message());
  }
  return std::string();
}

Result<std::string> HttpClient::Raw(const std::string& bytes) {
  conn_.reset();
  REINS_RETURN_IF_ERROR(Connect());
  std::string out;
  error_code ec;
  conn_->With([&](auto& s) {
    asio::write(s, asio::buffer(bytes), ec);
    char buf[4096];
    while (!ec) {
      size_t n = s.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
    }
  });
  conn_.reset();
  return out;
}

}  // namespace reins
