// LlmProxy's parts, shared by llm_proxy.cc (listening, sessions) and
// llm_proxy_relay.cc (governing and relaying one exchange).
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "harness-adapters/llm_api.h"
#include "harness-adapters/llm_classifier.h"
#include "harness-adapters/llm_proxy.h"
#include "harness-adapters/llm_upstream.h"
#include "harness-adapters/on_pool.h"

namespace reins {

namespace proxy_internal {
namespace beast = boost::beast;
namespace http = beast::http;
using Request = http::request<http::string_body>;

bool HopByHop(boost::beast::string_view name);
std::string HeaderValue(const Request& req, std::string_view name);
}  // namespace proxy_internal

struct LlmProxy::Impl {
  // First, so it is destroyed last: pooled upstream connections and the
  // acceptor close their sockets through it.
  asio::io_context io;
  ProxyOptions options;
  DecisionClient* decider;  // where events go and verdicts come from
  Clock* clock;
  std::map<std::string, UpstreamUrl> upstreams;
  std::unique_ptr<UpstreamPool> pool;
  std::unique_ptr<LlmClassifier> classifier;  // null without options.classifier
  std::unique_ptr<asio::thread_pool> workers;
  // An answer is recorded in its session's lane (a strand of `workers`,
  // which sessions share by hash), queued before the answer's last bytes are
  // written. The session's next llm_request is evaluated on the I/O thread
  // when its lane has nothing queued (a hand-off to a worker and back costs
  // more than the evaluation), else in the lane, after the recordings.
  static constexpr size_t kLanes = 64;
  using Lane = asio::strand<asio::thread_pool::executor_type>;
  std::vector<Lane> lanes;
  std::array<std::atomic<int>, kLanes> lane_queued{};  // recordings queued per lane
  std::mutex recording_mu;
  std::condition_variable recording_cv;
  int recording = 0;  // answers queued for recording, not yet recorded
  boost::asio::ip::tcp::acceptor acceptor{io};
  boost::asio::ip::tcp::endpoint local;  // where it listens (kept after Stop)
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};
  std::atomic<int> in_flight{0};  // requests being answered
  std::mutex sessions_mu;
  std::set<std::string> started;  // sessions known to have a log

  asio::awaitable<void> Accept();
  asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket);
  // Answers one request; false when the connection must close afterwards.
  asio::awaitable<bool> Handle(boost::beast::tcp_stream& client, proxy_internal::Request req);
  asio::awaitable<bool> Govern(boost::beast::tcp_stream& client, proxy_internal::Request req,
                               llm::Api api, const std::string& path, const std::string& query,
                               const std::string& session, const UpstreamUrl& up);
  // How one exchange with the upstream went.
  struct Relay {
    bool keep_alive = false;                  // the client's connection can serve another request
    bool client_gone = false;                 // the client left before the whole answer was relayed
    bool started = false;                     // the answer's head reached the client
    int status = 0;                           // the upstream's HTTP status (0: no answer)
    std::optional<llm::ResponseFacts> facts;  // what a governed answer reported
    // A governed JSON (not streamed) answer as it came, when complete: the
    // recording reads its facts, off the I/O thread.
    std::string answer;
    Status error;           // the upstream failed
    bool recorded = false;  // on_complete has run
  };
  // Called on the I/O thread once a governed answer is complete, before its
  // last bytes are written to the client, or once it failed or was cut off.
  // It queues the answer's recording in the session's lane, so the client's
  // next call is judged with this one's cost in the log, while the relay
  // goes on without waiting for the engine.
  using OnComplete = std::function<void(const Relay&)>;
  // Sends `req` upstream and relays the answer to `client` as it arrives;
  // for a governed API, also reads what the answer reports.
  // Takes the answer's facts (a stream's) or the answer itself (JSON, read
  // later by ReadAnswer) and runs on_complete.
  void Complete(const std::optional<llm::StreamReader>& reader, std::string* copy, bool governed,
                const OnComplete* on_complete, Relay* out);
  // Fills relay->facts from relay->answer, an answer of `api`, if it holds one.
  static void ReadAnswer(llm::Api api, Relay* relay);
  template <typename Stream>
  asio::awaitable<void> Exchange(Stream& stream, UpstreamConn& conn,
                                 boost::beast::tcp_stream& client,
                                 proxy_internal::Request& upstream_req, bool client_keep_alive,
                                 llm::Api api, bool governed, bool drop_usage_chunk,
                                 const OnComplete* on_complete, Relay* out, bool* reusable);
  asio::awaitable<Relay> Forward(boost::beast::tcp_stream& client, proxy_internal::Request req,
                                 const UpstreamUrl& up, const std::string& target, llm::Api api,
                                 bool governed, bool drop_usage_chunk,
                                 const OnComplete* on_complete);
  // Answers with an error; true when the connection stays open. (By value:
  // a coroutine must not hold references to its caller's temporaries.)
  asio::awaitable<bool> Reply(boost::beast::tcp_stream& client, bool keep_alive, llm::ErrorReply e);
  template <typename F>
  auto Blocking(F fn) {
    return OnPool(*workers, std::move(fn));
  }
  size_t LaneIndex(const std::string& session) const {
    return std::hash<std::string>()(session) % kLanes;
  }
  Lane& LaneOf(const std::string& session) { return lanes[LaneIndex(session)]; }
  // The session a request belongs to (llm_proxy.h), started in the log the
  // first time the proxy sees it.
  asio::awaitable<Result<std::string>> EnsureSession(std::string requested,
                                                     const proxy_internal::Request& req);
  // Records the answer: an llm_response event, and a tool_call event
  // (labelled observed) per tool call it asked for.
  Status Record(const std::string& session, llm::Api api, const std::string& model,
                const Relay& relay);
};
}  // namespace reins
