// The client side of bench/http_load: keep-alive connections that each own a
// session and post a coding agent's events to a reins server one at a time,
// checking every answer and timing it.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <array>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace reins::bench {

// Requests that complete while the phase is kMeasure make the figures; the
// warm-up lets connections open, sessions start and caches fill.
enum Phase : int { kWarmup, kMeasure, kStop };

// The verdicts a decision may carry, in the order of Conn::verdicts.
inline constexpr const char* kVerdicts[] = {"allow", "deny", "ask", "modify"};

// One connection: its session, the events it sends and what came back. Only
// its own driver touches it until the level ends.
struct Conn {
  std::string name;             // sessions are NAME-1, NAME-2, ...
  std::string session, target;  // target: /v1/sessions/ID/events
  int64_t sessions = 0, sent = 0, requests = 0, errors = 0;
  std::array<int64_t, 4> verdicts{};
  std::vector<int64_t> latencies_ns;  // of requests completed while measuring
  std::string first_error;

  // Names the connection's next session; returns the body of POST
  // /v1/sessions that starts it.
  std::string NextSession();
  // The next event of a coding agent's turn (see the .cc).
  std::string NextEvent();
  // Counts a request that failed (an error status, a bad answer, a broken
  // connection).
  void Fail(std::string why);
  // Checks the answer to an event (200 and a known verdict) and keeps its
  // latency when measuring.
  void Done(int status, const std::string& body, int64_t ns, bool measuring);
};

// What every connection of one level shares.
struct Level {
  int port = 0;
  std::string url, token;  // url: http://127.0.0.1:PORT; token: admin
  std::atomic<int> phase{kWarmup};
  // With an interval, each connection sends on a fixed schedule (an open
  // loop) and a request's latency counts from when it was due, so a slow
  // answer also delays, and is charged to, the ones behind it.
  std::chrono::nanoseconds interval{0};
  // With a count, a connection moves to a new session after that many
  // events, as agents' sessions come and go (a soak's steady state).
  int64_t session_events = 0;
  std::vector<Conn> conns;
};

// Drives `c` until the phase is kStop: as a Beast coroutine on the caller's
// io_context (closed or open loop), or on the calling thread with the
// blocking HttpClient (closed loop only). `level` and `c` must outlive the
// drive.
boost::asio::awaitable<void> DriveAsync(Level& level, Conn& c);
void DriveBlocking(Level& level, Conn& c);

}  // namespace reins::bench
