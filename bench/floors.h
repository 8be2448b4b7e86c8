// The floors under two of the benchmarks' figures: the least a server or a
// proxy built on this HTTP stack can do on the machine at hand. What reins
// adds beyond them is its own work; what they take themselves is the
// machine's and the stack's.
#pragma once

#include <memory>
#include <string>

namespace reins::bench {

// The HTTP layer of `reins serve` with nothing behind it (`http_load
// --floor`): the same HttpServer, with a handler that parses each request's
// body as JSON, as the API does, and answers what the load client expects,
// 201 with the session's id for POST /v1/sessions and a fixed allow for an
// event. No engine, no policies, no log.
class HttpFloor {
 public:
  // Listens on 127.0.0.1 (a free port) with `threads` I/O threads until
  // destroyed. Check ok() before use.
  explicit HttpFloor(int threads);
  ~HttpFloor();
  HttpFloor(const HttpFloor&) = delete;
  HttpFloor& operator=(const HttpFloor&) = delete;

  bool ok() const;
  const std::string& error() const;  // why it does not listen, when !ok()
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The least an HTTP proxy on this stack can do (`proxy_latency --floor`):
// one I/O thread, as the LLM proxy runs by default, and a coroutine per
// client connection that reads each request whole with Beast, writes it to
// the upstream over a keep-alive connection of its own, reads the answer
// whole and writes it back. No JSON, no policies, no log.
class BareRelay {
 public:
  // Listens on 127.0.0.1 (a free port) and relays to 127.0.0.1:upstream_port
  // until destroyed.
  explicit BareRelay(int upstream_port);
  ~BareRelay();
  BareRelay(const BareRelay&) = delete;
  BareRelay& operator=(const BareRelay&) = delete;

  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reins::bench
