// The client side of bench/proxy_latency: timed calls to a model API over
// loopback, sent directly and through a proxy in alternating batches.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "engine/status.h"

namespace reins::bench {

using Steady = std::chrono::steady_clock;
using Request = boost::beast::http::request<boost::beast::http::string_body>;

int64_t NsSince(Steady::time_point start);

// What this process has used so far: CPU time, and context switches of its
// threads (each hand-off between threads that waits costs one).
struct Usage {
  double cpu_ns = 0, switches = 0;
  static Usage Now();
};

// One answer, timed from the moment its request starts to be written.
struct Timing {
  int64_t first_byte_ns = -1;  // the first byte of the body
  int64_t total_ns = 0;        // the last byte
};

// One keep-alive HTTP/1.1 connection to 127.0.0.1, used synchronously. It
// reads answers with read_some, so the first body byte is timed when it
// arrives, not when the whole answer is in.
class Connection {
 public:
  Connection(boost::asio::io_context& io, int port) : socket_(io), port_(port) {}

  // Sends `req` and reads the whole answer into `body`. Errors: the
  // connection failed, the status is not 200, or the server will close.
  Status Exchange(const Request& req, Timing* t, std::string* body);

 private:
  boost::asio::ip::tcp::socket socket_;
  int port_;
  boost::beast::flat_buffer buffer_;
};

// What Claude Code sends for a short question to session `session`, an API
// key included.
Request MessagesRequest(bool stream, const std::string& session);

// The timings of one kind of call, directly and through the proxy, and what
// the process used during each side's batches.
struct Samples {
  std::vector<Timing> direct, via;
  Usage direct_used, via_used;
};

// Sends `n` requests on each connection in alternating batches (ABBA, so
// neither side always goes first) and keeps the timings and usage when
// `keep`, pausing `gap` after each. Every answer must contain `expect`.
Status Alternate(Connection& direct, Connection& via, const Request& req, int n, int batch,
                 const std::string& expect, bool keep, Samples* out,
                 std::chrono::microseconds gap = {});

// The q-quantile (nearest rank) of one field of the timings, in microseconds.
double Quantile(const std::vector<Timing>& ts, int64_t Timing::*field, double q);

// `name value unit` lines, printed at the end.
using Figures = std::vector<std::tuple<std::string, double, const char*>>;

// Prints the p50 and p99 of one field of `s`, direct, through the proxy and
// their difference, and adds them to `figures` as NAME{direct,via,added}_p*.
void PrintPercentiles(const std::string& name, const Samples& s, int64_t Timing::*field,
                      Figures* figures);

}  // namespace reins::bench
