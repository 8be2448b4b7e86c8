// HttpServer: HTTP/1.1 with keep-alive over TCP and a Unix domain socket,
// on Boost.Beast with C++20 coroutines.
//
// Each connection is a coroutine on its own strand. Its first request must
// arrive within header_timeout of connecting; later ones within idle_timeout
// of the previous response, and once a request's first byte is in, its
// headers and body must follow within header_timeout. A body larger than
// max_body_bytes is refused with 413 before it is read (curl's "Expect:
// 100-continue" is honoured), a malformed request gets 400. At
// max_connections a new connection is admitted by closing the connection
// that has waited longest for (or been slowest to send) its request, so idle
// and slow-loris connections cannot lock clients out; only when every
// connection is busy with a request does a newcomer get 503. Handlers never
// see Beast types: they get an HttpRequest and return an HttpResponse, or
// stream (Server-Sent Events) through the HttpExchange.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/status.h"
#include "server/metrics.h"

namespace reins {

struct HttpRequest {
  std::string method;                             // "GET", "POST", ...
  std::string target;                             // as sent: path and query
  std::vector<std::string> segments;              // the path's segments, percent-decoded
  std::multimap<std::string, std::string> query;  // percent-decoded
  std::map<std::string, std::string> headers;     // names in lowercase
  std::string body;

  // The first value of query parameter `key`, or `fallback`.
  std::string Query(const std::string& key, const std::string& fallback = "") const;
  bool HasQuery(const std::string& key) const { return query.count(key) > 0; }
  std::string Header(const std::string& lowercase_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// What a handler can do with its connection besides returning a response.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  // Sends the status line and headers of a streamed (chunked) response; the
  // response the handler then returns is ignored and the connection closes
  // after the stream. False when the client is gone.
  virtual boost::asio::awaitable<bool> BeginStream(int status, std::string content_type) = 0;
  // Sends one chunk of a stream. False when the client is gone.
  virtual boost::asio::awaitable<bool> Write(std::string data) = 0;
  // True once the server is shutting down: long waits should end.
  virtual bool stopping() const = 0;
};

using HttpHandler =
    std::function<boost::asio::awaitable<HttpResponse>(HttpRequest& request, HttpExchange& ex)>;

struct HttpOptions {
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  size_t max_connections = 1024;
};

class HttpServer {
 public:
  // `metrics` (may be null) counts responses and connections.
  HttpServer(HttpOptions options, HttpHandler handler, Metrics* metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds "HOST:PORT" (port 0 picks a free one; see tcp_port()).
  Status ListenTcp(const std::string& host_port);
  // Binds a Unix domain socket at `path` (a stale socket file is replaced),
  // mode 0600: only the server's user can connect.
  Status ListenUnix(const std::string& path);
  int tcp_port() const { return tcp_port_; }

  // Starts accepting on `threads` I/O threads.
  void Start(int threads);
  // Stops accepting and closes idle connections; requests in flight finish
  // (handlers see stopping()).
  void StopAccepting();
  // StopAccepting(), then waits up to `grace` for every connection to close
  // and stops the I/O threads. Idempotent.
  void Shutdown(std::chrono::milliseconds grace);

  boost::asio::io_context& io() { return io_; }
  bool stopping() const { return stopping_.load(); }

  // Implementation details shared with the connection coroutines.
  struct Shared;

 private:
  boost::asio::io_context io_;
  std::shared_ptr<Shared> shared_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  int tcp_port_ = 0;
  std::string socket_path_;
};

// Raises this process's soft limit on open descriptors to its hard limit
// (the soft one is often 1024): every connection takes a descriptor, and a
// crowd of idle ones must not run a server out of them before
// max_connections sheds the oldest.
void RaiseDescriptorLimit();

// Percent-decodes a URL component ('+' stays '+'); false on a bad escape.
bool PercentDecode(std::string_view in, std::string* out);

}  // namespace reins
