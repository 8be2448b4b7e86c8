// Server metrics in the Prometheus text exposition format (GET /metrics):
//
//   reins_decisions_total{verdict}              decisions by verdict
//   reins_policy_decisions_total{policy,verdict} decisions each policy shaped
//   reins_evaluation_seconds                     histogram: policies per event
//   reins_log_append_seconds                     histogram: durable append
//   reins_http_requests_total{code}              responses by status code
//   reins_http_request_seconds                   histogram: request to response
//   reins_approvals_pending                      gauge (from the approvals index)
//   reins_sessions_active                        gauge: sessions with an event in
//                                                the last 5 minutes
//   reins_connections, reins_waiters             gauges
//   reins_connections_evicted_total              connections closed while still
//                                                waiting for a request, to admit
//                                                one at max_connections
//   reins_reloads_total{result}                  configuration reloads
//   reins_forbidden_total                        403 answers (agents trying more)
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engine/policy.h"

namespace reins {

// A histogram with fixed bucket bounds (seconds) and lock-free updates.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.000005, 0.00001, 0.000025, 0.00005, 0.0001,
                                                     0.00025,  0.0005,  0.001,    0.0025,  0.005,
                                                     0.01,     0.05,    0.25,     1.0};
  void Observe(int64_t ns);
  // Appends "NAME_bucket{le=...} N" lines, _sum and _count.
  void Render(const std::string& name, const std::string& help, std::string* out) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

class Metrics {
 public:
  void Decision(Verdict verdict, const std::vector<std::string>& policies);
  Histogram& evaluation() { return evaluation_; }
  Histogram& append() { return append_; }
  Histogram& http() { return http_; }
  void HttpResponse(int status);
  void Forbidden() { forbidden_.fetch_add(1, std::memory_order_relaxed); }
  void Reload(bool ok) { (ok ? reloads_ok_ : reloads_failed_).fetch_add(1); }
  std::atomic<int64_t>& connections() { return connections_; }
  std::atomic<int64_t>& waiters() { return waiters_; }
  std::atomic<uint64_t>& connections_evicted() { return connections_evicted_; }

  // The exposition text; gauges read elsewhere are passed in.
  std::string Render(int64_t approvals_pending, int64_t sessions_active) const;

 private:
  std::array<std::atomic<uint64_t>, 4> by_verdict_{};
  mutable std::mutex mu_;
  std::map<std::pair<std::string, Verdict>, uint64_t> by_policy_;
  std::array<std::atomic<uint64_t>, 600> by_status_{};
  Histogram evaluation_, append_, http_;
  std::atomic<uint64_t> forbidden_{0}, reloads_ok_{0}, reloads_failed_{0}, connections_evicted_{0};
  std::atomic<int64_t> connections_{0}, waiters_{0};
};

}  // namespace reins
