// The latency the LLM proxy adds to a model call (issue 7), over loopback.
//
//   proxy_latency [--requests 2000] [--warmup 200] [--stream-requests 200]
//                 [--stream-warmup 20] [--chunk-delay-ms 10] [--batch 20]
//                 [--spaced-requests 1000] [--gap-us 2000] [--threads N]
//                 [--config FILE] [--floor]
//
// In this process: a fake Anthropic API (tests/support/fake_upstream.h) and
// the real proxy in front of it, set up as `reins proxy` sets it up (a
// SQLite log, here in a temporary directory, with background checkpoints;
// the configuration's durability, proxy: section and policies, the default
// self_protect included). Without --config the policies are kPolicies: a
// budget, the trivial-prompt router and the PII redactor. All calls share
// one session, as a harness's do. Two keep-alive connections, one to the
// fake and one to the proxy, send the same small POST /v1/messages in
// alternating batches (ABBA), so that the machine's drift hits both alike:
//   1. non-streaming, back to back: from writing the request to the
//      answer's last byte;
//   2. non-streaming, --gap-us apart, as a harness's calls come (a model
//      call follows a tool's run, not the previous answer's last byte);
//   3. streaming (the fake pauses --chunk-delay-ms between SSE events, so
//      each call starts on an idle machine): to the first byte of the body,
//      the first event, which the proxy must relay before the fake writes
//      the second (else the benchmark fails).
// The `name value unit` lines: proxy_{,spaced_,stream_ttfb_}{direct,via,added}_
// {p50,p99} (us; added = p50(via) - p50(direct), p99 likewise) and
// proxy_stream_whole_via_p50; then, to tell where the added time goes, per
// proxied call beyond a direct one, proxy_cpu_per_call (CPU time) and
// proxy_switches_per_call (context switches), the engine's Submit p50 per
// event (proxy_engine_{request,response}_p50) and proxy_other_cpu (the
// share of the machine other processes took meanwhile).
//
// --floor then times the same non-streaming calls through a bare relay
// (bench/floors.h) instead of the proxy: proxy_floor_{,spaced_}...; the
// proxy's figures less these are what its own work adds.
//
// It exits 1 when a request fails (a status other than 200, an answer
// without its usage or last event, a closed connection) or when the log
// lacks the llm_request or llm_response of a proxied call.
// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "bench/floors.h"
#include "bench/machine_cpu.h"
#include "bench/proxy_calls.h"
#include "builtins/builtins.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/log_store.h"
#include "harness-adapters/decision_client.h"
#include "harness-adapters/llm_proxy.h"
#include "harness-adapters/proxy_config.h"
#include "scripts/lua_loader.h"
#include "server/server_policies.h"
#include "server/settings.h"
#include "tests/support/fake_upstream.h"

namespace reins::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using testing::FakeUpstream;

// Limits far above what a run spends (a call costs $0.0006), so that every
// call takes the usual path: evaluated by all three, allowed, priced.
constexpr const char* kPolicies = R"(# Written by bench/proxy_latency.
policies:
  budget:
    use: cost_budget
    with:
      max_cost_usd: 1000000
      ask_thresholds_usd: [500000, 900000]
      expensive_models: [opus]
  route:
    use: deny_trivial_to_expensive_model
    with: {expensive_models: [opus], cheap_model: claude-haiku-4-5}
  redact:
    use: deny_pii_in_llm_request
    with: {action: redact}
)";

constexpr const char* kSession = "bench-proxy";

struct Options {
  int requests = 2000, warmup = 200, stream_requests = 200, stream_warmup = 20;
  int chunk_delay_ms = 10, batch = 20;
  int spaced_requests = 1000, gap_us = 2000;
  int threads = 0;  // the proxy's I/O threads; 0: the configuration's
  std::string config;
  bool floor = false;
};

// The proxy's DecisionClient, timing each Submit (the engine: evaluation
// and the log's commit) by event type, to tell the engine's share of the
// added latency from the rest (HTTP, JSON, hand-offs between threads).
class TimedClient : public EngineDecisionClient {
 public:
  using EngineDecisionClient::EngineDecisionClient;

  Result<Json> Submit(Json event) override {
    std::string type = event.value("type", "");
    auto start = Steady::now();
    auto r = EngineDecisionClient::Submit(std::move(event));
    int64_t ns = NsSince(start);
    std::lock_guard lock(mu_);
    if (keep) samples_[type].push_back(Timing{ns, ns});
    return r;
  }
  double P50(const std::string& type) {
    std::lock_guard lock(mu_);
    return Quantile(samples_[type], &Timing::total_ns, 0.5);
  }

  std::atomic<bool> keep{false};  // whether Submits are timed now

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<Timing>> samples_;
};

// The engine `reins proxy` runs (cli/embedded_engine.cc), over `db`.
struct Governed {
  SystemClock clock;
  std::shared_ptr<const ServerConfig> config;
  std::unique_ptr<LogStore> store;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<ServerPolicies> policies;
  std::unique_ptr<TimedClient> client;
};

Status Open(const PolicyRegistry& registry, const std::string& config_path, const std::string& db,
            Governed* g) {
  ConfigLoader loader(&registry);
  RegisterServerSection(&loader);
  auto config = LoadServerFile(loader, config_path);
  if (!config.ok()) return config.status();
  g->config = *config;
  SqliteOptions sqlite;
  sqlite.durability = g->config->settings.durability;
  sqlite.background_checkpoints = true;
  auto store = OpenSqliteLogStore(db, sqlite);
  if (!store.ok()) return store.status();
  g->store = std::move(store).value();
  EngineOptions engine_options;
  engine_options.default_ask_timeout = g->config->settings.ask_timeout;
  g->engine = std::make_unique<Engine>(g->store.get(), g->config->settings.prices, &g->clock,
                                       engine_options);
  g->policies = std::make_unique<ServerPolicies>(g->engine.get());
  std::vector<ConfigError> errors;
  Status installed = g->policies->Install(g->config, &errors);
  if (!installed.ok()) return installed;
  ServerPolicies* policies = g->policies.get();
  g->engine->SetPolicyResolver(
      [policies](const SessionState& st) { return policies->Resolve(st); });
  g->client = std::make_unique<TimedClient>(g->engine.get(), g->store.get());
  return Status::OK();
}

int64_t CountEvents(LogStore* store, const std::string& type) {
  int64_t n = 0;
  Status st = store->ScanEvents(kSession, type, "", 0, 0, [&](const Record&) {
    ++n;
    return true;
  });
  return st.ok() ? n : -1;
}

// Runs both measurements through a proxy over `g` and prints the figures;
// false on any failure.
bool Measure(const Options& o, Governed& g, FakeUpstream& upstream, const std::string& policies) {
  // As `reins proxy` starts it: the configuration's proxy: section, else
  // the defaults.
  ProxyOptions po = ProxyOptionsOf(*g.config);
  po.listen = "127.0.0.1:0";
  po.upstreams["anthropic"] = upstream.url();
  if (o.threads > 0) po.threads = o.threads;
  auto proxy = LlmProxy::Start(po, g.client.get(), &g.clock);
  if (!proxy.ok()) {
    fprintf(stderr, "proxy_latency: the proxy does not start: %s\n",
            proxy.status().ToString().c_str());
    return false;
  }
  printf(
      "== LLM proxy over loopback: %u cores shared by client, proxy and fake upstream; "
      "policies: %s (durability %s); one keep-alive connection each way; proxy I/O threads: "
      "%d\n",
      std::thread::hardware_concurrency(), policies.c_str(),
      g.config->settings.durability == Durability::kFull ? "full" : "normal", po.threads);
  asio::io_context io;
  Connection direct(io, upstream.port()), via(io, (*proxy)->port());
  Samples whole, spaced, stream;
  Request plain = MessagesRequest(false, kSession), streamed = MessagesRequest(true, kSession);
  int stream_batch = std::max(1, o.batch / 2);
  printf("non-streaming: %d requests each way after %d of warm-up, in batches of %d\n", o.requests,
         o.warmup, o.batch);
  printf("streaming: %d requests each way after %d of warm-up, events %d ms apart, batches of %d\n",
         o.stream_requests, o.stream_warmup, o.chunk_delay_ms, stream_batch);
  fflush(stdout);
  Status st = Alternate(direct, via, plain, o.warmup, o.batch, "\"usage\"", false, &whole);
  MachineCpu machine0 = ReadMachineCpu();
  g.client->keep = true;
  if (st.ok()) st = Alternate(direct, via, plain, o.requests, o.batch, "\"usage\"", true, &whole);
  g.client->keep = false;
  MachineCpu machine1 = ReadMachineCpu();
  printf("non-streaming, spaced: %d requests each way, %d us apart\n", o.spaced_requests, o.gap_us);
  fflush(stdout);
  if (st.ok()) {
    st = Alternate(direct, via, plain, o.spaced_requests, o.batch, "\"usage\"", true, &spaced,
                   std::chrono::microseconds(o.gap_us));
  }
  for (bool keep : {false, true}) {
    if (!st.ok()) break;
    st = Alternate(direct, via, streamed, keep ? o.stream_requests : o.stream_warmup, stream_batch,
                   "message_stop", keep, &stream);
  }
  if (!st.ok()) {
    fprintf(stderr, "proxy_latency: a request failed %s\n", st.message().c_str());
    return false;
  }
  (*proxy)->Stop();

  const auto total = &Timing::total_ns;
  const auto first = &Timing::first_byte_ns;
  double n = o.requests;
  double cpu = (whole.via_used.cpu_ns - whole.direct_used.cpu_ns) / n / 1e3;
  double switches = (whole.via_used.switches - whole.direct_used.switches) / n;
  // Other processes' share of all cores during the measured non-streaming
  // calls: the machine's busy share less this process's.
  double other = 0;
  if (machine1.total > machine0.total) {
    double ours = (whole.direct_used.cpu_ns + whole.via_used.cpu_ns) / 1e9 *
                  static_cast<double>(sysconf(_SC_CLK_TCK));
    other =
        std::max(0.0, (machine1.busy - machine0.busy - ours) / (machine1.total - machine0.total)) *
        100;
  }
  Figures figures;
  printf("\nnon-streaming, request to the answer's last byte (us):\n");
  printf("  %-20s %10s %10s\n", "", "p50", "p99");
  PrintPercentiles("proxy_", whole, total, &figures);
  printf("\nnon-streaming, %d us between calls, request to the answer's last byte (us):\n",
         o.gap_us);
  PrintPercentiles("proxy_spaced_", spaced, total, &figures);
  double engine_request = g.client->P50("llm_request");
  double engine_response = g.client->P50("llm_response");
  printf("  per proxied call beyond a direct one: %.1f us of CPU, %.1f context switches\n", cpu,
         switches);
  printf(
      "  the engine's Submit (evaluation and commit), p50: llm_request %.1f us, "
      "llm_response %.1f us\n",
      engine_request, engine_response);
  printf("  other processes took %.0f%% of the machine meanwhile%s\n", other,
         other > 10 ? " (warning: these figures are high)" : "");
  printf("\nstreaming, request to the first byte of the body (us):\n");
  PrintPercentiles("proxy_stream_ttfb_", stream, first, &figures);
  double whole_ms = Quantile(stream.via, total, 0.5) / 1e3;
  printf("  the whole stream through the proxy: %.1f ms at p50\n", whole_ms);
  figures.emplace_back("proxy_stream_whole_via_p50", whole_ms, "ms");
  figures.emplace_back("proxy_cpu_per_call", cpu, "us");
  figures.emplace_back("proxy_switches_per_call", switches, "switches");
  figures.emplace_back("proxy_engine_request_p50", engine_request, "us");
  figures.emplace_back("proxy_engine_response_p50", engine_response, "us");
  figures.emplace_back("proxy_other_cpu", other, "%");

  int64_t expected =
      o.requests + o.warmup + o.spaced_requests + o.stream_requests + o.stream_warmup;
  int64_t requests = CountEvents(g.store.get(), "llm_request");
  int64_t responses = CountEvents(g.store.get(), "llm_response");
  printf("\nlog: %lld llm_request and %lld llm_response events for %lld proxied calls\n\n",
         static_cast<long long>(requests), static_cast<long long>(responses),
         static_cast<long long>(expected));
  for (const auto& [name, value, unit] : figures) printf("%s %.2f %s\n", name.c_str(), value, unit);
  fflush(stdout);
  // The first event must reach the client before the fake even writes the
  // second: otherwise the proxy holds what it should relay.
  double ttfb = Quantile(stream.via, first, 0.5);
  if (ttfb >= o.chunk_delay_ms * 1e3) {
    fprintf(stderr,
            "proxy_latency: the first event took %.0f us through the proxy, longer than the "
            "%d ms until the fake writes the next: the proxy does not relay as it receives\n",
            ttfb, o.chunk_delay_ms);
    return false;
  }
  if (requests != expected || responses != expected) {
    fprintf(stderr, "proxy_latency: the log does not hold every proxied call\n");
    return false;
  }
  return true;
}

// The floor: the same non-streaming calls through a BareRelay (a relay on
// this HTTP stack that does nothing else) instead of the proxy.
bool MeasureFloor(const Options& o, FakeUpstream& upstream) {
  BareRelay relay(upstream.port());
  asio::io_context io;
  Connection direct(io, upstream.port()), bare(io, relay.port());
  Request plain = MessagesRequest(false, kSession);
  Samples whole, spaced;
  printf(
      "\n== floor: the same calls through a bare relay (Beast, one I/O thread, no JSON, "
      "no policies, no log) instead of the proxy\n");
  Status st = Alternate(direct, bare, plain, o.warmup, o.batch, "\"usage\"", false, &whole);
  if (st.ok()) st = Alternate(direct, bare, plain, o.requests, o.batch, "\"usage\"", true, &whole);
  if (st.ok()) {
    st = Alternate(direct, bare, plain, o.spaced_requests, o.batch, "\"usage\"", true, &spaced,
                   std::chrono::microseconds(o.gap_us));
  }
  if (!st.ok()) {
    fprintf(stderr, "proxy_latency: a request through the bare relay failed %s\n",
            st.message().c_str());
    return false;
  }
  Figures figures;
  printf("non-streaming, back to back (us):\n  %-20s %10s %10s\n", "", "p50", "p99");
  PrintPercentiles("proxy_floor_", whole, &Timing::total_ns, &figures);
  printf("non-streaming, %d us between calls (us):\n", o.gap_us);
  PrintPercentiles("proxy_floor_spaced_", spaced, &Timing::total_ns, &figures);
  printf("\n");
  for (const auto& [name, value, unit] : figures) printf("%s %.2f %s\n", name.c_str(), value, unit);
  fflush(stdout);
  return true;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"The latency the LLM proxy adds, over loopback"};
  app.add_option("--requests", o.requests, "Measured non-streaming requests, each way")
      ->check(CLI::Range(1, 10000000));
  app.add_option("--warmup", o.warmup, "Non-streaming warm-up requests, each way")
      ->check(CLI::Range(0, 10000000));
  app.add_option("--stream-requests", o.stream_requests, "Measured streaming requests, each way")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--stream-warmup", o.stream_warmup, "Streaming warm-up requests, each way")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--chunk-delay-ms", o.chunk_delay_ms, "The fake's pause between stream events")
      ->check(CLI::Range(1, 1000));
  app.add_option("--batch", o.batch, "Requests per batch before switching sides")
      ->check(CLI::Range(1, 100000));
  app.add_option("--spaced-requests", o.spaced_requests,
                 "Measured non-streaming requests with a pause after each, each way")
      ->check(CLI::Range(1, 10000000));
  app.add_option("--gap-us", o.gap_us, "The pause after each of those")
      ->check(CLI::Range(1, 10000000));
  app.add_option("--threads", o.threads, "The proxy's I/O threads (default: the configuration's)")
      ->check(CLI::Range(1, 64));
  app.add_option("--config", o.config, "Server configuration whose policies the proxy runs")
      ->check(CLI::ExistingFile);
  app.add_flag("--floor", o.floor,
               "Also time the non-streaming calls through a bare relay (the floor)");
  CLI11_PARSE(app, argc, argv);

  PolicyRegistry registry;
  Status st = RegisterBuiltins(&registry);
  if (st.ok()) st = RegisterLuaLoader(&registry);
  if (!st.ok()) {
    fprintf(stderr, "proxy_latency: registering policies failed: %s\n", st.ToString().c_str());
    return 1;
  }
  fs::path dir = fs::temp_directory_path() / ("reins-proxy-latency-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string config = o.config;
  if (config.empty()) {
    config = (dir / "proxy.yaml").string();
    std::ofstream(config) << kPolicies;
  }
  bool ok = false;
  {
    Governed g;
    // Always the temporary log: a benchmark never writes to a configuration's.
    st = Open(registry, config, (dir / "reins.db").string(), &g);
    if (!st.ok()) {
      fprintf(stderr, "proxy_latency: %s\n", st.ToString().c_str());
    } else {
      FakeUpstream::Script script;
      script.reply_text = "Hello!";  // one text delta: 7 events, 6 pauses
      script.chunk_delay = std::chrono::milliseconds(o.chunk_delay_ms);
      FakeUpstream upstream(FakeUpstream::Options{}, script);
      ok = Measure(o, g, upstream, o.config.empty() ? "budget, route, redact" : config);
      if (ok && o.floor) ok = MeasureFloor(o, upstream);
    }
  }
  fs::remove_all(dir);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace reins::bench

int main(int argc, char** argv) { return reins::bench::Main(argc, argv); }
