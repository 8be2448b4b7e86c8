#include "harness-adapters/llm_proxy.h"

#include "harness-adapters/llm_proxy_internal.h"

// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "harness-adapters/llm_api.h"
#include "harness-adapters/llm_upstream.h"
#include "harness-adapters/on_pool.h"

namespace reins {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using proxy_internal::HeaderValue;
using proxy_internal::Request;

std::map<std::string, std::string> DefaultUpstreams() {
  return {{"anthropic", "https://api.anthropic.com"},
          {"openai", "https://api.openai.com"},
          {"gemini", "https://generativelanguage.googleapis.com"}};
}

namespace proxy_internal {

// Headers that describe one hop, not the message: never forwarded as they
// came (RFC 9110 section 7.6.1), plus the proxy's own.
bool HopByHop(beast::string_view name) {
  static const std::set<std::string, std::less<>> kHop = {
      "connection", "keep-alive",      "proxy-connection",   "te",
      "trailer",    "upgrade",         "transfer-encoding",  "content-length",
      "host",       "x-reins-session", "proxy-authorization"};
  std::string lower(name.data(), name.size());
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return kHop.count(lower) > 0;
}

std::string HeaderValue(const Request& req, std::string_view name) {
  auto it = req.find(beast::string_view(name.data(), name.size()));
  return it == req.end() ? std::string() : std::string(it->value());
}

}  // namespace proxy_internal

namespace {

// The provider a request goes to: its API says so, or for paths the proxy
// does not govern, the credentials it carries.
std::string ProviderOf(llm::Api api, std::string_view path, const Request& req) {
  switch (api) {
    case llm::Api::kAnthropicMessages:
    case llm::Api::kAnthropicCountTokens:
      return "anthropic";
    case llm::Api::kOpenAiChat:
    case llm::Api::kOpenAiResponses:
      return "openai";
    case llm::Api::kGemini:
      return "gemini";
    case llm::Api::kOther:
      break;
  }
  if (!HeaderValue(req, "x-api-key").empty() || !HeaderValue(req, "anthropic-version").empty()) {
    return "anthropic";
  }
  if (!HeaderValue(req, "x-goog-api-key").empty() || path.rfind("/v1beta/", 0) == 0) {
    return "gemini";
  }
  return "openai";
}

// Whoever the key belongs to, the log names it only by a hash.
std::string KeyOf(const Request& req) {
  for (const char* h : {"x-api-key", "x-goog-api-key", "authorization"}) {
    std::string v = HeaderValue(req, h);
    if (!v.empty()) return Sha256Hex(v).substr(0, 12);
  }
  return "anonymous";
}

// Splits the /s/SESSION prefix off a path.
std::string TakeSessionPrefix(std::string* path) {
  if (path->rfind("/s/", 0) != 0) return "";
  size_t end = path->find('/', 3);
  std::string session = path->substr(3, end == std::string::npos ? std::string::npos : end - 3);
  *path = end == std::string::npos ? "/" : path->substr(end);
  return session;
}

}  // namespace

Result<std::unique_ptr<LlmProxy>> LlmProxy::Start(ProxyOptions options, DecisionClient* client,
                                                  Clock* clock) {
  auto impl = std::make_unique<Impl>();
  for (const auto& [name, url] : options.upstreams) {
    if (name != "anthropic" && name != "openai" && name != "gemini") {
      return Status::InvalidArgument("upstream '" + name +
                                     "': unknown provider (known: anthropic, openai, gemini)");
    }
    auto u = UpstreamUrl::Parse(name, url);
    if (!u.ok()) return u.status();
    impl->upstreams[name] = *u;
  }
  auto pool = UpstreamPool::Create(options.ca_file);
  if (!pool.ok()) return pool.status();
  impl->pool = std::move(pool).value();
  if (options.classifier) {
    auto classifier = LlmClassifier::Create(*options.classifier, impl->pool.get());
    if (!classifier.ok()) return classifier.status();
    impl->classifier = std::move(classifier).value();
  }
  if (!options.log) {
    options.log = [](const std::string& line) {
      std::string stamp = FormatRfc3339(SystemClock().Now()).substr(0, 19) + "Z";
      fprintf(stderr, "%s reins proxy: %s\n", stamp.c_str(), line.c_str());
      fflush(stderr);
    };
  }
  impl->decider = client;
  impl->clock = clock;
  size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("--listen '" + options.listen + "': expected HOST:PORT");
  }
  error_code ec;
  auto address = asio::ip::make_address(options.listen.substr(0, colon), ec);
  int port = std::atoi(options.listen.substr(colon + 1).c_str());
  if (ec) return Status::InvalidArgument("--listen '" + options.listen + "': " + ec.message());
  tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("listening on " + options.listen + ": " + ec.message());
  impl->local = impl->acceptor.local_endpoint();
  impl->workers = std::make_unique<asio::thread_pool>(std::max(1, options.workers));
  for (size_t i = 0; i < Impl::kLanes; ++i) {
    impl->lanes.push_back(asio::make_strand(impl->workers->get_executor()));
  }
  impl->options = std::move(options);
  Impl* raw = impl.get();
  asio::co_spawn(raw->io, raw->Accept(), asio::detached);
  for (int i = 0; i < std::max(1, raw->options.threads); ++i) {
    raw->threads.emplace_back([raw] { raw->io.run(); });
  }
  return std::unique_ptr<LlmProxy>(new LlmProxy(std::move(impl)));
}

LlmProxy::LlmProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LlmProxy::~LlmProxy() { Stop(); }

std::string LlmProxy::url() const {
  const tcp::endpoint& ep = impl_->local;
  return "http://" + ep.address().to_string() + ":" + std::to_string(ep.port());
}

int LlmProxy::port() const { return impl_->local.port(); }

bool LlmProxy::WaitRecorded(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->recording_mu);
  return impl_->recording_cv.wait_for(lock, timeout, [&] { return impl_->recording == 0; });
}

void LlmProxy::Stop(std::chrono::milliseconds grace) {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    error_code ignored;
    impl->acceptor.close(ignored);
  });
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl_->in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->workers->join();
}

asio::awaitable<void> LlmProxy::Impl::Accept() {
  while (!stopped) {
    tcp::socket socket(asio::make_strand(io));
    error_code ec;
    co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    socket.set_option(tcp::no_delay(true), ec);
    auto ex = socket.get_executor();
    asio::co_spawn(ex, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> LlmProxy::Impl::Serve(tcp::socket socket) {
  beast::tcp_stream client(std::move(socket));
  beast::flat_buffer buffer;
  while (true) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    client.expires_after(std::chrono::minutes(5));  // idle keep-alive
    error_code ec;
    co_await http::async_read(client, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::body_limit) {
      llm::ErrorReply e = llm::ProviderError(llm::Api::kOther, 413,
                                             "reins proxy: the request body is larger than " +
                                                 std::to_string(options.max_body_bytes) + " bytes");
      co_await Reply(client, false, e);
      break;
    }
    if (ec) break;
    client.expires_never();
    ++in_flight;
    bool keep = co_await Handle(client, parser.release());
    --in_flight;
    if (!keep || stopped) break;
  }
  error_code ignored;
  client.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<bool> LlmProxy::Impl::Reply(beast::tcp_stream& client, bool keep_alive,
                                            llm::ErrorReply e) {
  http::response<http::string_body> res(static_cast<http::status>(e.status), 11);
  res.set(http::field::content_type, e.content_type);
  res.keep_alive(keep_alive);
  res.body() = e.body;
  res.prepare_payload();
  error_code ec;
  client.expires_after(std::chrono::seconds(30));
  co_await http::async_write(client, res, asio::redirect_error(asio::use_awaitable, ec));
  client.expires_never();
  co_return !ec && keep_alive;
}

asio::awaitable<bool> LlmProxy::Impl::Handle(beast::tcp_stream& client, Request req) {
  std::string target(req.target());
  size_t q = target.find('?');
  std::string path = target.substr(0, q);
  std::string query = q == std::string::npos ? "" : target.substr(q);
  std::string session = TakeSessionPrefix(&path);
  if (session.empty()) session = HeaderValue(req, "x-reins-session");
  llm::Api api = llm::Classify(std::string(req.method_string()), path);
  std::string provider = ProviderOf(api, path, req);
  auto up = upstreams.find(provider);
  if (up == upstreams.end()) {
    co_return co_await Reply(
        client, req.keep_alive(),
        llm::ProviderError(api, 502, "reins proxy: no upstream configured for " + provider));
  }
  if (api == llm::Api::kOther) {
    auto relay = co_await Forward(client, std::move(req), up->second, path + query, api, false,
                                  false, nullptr);
    if (!relay.error.ok() && relay.status == 0) {
      co_return co_await Reply(
          client, true, llm::ProviderError(api, 502, "reins proxy: " + relay.error.message()));
    }
    co_return relay.keep_alive;
  }
  co_return co_await Govern(client, std::move(req), api, path, query, session, up->second);
}

asio::awaitable<Result<std::string>> LlmProxy::Impl::EnsureSession(std::string session,
                                                                   const Request& req) {
  if (session.empty()) {
    std::string day = FormatRfc3339(clock->Now()).substr(0, 10);
    session = "proxy-" + KeyOf(req) + "-" + day;
  }
  {
    std::lock_guard lock(sessions_mu);
    if (started.count(session)) co_return session;
  }
  Json start = {{"type", "session_start"}, {"session", session}, {"harness", "proxy"}};
  if (!options.user.empty()) start["user"] = options.user;
  auto st = co_await OnExecutor(LaneOf(session), [&] { return decider->StartSession(start); });
  if (!st.ok()) co_return st.status();
  std::lock_guard lock(sessions_mu);
  started.insert(session);
  co_return session;
}

}  // namespace reins
