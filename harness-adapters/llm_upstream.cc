#include "harness-adapters/llm_upstream.h"

#include <openssl/ssl.h>

namespace reins {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using boost::system::error_code;

Result<UpstreamUrl> UpstreamUrl::Parse(const std::string& name, const std::string& url) {
  UpstreamUrl u;
  u.name = name;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return Status::InvalidArgument("upstream '" + name + "': '" + url +
                                   "' is not an http:// or https:// URL");
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.base_path = rest.substr(slash);
  while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
    u.port = u.tls ? "443" : "80";
  }
  if (u.host.empty() || u.port.empty() ||
      u.port.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("upstream '" + name + "': '" + url +
                                   "' has no valid host and port");
  }
  return u;
}

std::string UpstreamUrl::HostHeader() const {
  bool default_port = (tls && port == "443") || (!tls && port == "80");
  return default_port ? host : host + ":" + port;
}

Result<std::unique_ptr<UpstreamPool>> UpstreamPool::Create(const std::string& ca_file) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  error_code ec;
  ctx.set_default_verify_paths(ec);
  if (ec) return Status::IOError("loading the system's certificate store: " + ec.message());
  if (!ca_file.empty()) {
    ctx.load_verify_file(ca_file, ec);
    if (ec) return Status::InvalidArgument("--ca-file " + ca_file + ": " + ec.message());
  }
  ctx.set_verify_mode(asio::ssl::verify_peer);
  return std::unique_ptr<UpstreamPool>(new UpstreamPool(std::move(ctx)));
}

namespace {

std::string PoolKey(const UpstreamUrl& up) {
  return up.host + ":" + up.port + (up.tls ? ":tls" : "");
}

}  // namespace

asio::awaitable<Result<std::unique_ptr<UpstreamConn>>> UpstreamPool::Get(
    const UpstreamUrl& up, std::chrono::steady_clock::duration timeout) {
  std::string key = PoolKey(up);
  {
    std::lock_guard lock(mu_);
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
      if (it->first != key) continue;
      auto conn = std::move(it->second);
      idle_.erase(std::next(it).base());
      co_return conn;
    }
  }
  auto ex = co_await asio::this_coro::executor;
  auto conn = std::make_unique<UpstreamConn>();
  tcp::resolver resolver(ex);
  error_code ec;
  auto endpoints = co_await resolver.async_resolve(up.host, up.port,
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Status::IOError("resolving " + up.host + ": " + ec.message());
  std::string where = (up.tls ? "https://" : "http://") + up.HostHeader();
  if (up.tls) {
    conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, ctx_);
  } else {
    conn->plain = std::make_unique<beast::tcp_stream>(ex);
  }
  conn->tcp().expires_after(timeout);
  co_await conn->tcp().async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Status::IOError("connecting to " + where + ": " + ec.message());
  conn->tcp().socket().set_option(tcp::no_delay(true), ec);
  if (up.tls) {
    // SNI, and the certificate must name the host we dialled.
    if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), up.host.c_str())) {
      co_return Status::IOError("TLS to " + where + ": cannot set the server name");
    }
    conn->tls->set_verify_callback(asio::ssl::host_name_verification(up.host));
    co_await conn->tls->async_handshake(asio::ssl::stream_base::client,
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Status::IOError("TLS handshake with " + where + ": " + ec.message());
  }
  conn->tcp().expires_never();
  co_return conn;
}

void UpstreamPool::Put(const UpstreamUrl& up, std::unique_ptr<UpstreamConn> conn) {
  std::lock_guard lock(mu_);
  if (idle_.size() >= 256) idle_.erase(idle_.begin());  // the oldest goes
  idle_.emplace_back(PoolKey(up), std::move(conn));
}

}  // namespace reins
