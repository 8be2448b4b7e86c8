// Connections from the LLM proxy to a model provider: plain TCP or TLS
// (OpenSSL through Beast, the peer's certificate verified against the
// system store and an optional CA file, SNI and host name checked), kept
// alive and reused between requests.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/status.h"

namespace reins {

// "https://api.anthropic.com/prefix" split up.
struct UpstreamUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string base_path;  // "" or "/prefix" (no trailing slash)
  std::string name;       // the provider's name in ProxyOptions::upstreams

  // InvalidArgument naming the URL when it is not http(s)://HOST[:PORT][/PATH].
  static Result<UpstreamUrl> Parse(const std::string& name, const std::string& url);
  std::string HostHeader() const;
};

// One connection to an upstream; exactly one of the streams is set.
struct UpstreamConn {
  std::unique_ptr<boost::beast::tcp_stream> plain;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;
  boost::beast::flat_buffer buffer;

  boost::beast::tcp_stream& tcp() { return plain ? *plain : tls->next_layer(); }
};

// Idle connections per upstream, and the TLS context they share.
class UpstreamPool {
 public:
  // `ca_file`: PEM certificates trusted besides the system's ("" for none).
  static Result<std::unique_ptr<UpstreamPool>> Create(const std::string& ca_file);

  // An idle connection to `up`, or a new one (resolved, connected and, for
  // https, handshaken within `timeout`).
  boost::asio::awaitable<Result<std::unique_ptr<UpstreamConn>>> Get(
      const UpstreamUrl& up, std::chrono::steady_clock::duration timeout);
  // Returns a connection whose last exchange ended cleanly, for reuse.
  void Put(const UpstreamUrl& up, std::unique_ptr<UpstreamConn> conn);

 private:
  explicit UpstreamPool(boost::asio::ssl::context ctx) : ctx_(std::move(ctx)) {}
  boost::asio::ssl::context ctx_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::unique_ptr<UpstreamConn>>> idle_;  // key: host:port:tls
};

}  // namespace reins
