#include "server/metrics.h"

#include <cstdio>

namespace reins {

namespace {

std::string Number(double v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Label values escape backslash, double quote and newline.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Header(const std::string& name, const char* type, const std::string& help, std::string* out) {
  *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Histogram::Observe(int64_t ns) {
  double s = static_cast<double>(ns) / 1e9;
  size_t i = 0;
  while (i < kBounds.size() && s > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(ns < 0 ? 0 : ns), std::memory_order_relaxed);
}

void Histogram::Render(const std::string& name, const std::string& help, std::string* out) const {
  Header(name, "histogram", help, out);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < kBounds.size() ? Number(kBounds[i]) : "+Inf";
    *out += name + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  *out += name + "_sum " + Number(static_cast<double>(sum_ns_.load()) / 1e9) + "\n";
  *out += name + "_count " + std::to_string(count_.load()) + "\n";
}

void Metrics::Decision(Verdict verdict, const std::vector<std::string>& policies) {
  by_verdict_[static_cast<size_t>(verdict)].fetch_add(1, std::memory_order_relaxed);
  if (policies.empty()) return;
  std::lock_guard lock(mu_);
  for (const std::string& p : policies) ++by_policy_[{p, verdict}];
}

void Metrics::HttpResponse(int status) {
  if (status >= 0 && status < static_cast<int>(by_status_.size())) {
    by_status_[status].fetch_add(1, std::memory_order_relaxed);
  }
}

std::string Metrics::Render(int64_t approvals_pending, int64_t sessions_active) const {
  std::string out;
  Header("reins_decisions_total", "counter", "Decisions by verdict.", &out);
  for (Verdict v : {Verdict::kAllow, Verdict::kDeny, Verdict::kAsk, Verdict::kModify}) {
    out += "reins_decisions_total{verdict=\"" + std::string(VerdictName(v)) + "\"} " +
           std::to_string(by_verdict_[static_cast<size_t>(v)].load()) + "\n";
  }
  {
    std::lock_guard lock(mu_);
    Header("reins_policy_decisions_total", "counter",
           "Decisions each policy shaped (the policies a decision names).", &out);
    for (const auto& [key, n] : by_policy_) {
      out += "reins_policy_decisions_total{policy=\"" + Label(key.first) + "\",verdict=\"" +
             std::string(VerdictName(key.second)) + "\"} " + std::to_string(n) + "\n";
    }
    Header("reins_http_requests_total", "counter", "HTTP responses by status code.", &out);
    for (size_t code = 0; code < by_status_.size(); ++code) {
      uint64_t n = by_status_[code].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "reins_http_requests_total{code=\"" + std::to_string(code) + "\"} " +
             std::to_string(n) + "\n";
    }
  }
  evaluation_.Render("reins_evaluation_seconds", "Time to evaluate an event's policies.", &out);
  append_.Render("reins_log_append_seconds",
                 "Time to append an event's records durably (group commit included).", &out);
  http_.Render("reins_http_request_seconds", "Time from a request read to its response.", &out);
  Header("reins_approvals_pending", "gauge", "Approvals waiting for a person.", &out);
  out += "reins_approvals_pending " + std::to_string(approvals_pending) + "\n";
  Header("reins_sessions_active", "gauge", "Sessions with an event in the last 5 minutes.", &out);
  out += "reins_sessions_active " + std::to_string(sessions_active) + "\n";
  Header("reins_connections", "gauge", "Open HTTP connections.", &out);
  out += "reins_connections " + std::to_string(connections_.load()) + "\n";
  Header("reins_connections_evicted_total", "counter",
         "Connections closed while waiting for a request, to admit a new one.", &out);
  out += "reins_connections_evicted_total " + std::to_string(connections_evicted_.load()) + "\n";
  Header("reins_waiters", "gauge", "Long polls, held asks and event streams open.", &out);
  out += "reins_waiters " + std::to_string(waiters_.load()) + "\n";
  Header("reins_forbidden_total", "counter", "Requests refused for their token's role.", &out);
  out += "reins_forbidden_total " + std::to_string(forbidden_.load()) + "\n";
  Header("reins_reloads_total", "counter", "Configuration reloads by result.", &out);
  out += "reins_reloads_total{result=\"ok\"} " + std::to_string(reloads_ok_.load()) + "\n";
  out += "reins_reloads_total{result=\"failed\"} " + std::to_string(reloads_failed_.load()) + "\n";
  return out;
}

}  // namespace reins
