#include "tests/support/fake_upstream.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/support/fake_upstream_answers.h"

namespace reins::testing {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using fake::Answer;
using fake::JsonReply;
using fake::Reply;
using nlohmann::json;

namespace {

[[noreturn]] void Fail(const std::string& what) {
  throw std::runtime_error("fake upstream: " + what);
}

// A self-signed server certificate and its key, both PEM.
std::pair<std::string, std::string> MakeCertificate() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  if (!key || !x) Fail("cannot make a key and certificate");
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  // A positive, non-zero serial: strict verifiers (Python 3.13) refuse others.
  serial = (serial >> 2) | 1;
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 23 * 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  // An end-entity certificate (CA:FALSE, no keyUsage): OpenSSL takes a
  // self-signed leaf in its trust store as the anchor, and webpki (rustls)
  // refuses a CA certificate used as a server's.
  const std::pair<int, const char*> extensions[] = {
      {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"}};
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext || !X509_add_ext(x.get(), ext, -1)) Fail(std::string("cannot add ") + value);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(x.get(), key.get(), EVP_sha256())) Fail("cannot sign the certificate");
  auto pem = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (!bio || !write(bio.get())) Fail("cannot write PEM");
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, size);
  };
  return {pem([&](BIO* b) { return PEM_write_bio_X509(b, x.get()); }), pem([&](BIO* b) {
            return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
          })};
}

}  // namespace

struct FakeUpstream::Impl {
  // Sockets need an io_context, but nobody runs it: every call blocks, on the
  // acceptor's thread or its connection's own.
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<ssl::context> tls;
  int port = 0;
  std::string ca_file;

  mutable std::mutex mu;
  mutable std::condition_variable cv;  // stopping, streams_cut
  bool stopping = false;
  Script script;
  std::vector<Seen> requests;
  uint64_t answered = 0;
  int streams_cut = 0;
  // Connections still open: their descriptors, shut down to stop them.
  std::map<uint64_t, int> fds;
  std::map<uint64_t, std::thread> threads;
  std::vector<uint64_t> finished;  // threads that returned, to join
  std::thread acceptor_thread;

  void AcceptLoop();
  void Serve(uint64_t id, tcp::socket socket);
  template <class Stream>
  void Converse(Stream& stream, int fd);
  template <class Stream>
  bool WriteStream(Stream& stream, int fd, const http::request<http::string_body>& req,
                   const Reply& reply, std::chrono::milliseconds delay);
  bool Cut() {
    std::lock_guard lock(mu);
    ++streams_cut;
    cv.notify_all();
    return false;
  }
};

void FakeUpstream::Impl::AcceptLoop() {
  for (uint64_t next = 1;; ++next) {
    tcp::socket socket(ioc);
    beast::error_code ec;
    acceptor.accept(socket, ec);
    std::unique_lock lock(mu);
    for (uint64_t id : finished) {
      threads[id].join();
      threads.erase(id);
    }
    finished.clear();
    if (stopping) return;
    if (ec) {  // out of descriptors, say: wait for connections to end
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    fds[next] = socket.native_handle();
    threads[next] =
        std::thread([this, next, s = std::move(socket)]() mutable { Serve(next, std::move(s)); });
  }
}

void FakeUpstream::Impl::Serve(uint64_t id, tcp::socket socket) {
  beast::error_code ec;
  // Events are small writes; Nagle would hold each until the last is acked.
  socket.set_option(tcp::no_delay(true), ec);
  int fd = socket.native_handle();
  if (tls) {
    beast::ssl_stream<tcp::socket&> stream(socket, *tls);
    stream.handshake(ssl::stream_base::server, ec);
    if (!ec) Converse(stream, fd);
  } else {
    Converse(socket, fd);
  }
  // Forgotten before it closes: the descriptor's number may be reused at once.
  std::lock_guard lock(mu);
  fds.erase(id);
  socket.close(ec);
  finished.push_back(id);
}

template <class Stream>
void FakeUpstream::Impl::Converse(Stream& stream, int fd) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(1 << 20);
    parser.body_limit(uint64_t{1} << 30);
    beast::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec) {
      // A malformed request gets a 400 naming its fault, as a real server
      // sends; a client that left (end of stream, a reset) gets nothing.
      if (ec != http::error::end_of_stream &&
          ec.category() == http::make_error_code(http::error::bad_target).category()) {
        http::response<http::string_body> res{http::status::bad_request, 11};
        res.set(http::field::content_type, "application/json");
        res.keep_alive(false);
        res.body() =
            json{{"error", {{"message", "fake upstream: malformed request: " + ec.message()}}}}
                .dump();
        res.prepare_payload();
        http::write(stream, res, ec);
      }
      return;
    }
    http::request<http::string_body> req = parser.release();
    Seen seen{std::string(req.method_string()), std::string(req.target()), {}, req.body()};
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string& value = seen.headers[name];
      value += (value.empty() ? "" : ", ") + std::string(field.value());
    }
    Script now;
    uint64_t number = 0;
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      requests.push_back(seen);
      now = script;
      number = ++answered;
    }
    Reply reply;
    try {
      reply = Answer(seen, now, number);
    } catch (const std::exception& e) {  // a script JSON cannot carry, say
      reply = JsonReply({{"error", {{"message", std::string("fake upstream: ") + e.what()}}}}, 500);
    }
    if (reply.streamed) {
      if (!WriteStream(stream, fd, req, reply, now.chunk_delay)) return;
    } else {
      http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
      res.set(http::field::content_type, reply.content_type);
      res.keep_alive(req.keep_alive());
      res.body() = std::move(reply.body);
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec) return;
    }
    if (!req.keep_alive()) return;
  }
}

// Writes the events as chunks, one write each; false when the connection
// cannot go on (the client left, the server stops).
template <class Stream>
bool FakeUpstream::Impl::WriteStream(Stream& stream, int fd,
                                     const http::request<http::string_body>& req,
                                     const Reply& reply, std::chrono::milliseconds delay) {
  http::response<http::empty_body> res{static_cast<http::status>(reply.status), req.version()};
  res.set(http::field::content_type, reply.content_type);
  res.set(http::field::cache_control, "no-cache");
  res.keep_alive(req.keep_alive());
  res.chunked(true);
  http::response_serializer<http::empty_body> serializer{res};
  beast::error_code ec;
  http::write_header(stream, serializer, ec);
  if (ec) return Cut();
  for (size_t i = 0; i < reply.events.size(); ++i) {
    if (i > 0 && delay.count() > 0) {
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, delay, [&] { return stopping; })) {
        lock.unlock();
        return Cut();
      }
    }
    // A write after the peer closed still succeeds once (the kernel takes
    // it; the peer's reset comes later), so look for its end of file first.
    char probe;
    ssize_t peek = ::recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peek == 0 || (peek < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return Cut();
    asio::write(stream, http::make_chunk(asio::buffer(reply.events[i])), ec);
    if (ec) return Cut();
  }
  asio::write(stream, http::make_chunk_last(), ec);
  return !ec;
}

FakeUpstream::FakeUpstream() : FakeUpstream(Options{}, Script{}) {}

FakeUpstream::FakeUpstream(Options options) : FakeUpstream(options, Script{}) {}

FakeUpstream::FakeUpstream(Options options, Script script) : impl_(std::make_unique<Impl>()) {
  impl_->script = std::move(script);
  if (options.tls) {
    auto [cert, key] = MakeCertificate();
    impl_->tls.emplace(ssl::context::tls_server);
    impl_->tls->use_certificate(asio::buffer(cert), ssl::context::pem);
    impl_->tls->use_private_key(asio::buffer(key), ssl::context::pem);
    std::string path = (std::filesystem::temp_directory_path() / "reins-fake-upstream-XXXXXX.pem");
    int fd = ::mkstemps(path.data(), 4);
    if (fd < 0) Fail("cannot create " + path);
    bool written = ::write(fd, cert.data(), cert.size()) == static_cast<ssize_t>(cert.size());
    ::close(fd);
    impl_->ca_file = path;
    if (!written) Fail("cannot write " + path);
  }
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->acceptor_thread = std::thread([this] { impl_->AcceptLoop(); });
}

FakeUpstream::~FakeUpstream() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    for (const auto& [id, fd] : impl_->fds) ::shutdown(fd, SHUT_RDWR);
    impl_->cv.notify_all();
  }
  // On Linux this wakes the accept() blocked on the listening socket.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->acceptor_thread.join();
  std::map<uint64_t, std::thread> threads;
  {
    std::lock_guard lock(impl_->mu);
    threads.swap(impl_->threads);
  }
  for (auto& [id, thread] : threads) thread.join();
  if (!impl_->ca_file.empty()) std::remove(impl_->ca_file.c_str());
}

std::string FakeUpstream::url() const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port);
}

int FakeUpstream::port() const { return impl_->port; }

const std::string& FakeUpstream::ca_file() const { return impl_->ca_file; }

void FakeUpstream::set_script(Script script) {
  std::lock_guard lock(impl_->mu);
  impl_->script = std::move(script);
}

FakeUpstream::Script FakeUpstream::script() const {
  std::lock_guard lock(impl_->mu);
  return impl_->script;
}

std::vector<FakeUpstream::Seen> FakeUpstream::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

void FakeUpstream::clear_requests() {
  std::lock_guard lock(impl_->mu);
  impl_->requests.clear();
}

int FakeUpstream::streams_cut() const {
  std::lock_guard lock(impl_->mu);
  return impl_->streams_cut;
}

bool FakeUpstream::WaitForStreamsCut(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->streams_cut >= n; });
}

}  // namespace reins::testing
