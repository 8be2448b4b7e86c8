#include "server/http_server.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <condition_variable>
#include <filesystem>
#include <list>
#include <mutex>
#include <optional>
#include <set>

#include "engine/canonical_json.h"

namespace reins {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using unix_protocol = asio::local::stream_protocol;
using boost::system::error_code;

namespace {

constexpr auto kWriteTimeout = std::chrono::seconds(30);

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // A reference that keeps the connection alive; null once it is closing.
  virtual std::shared_ptr<ConnectionBase> Pin() = 0;
  // Closes the connection if it is between requests (shutdown).
  virtual void CancelIfIdle() = 0;
  // Closes the connection if it is still waiting for, or reading, a request
  // (it gives way to a new connection at max_connections).
  virtual void CancelIfReading() = 0;

  // Its place in Shared::reading; guarded by Shared::mu.
  std::list<ConnectionBase*>::iterator reading_pos;
  bool in_reading = false;
};

}  // namespace

struct HttpServer::Shared {
  HttpOptions options;
  HttpHandler handler;
  Metrics* metrics;
  const std::atomic<bool>* stopping;
  std::mutex mu;
  std::condition_variable all_closed;
  std::set<ConnectionBase*> connections;
  // The connections waiting for a request or still reading one, longest
  // waiting first. At max_connections the first of them is closed to admit a
  // newcomer: idle and slow-loris connections cannot lock out clients that
  // send a request at once, while a request being handled is never cut off.
  std::list<ConnectionBase*> reading;
  std::vector<std::shared_ptr<tcp::acceptor>> tcp_acceptors;
  std::vector<std::shared_ptr<unix_protocol::acceptor>> unix_acceptors;

  // Admits `c` if there is room or a reading connection to close for it.
  bool Admit(ConnectionBase* c) {
    std::shared_ptr<ConnectionBase> evicted;
    {
      std::lock_guard lock(mu);
      if (connections.size() >= options.max_connections) {
        if (reading.empty()) return false;
        ConnectionBase* oldest = reading.front();
        reading.pop_front();
        oldest->in_reading = false;
        evicted = oldest->Pin();
        if (metrics) metrics->connections_evicted().fetch_add(1);
      }
      connections.insert(c);
      if (metrics) metrics->connections().fetch_add(1);
    }
    // Outside the lock: the last reference may go here, and the destructor
    // takes the lock.
    if (evicted) evicted->CancelIfReading();
    return true;
  }
  void Remove(ConnectionBase* c) {
    std::lock_guard lock(mu);
    SetReadingLocked(c, false);
    if (connections.erase(c) && metrics) metrics->connections().fetch_sub(1);
    if (connections.empty()) all_closed.notify_all();
  }
  void SetReading(ConnectionBase* c, bool reading_now) {
    std::lock_guard lock(mu);
    SetReadingLocked(c, reading_now);
  }
  void SetReadingLocked(ConnectionBase* c, bool reading_now) {
    if (c->in_reading == reading_now) return;
    if (reading_now) {
      c->reading_pos = reading.insert(reading.end(), c);
    } else {
      reading.erase(c->reading_pos);
    }
    c->in_reading = reading_now;
  }
};

namespace {

template <typename Protocol>
class Connection : public ConnectionBase,
                   public HttpExchange,
                   public std::enable_shared_from_this<Connection<Protocol>> {
 public:
  using Stream = beast::basic_stream<Protocol, asio::any_io_executor, beast::unlimited_rate_policy>;

  Connection(std::shared_ptr<HttpServer::Shared> shared, typename Protocol::socket socket)
      : shared_(std::move(shared)), stream_(std::move(socket)) {}
  ~Connection() override {
    if (admitted_) shared_->Remove(this);
  }

  asio::any_io_executor executor() { return stream_.get_executor(); }

  std::shared_ptr<ConnectionBase> Pin() override { return this->weak_from_this().lock(); }

  void CancelIfIdle() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->idle_) self->stream_.cancel();
    });
  }

  void CancelIfReading() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->reading_) self->stream_.cancel();
    });
  }

  asio::awaitable<bool> BeginStream(int status, std::string content_type) override {
    http::response<http::empty_body> head{static_cast<http::status>(status), 11};
    head.set(http::field::server, "reins");
    head.set(http::field::content_type, content_type);
    head.set(http::field::cache_control, "no-cache");
    head.chunked(true);
    http::response_serializer<http::empty_body> sr{head};
    error_code ec;
    stream_.expires_after(kWriteTimeout);
    co_await http::async_write_header(stream_, sr, asio::redirect_error(asio::use_awaitable, ec));
    streamed_ = true;
    status_ = status;
    co_return !ec;
  }

  asio::awaitable<bool> Write(std::string data) override {
    error_code ec;
    stream_.expires_after(kWriteTimeout);
    co_await asio::async_write(stream_, http::make_chunk(asio::buffer(data)),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  bool stopping() const override { return shared_->stopping->load(); }

  // `self` owns the connection: a coroutine parameter lives in its frame, and
  // the frame may start after the caller's pointer is gone.
  static asio::awaitable<void> Run(std::shared_ptr<Connection> self) { co_await self->Serve(); }

 private:
  asio::awaitable<void> Serve() {
    const HttpOptions& opt = shared_->options;
    admitted_ = shared_->Admit(this);
    if (!admitted_) {
      co_await WriteResponse(Refuse(503, "busy", "too many connections; try again later"), false);
      stream_.close();
      co_return;
    }
    bool first = true;
    while (true) {
      error_code ec;
      idle_ = true;
      if (stopping()) break;
      reading_ = true;
      shared_->SetReading(this, true);
      if (buffer_.size() == 0) {
        stream_.expires_after(first ? opt.header_timeout : opt.idle_timeout);
        size_t n = co_await stream_.async_read_some(buffer_.prepare(4096),
                                                    asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        buffer_.commit(n);
      }
      idle_ = false;
      first = false;
      auto started = std::chrono::steady_clock::now();
      HttpResponse response;
      bool keep_alive = false;
      auto request = co_await ReadRequest(&response);
      reading_ = false;
      shared_->SetReading(this, false);
      if (request) {
        keep_alive = request->keep_alive;
        stream_.expires_never();  // handlers may hold a request (long polls)
        try {
          response = co_await shared_->handler(request->request, *this);
        } catch (const std::exception& e) {
          response = {500,
                      "application/json",
                      R"({"error":{"code":"internal","message":"unexpected error: )" +
                          std::string(e.what()) + "\"}}\n",
                      {}};
        }
      }
      if (shared_->metrics) {
        shared_->metrics->http().Observe(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::steady_clock::now() - started)
                                             .count());
      }
      if (streamed_) {
        if (shared_->metrics) shared_->metrics->HttpResponse(status_);
        stream_.expires_after(kWriteTimeout);
        co_await asio::async_write(stream_, http::make_chunk_last(),
                                   asio::redirect_error(asio::use_awaitable, ec));
        break;
      }
      if (response.status == 0) break;  // the client is gone or timed out
      if (shared_->metrics) shared_->metrics->HttpResponse(response.status);
      keep_alive = keep_alive && !stopping();
      if (!co_await WriteResponse(std::move(response), keep_alive) || !keep_alive) break;
    }
    error_code ignored;
    stream_.socket().shutdown(Protocol::socket::shutdown_both, ignored);
    stream_.close();
  }

  struct Parsed {
    HttpRequest request;
    bool keep_alive = false;
  };

  static HttpResponse Refuse(int status, const std::string& code, const std::string& message) {
    return {status,
            "application/json",
            Json{{"error", {{"code", code}, {"message", message}}}}.dump() + "\n",
            {}};
  }

  // Reads one request. On failure sets *response to the error to send
  // (status 0: send nothing) and returns nullopt.
  asio::awaitable<std::optional<Parsed>> ReadRequest(HttpResponse* response) {
    const HttpOptions& opt = shared_->options;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(opt.max_header_bytes));
    parser.body_limit(opt.max_body_bytes);
    error_code ec;
    stream_.expires_after(opt.header_timeout);
    co_await http::async_read_header(stream_, buffer_, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::header_limit) {
      *response =
          Refuse(431, "headers_too_large",
                 "request headers exceed " + std::to_string(opt.max_header_bytes) + " bytes");
      co_return std::nullopt;
    }
    if (ec == http::error::body_limit) {  // Content-Length alone exceeds the limit
      *response =
          Refuse(413, "body_too_large",
                 "request body of " + std::string(parser.get()[http::field::content_length]) +
                     " bytes exceeds the limit of " + std::to_string(opt.max_body_bytes));
      co_return std::nullopt;
    }
    if (ec) {
      bool timed_out = ec == beast::error::timeout || ec == http::error::end_of_stream ||
                       ec == asio::error::eof || ec == asio::error::operation_aborted;
      *response = timed_out ? HttpResponse{0, "", "", {}}
                            : Refuse(400, "bad_request", "malformed HTTP request: " + ec.message());
      co_return std::nullopt;
    }
    auto length = parser.content_length();
    if (length && *length > opt.max_body_bytes) {
      *response = Refuse(413, "body_too_large",
                         "request body of " + std::to_string(*length) +
                             " bytes exceeds the limit of " + std::to_string(opt.max_body_bytes));
      co_return std::nullopt;
    }
    if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await asio::async_write(stream_, asio::buffer(kContinue),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        *response = {0, "", "", {}};
        co_return std::nullopt;
      }
    }
    co_await http::async_read(stream_, buffer_, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::body_limit) {
      *response = Refuse(
          413, "body_too_large",
          "request body exceeds the limit of " + std::to_string(opt.max_body_bytes) + " bytes");
      co_return std::nullopt;
    }
    if (ec) {
      *response = ec == beast::error::timeout
                      ? HttpResponse{0, "", "", {}}
                      : Refuse(400, "bad_request", "malformed HTTP request: " + ec.message());
      co_return std::nullopt;
    }
    auto msg = parser.release();
    Parsed out;
    out.keep_alive = msg.keep_alive();
    HttpRequest& r = out.request;
    r.method = std::string(msg.method_string());
    r.target = std::string(msg.target());
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers.emplace(std::move(name), std::string(field.value()));
    }
    r.body = std::move(msg.body());
    if (!ParseTarget(&r)) {
      *response = Refuse(400, "bad_request", "malformed percent-encoding in '" + r.target + "'");
      co_return std::nullopt;
    }
    co_return out;
  }

  static bool ParseTarget(HttpRequest* r) {
    std::string_view t = r->target;
    size_t q = t.find('?');
    std::string_view path = t.substr(0, q);
    size_t pos = 0;
    while (pos < path.size()) {
      size_t slash = path.find('/', pos);
      if (slash == std::string_view::npos) slash = path.size();
      if (slash > pos) {
        std::string seg;
        if (!PercentDecode(path.substr(pos, slash - pos), &seg)) return false;
        r->segments.push_back(std::move(seg));
      }
      pos = slash + 1;
    }
    if (q == std::string_view::npos) return true;
    std::string_view query = t.substr(q + 1);
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      std::string key, value, raw_value(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
      for (char& c : raw_value) c = c == '+' ? ' ' : c;
      if (!PercentDecode(pair.substr(0, eq), &key) || !PercentDecode(raw_value, &value)) {
        return false;
      }
      r->query.emplace(std::move(key), std::move(value));
    }
    return true;
  }

  asio::awaitable<bool> WriteResponse(HttpResponse response, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(response.status), 11};
    res.set(http::field::server, "reins");
    res.set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) res.set(name, value);
    res.keep_alive(keep_alive);
    res.body() = std::move(response.body);
    res.prepare_payload();
    error_code ec;
    stream_.expires_after(kWriteTimeout);
    co_await http::async_write(stream_, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  std::shared_ptr<HttpServer::Shared> shared_;
  Stream stream_;
  beast::flat_buffer buffer_;
  bool admitted_ = false;
  bool idle_ = true;
  bool reading_ = false;  // waiting for or reading a request, not handling one
  bool streamed_ = false;
  int status_ = 0;
};

template <typename Protocol>
asio::awaitable<void> Accept(std::shared_ptr<HttpServer::Shared> shared,
                             std::shared_ptr<typename Protocol::acceptor> acceptor,
                             asio::io_context& io) {
  while (true) {
    error_code ec;
    typename Protocol::socket socket(asio::make_strand(io));
    co_await acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
    if (ec) {
      // Out of descriptors or a connection reset before accept: try again shortly.
      asio::steady_timer pause(io, std::chrono::milliseconds(10));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto conn = std::make_shared<Connection<Protocol>>(shared, std::move(socket));
    asio::co_spawn(conn->executor(), Connection<Protocol>::Run(conn), asio::detached);
  }
}

}  // namespace

std::string HttpRequest::Query(const std::string& key, const std::string& fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

std::string HttpRequest::Header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? "" : it->second;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      *out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

HttpServer::HttpServer(HttpOptions options, HttpHandler handler, Metrics* metrics)
    : shared_(std::make_shared<Shared>()) {
  shared_->options = options;
  shared_->handler = std::move(handler);
  shared_->metrics = metrics;
  shared_->stopping = &stopping_;
}

HttpServer::~HttpServer() { Shutdown(std::chrono::milliseconds(0)); }

Status HttpServer::ListenTcp(const std::string& host_port) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("listen address '" + host_port + "' must be HOST:PORT");
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  error_code ec;
  auto address = asio::ip::make_address(host, ec);
  int port = std::atoi(host_port.c_str() + colon + 1);
  if (ec || port < 0 || port > 65535) {
    return Status::InvalidArgument("listen address '" + host_port +
                                   "' must be an IP address and a port");
  }
  auto acceptor = std::make_shared<tcp::acceptor>(io_);
  tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("cannot listen on " + host_port + ": " + ec.message());
  tcp_port_ = acceptor->local_endpoint().port();
  shared_->tcp_acceptors.push_back(acceptor);
  return Status::OK();
}

Status HttpServer::ListenUnix(const std::string& path) {
  std::error_code fs_ec;
  if (std::filesystem::is_socket(path, fs_ec)) std::filesystem::remove(path, fs_ec);
  auto acceptor = std::make_shared<unix_protocol::acceptor>(io_);
  error_code ec;
  unix_protocol::endpoint endpoint(path);
  acceptor->open(endpoint.protocol(), ec);
  mode_t old = ::umask(0177);
  if (!ec) acceptor->bind(endpoint, ec);
  ::umask(old);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("cannot listen on " + path + ": " + ec.message());
  socket_path_ = path;
  shared_->unix_acceptors.push_back(acceptor);
  return Status::OK();
}

void HttpServer::Start(int threads) {
  for (auto& a : shared_->tcp_acceptors) {
    asio::co_spawn(io_, Accept<tcp>(shared_, a, io_), asio::detached);
  }
  for (auto& a : shared_->unix_acceptors) {
    asio::co_spawn(io_, Accept<unix_protocol>(shared_, a, io_), asio::detached);
  }
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { io_.run(); });
}

void RaiseDescriptorLimit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
}

void HttpServer::StopAccepting() {
  if (stopping_.exchange(true)) return;
  asio::post(io_, [shared = shared_] {
    error_code ignored;
    for (auto& a : shared->tcp_acceptors) a->close(ignored);
    for (auto& a : shared->unix_acceptors) a->close(ignored);
    // Pinned under the lock, cancelled and released outside it: the last
    // reference to a connection may go here, and its destructor takes the lock.
    std::vector<std::shared_ptr<ConnectionBase>> open;
    {
      std::lock_guard lock(shared->mu);
      for (ConnectionBase* c : shared->connections) {
        if (auto pinned = c->Pin()) open.push_back(std::move(pinned));
      }
    }
    for (auto& c : open) c->CancelIfIdle();
  });
}

void HttpServer::Shutdown(std::chrono::milliseconds grace) {
  StopAccepting();
  {
    std::unique_lock lock(shared_->mu);
    shared_->all_closed.wait_for(lock, grace, [&] { return shared_->connections.empty(); });
  }
  io_.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  if (!socket_path_.empty()) {
    ::unlink(socket_path_.c_str());
    socket_path_.clear();
  }
}

}  // namespace reins
