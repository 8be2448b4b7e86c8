#include "bench/proxy_calls.h"

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "engine/canonical_json.h"

namespace reins::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

int64_t NsSince(Steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now() - start).count();
}

Usage Usage::Now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec),
          static_cast<double>(ru.ru_nvcsw + ru.ru_nivcsw)};
}

Status Connection::Exchange(const Request& req, Timing* t, std::string* body) {
  beast::error_code ec;
  if (!socket_.is_open()) {
    socket_.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_)), ec);
    if (!ec) socket_.set_option(tcp::no_delay(true), ec);
    if (ec) return Status::IOError("connecting: " + ec.message());
  }
  *t = Timing();
  body->clear();
  auto start = Steady::now();
  http::write(socket_, req, ec);
  if (ec) return Status::IOError("writing the request: " + ec.message());
  http::response_parser<http::buffer_body> parser;
  http::read_header(socket_, buffer_, parser, ec);
  if (ec) return Status::IOError("reading the answer's head: " + ec.message());
  char buf[16384];
  while (!parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    http::read_some(socket_, buffer_, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return Status::IOError("reading the answer: " + ec.message());
    size_t n = sizeof buf - parser.get().body().size;
    if (n > 0 && t->first_byte_ns < 0) t->first_byte_ns = NsSince(start);
    body->append(buf, n);
  }
  t->total_ns = NsSince(start);
  int status = parser.get().result_int();
  if (status != 200) {
    return Status::IOError("status " + std::to_string(status) + ": " + body->substr(0, 300));
  }
  // A new connection would be timed into the next request.
  if (!parser.keep_alive()) return Status::IOError("the server closes the connection");
  return Status::OK();
}

Request MessagesRequest(bool stream, const std::string& session) {
  Json body = {{"model", "claude-sonnet-4-5"},
               {"max_tokens", 1024},
               {"system", "You are a coding assistant. Be brief."},
               {"messages", {{{"role", "user"}, {"content", "Say hello."}}}}};
  if (stream) body["stream"] = true;
  Request req{http::verb::post, "/v1/messages", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.set("x-api-key", "sk-ant-bench-not-a-key");
  req.set("anthropic-version", "2023-06-01");
  req.set("x-reins-session", session);
  req.body() = body.dump();
  req.prepare_payload();
  return req;
}

Status Alternate(Connection& direct, Connection& via, const Request& req, int n, int batch,
                 const std::string& expect, bool keep, Samples* out,
                 std::chrono::microseconds gap) {
  std::string body;
  Timing t;
  for (int done = 0, round = 0; done < n; done += batch, ++round) {
    for (int leg = 0; leg < 2; ++leg) {
      bool proxied = (leg == 0) == (round % 2 == 1);
      Usage before = Usage::Now();
      for (int i = 0; i < std::min(batch, n - done); ++i) {
        Status st = (proxied ? via : direct).Exchange(req, &t, &body);
        if (st.ok() && body.find(expect) == std::string::npos) {
          st = Status::IOError("the answer lacks " + expect + ": " + body.substr(0, 300));
        }
        if (!st.ok()) {
          return Status::IOError(std::string(proxied ? "through the proxy: " : "directly: ") +
                                 st.message());
        }
        if (keep) (proxied ? out->via : out->direct).push_back(t);
        if (gap.count() > 0) std::this_thread::sleep_for(gap);
      }
      if (!keep) continue;
      Usage after = Usage::Now();
      Usage& used = proxied ? out->via_used : out->direct_used;
      used.cpu_ns += after.cpu_ns - before.cpu_ns;
      used.switches += after.switches - before.switches;
    }
  }
  return Status::OK();
}

double Quantile(const std::vector<Timing>& ts, int64_t Timing::*field, double q) {
  std::vector<int64_t> v;
  for (const Timing& t : ts) v.push_back(t.*field);
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return static_cast<double>(v[std::min(std::max<size_t>(i, 1), v.size()) - 1]) / 1e3;
}

void PrintPercentiles(const std::string& name, const Samples& s, int64_t Timing::*field,
                      Figures* figures) {
  double d50 = Quantile(s.direct, field, 0.5), d99 = Quantile(s.direct, field, 0.99);
  double v50 = Quantile(s.via, field, 0.5), v99 = Quantile(s.via, field, 0.99);
  printf("  %-20s %10.1f %10.1f\n", "direct to the fake", d50, d99);
  printf("  %-20s %10.1f %10.1f\n", "through the proxy", v50, v99);
  printf("  %-20s %10.1f %10.1f\n", "added by the proxy", v50 - d50, v99 - d99);
  for (auto [side, p50, p99] : {std::tuple("direct", d50, d99), std::tuple("via", v50, v99),
                                std::tuple("added", v50 - d50, v99 - d99)}) {
    figures->emplace_back(name + side + "_p50", p50, "us");
    figures->emplace_back(name + side + "_p99", p99, "us");
  }
}

}  // namespace reins::bench
