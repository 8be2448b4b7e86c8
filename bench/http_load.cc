// Load on the reins server over HTTP: decisions per second and per-request
// latency from keep-alive connections on loopback.
//
//   http_load [--seconds 3] [--warmup 0.5] [--connections 1,4,64,256]
//             [--repetitions 1] [--rate EVENTS_PER_S] [--config FILE]
//             [--group-commit both|on|off] [--client async|threads]
//             [--client-threads 1] [--io-threads 0] [--session-events N]
//             [--idle-connections N] [--server URL --token-file FILE]
//             [--floor]
//
// For each group-commit mode it starts the real server in this process
// (reins::Server on 127.0.0.1:0, a fresh SQLite file and token directory in a
// temporary directory, FILE as its configuration: bench/policies.yaml by
// default), then for each number of connections N every connection creates
// its own session and posts a coding agent's events one at a time (model
// responses with usage, Bash and Read tool calls and their results), for a
// warm-up and then --seconds: by default each as soon as it has its answer,
// with --rate on a fixed schedule that offers that many events per second
// in all (latency then counts from when a request was due). Per mode and N
// it prints, as the median over the repetitions,
//   http_gc_on_c64_decisions_per_s X 1/s
//   http_gc_on_c64_p50 Y ms
//   http_gc_on_c64_p99 Z ms
//   http_gc_on_c64_server_cpu_per_decision U us
//   http_gc_on_c64_client_cpu C %
//   http_gc_on_c64_other_cpu O %
// (http_gc_on_c64_rate5000_... with --rate 5000)
// and at the end `http_errors N requests`: responses that are not 200 (201
// for a session's creation), verdicts other than allow/deny/ask/modify, and
// broken connections. It exits 1 when errors exceed 0.1% of the requests.
//
// --session-events N moves each connection to a new session every N events.
// --idle-connections N opens N more connections that never send anything (or
// only half a request's headers, one in fifty) and holds them through every
// level: the figures then say how the server answers its clients beside a
// crowd of idle or hostile connections. --server runs the levels against a
// running `reins serve` (with an admin token from FILE) instead of one in
// this process: its figures are labelled http_ext_..., and the server's CPU
// is not measured.
//
// --floor runs the levels once more against the HTTP layer alone: the same
// HttpServer (one I/O thread per core) with a handler that parses each body
// as JSON and answers a fixed allow, with no engine, policies or log behind
// it (http_floor_...). No server built on this HTTP stack can do better on
// this machine, which is what the target figures are to be read against.
//
// Client and server share the machine's cores, so the client's own CPU time
// is measured (client_cpu, a share of all cores) and kept small: by default
// every connection is a Beast coroutine on one client thread; `--client
// threads` gives each connection a thread with the blocking HttpClient.
// Other processes' CPU time during a level (other_cpu, from /proc/stat) says
// when a run was disturbed.
// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "bench/floors.h"
#include "bench/http_load_client.h"
#include "bench/machine_cpu.h"
#include "builtins/builtins.h"
#include "engine/config.h"
#include "scripts/lua_loader.h"
#include "server/http_client.h"
#include "server/http_server.h"
#include "server/server.h"

namespace reins::bench {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  double seconds = 3, warmup = 0.5;
  std::vector<int> connections = {1, 4, 64, 256};
  int repetitions = 1;
  double rate = 0;  // events/s offered by all connections together; 0: closed loop
  std::string config = REINS_SOURCE_DIR "/bench/policies.yaml";
  std::string group_commit = "both";
  std::string client = "async";
  int client_threads = 1;
  int io_threads = 0;
  int64_t session_events = 0;
  int idle_connections = 0;
  std::string server_url, token_file;
  bool floor = false;
};

double CpuSeconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double ThreadsCpuSeconds(std::vector<std::thread>& threads) {
  double sum = 0;
  for (std::thread& t : threads) {
    clockid_t clock;
    if (pthread_getcpuclockid(t.native_handle(), &clock) == 0) sum += CpuSeconds(clock);
  }
  return sum;
}

// The server's histogram sums and counts (seconds, from /metrics), to say
// where a request's time went inside the server.
std::map<std::string, double> Scrape(const std::string& url, const std::string& token) {
  std::map<std::string, double> out;
  auto r = HttpClient(url).Request("GET", "/metrics", "", token);
  if (!r.ok() || r->status != 200) return out;
  size_t pos = 0;
  while (pos < r->body.size()) {
    size_t end = r->body.find('\n', pos);
    if (end == std::string::npos) end = r->body.size();
    std::string line = r->body.substr(pos, end - pos);
    pos = end + 1;
    size_t space = line.rfind(' ');
    if (line.empty() || line[0] == '#' || space == std::string::npos) continue;
    std::string name = line.substr(0, space);
    if (name.ends_with("_sum") || name.ends_with("_count"))
      out[name] = std::atof(line.c_str() + space + 1);
  }
  return out;
}

struct LevelResult {
  int connections = 0;
  int64_t requests = 0, errors = 0, decisions = 0;
  std::array<int64_t, 4> verdicts{};
  double per_s = 0, p50_ms = 0, p99_ms = 0, server_cpu_us = 0, client_cpu_pct = 0;
  double other_cpu_pct = 0;  // other processes' share of all cores (noise)
  double evaluate_us = 0, append_us = 0, handler_us = 0;  // server-side means
  std::string first_error;
};

// The server a sweep runs against.
struct Target {
  std::string url, token;
  int port = 0;
  bool in_process = true;  // its CPU time is this process's, less the client's
};

LevelResult RunLevel(const Options& o, const Target& server, const std::string& name, int n) {
  Level level;
  level.port = server.port;
  level.url = server.url;
  level.token = server.token;
  level.session_events = o.session_events;
  if (o.rate > 0) level.interval = std::chrono::nanoseconds(static_cast<int64_t>(n * 1e9 / o.rate));
  level.conns.resize(n);
  for (int i = 0; i < n; ++i) level.conns[i].name = name + "-" + std::to_string(i);
  const std::string& token = server.token;
  asio::io_context io;
  std::vector<std::thread> threads;
  if (o.client == "async") {
    for (Conn& c : level.conns) asio::co_spawn(io, DriveAsync(level, c), asio::detached);
    for (int t = 0; t < o.client_threads; ++t) threads.emplace_back([&io] { io.run(); });
  } else {
    for (Conn& c : level.conns) threads.emplace_back(DriveBlocking, std::ref(level), std::ref(c));
  }
  auto sleep = [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); };
  sleep(o.warmup);
  auto before = Scrape(level.url, token);
  double process0 = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID), client0 = ThreadsCpuSeconds(threads);
  MachineCpu machine0 = ReadMachineCpu();
  auto t0 = Clock::now();
  level.phase = kMeasure;
  sleep(o.seconds);
  level.phase = kStop;
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  double process1 = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID), client1 = ThreadsCpuSeconds(threads);
  MachineCpu machine1 = ReadMachineCpu();
  auto after = Scrape(level.url, token);
  for (std::thread& t : threads) t.join();

  LevelResult r;
  r.connections = n;
  std::vector<int64_t> all;
  for (Conn& c : level.conns) {
    r.requests += c.requests;
    r.errors += c.errors;
    for (size_t v = 0; v < 4; ++v) r.verdicts[v] += c.verdicts[v];
    all.insert(all.end(), c.latencies_ns.begin(), c.latencies_ns.end());
    if (r.first_error.empty()) r.first_error = c.first_error;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) {
    if (all.empty()) return 0.0;
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(all.size()))) - 1;
    return static_cast<double>(all[std::min(i, all.size() - 1)]) / 1e6;
  };
  r.decisions = static_cast<int64_t>(all.size());
  r.per_s = static_cast<double>(all.size()) / wall;
  r.p50_ms = pct(0.50);
  r.p99_ms = pct(0.99);
  double client = client1 - client0;
  // The main thread sleeps; everything else this process spent is the server's.
  if (!all.empty() && server.in_process)
    r.server_cpu_us = (process1 - process0 - client) / static_cast<double>(all.size()) * 1e6;
  double all_cores = wall * std::thread::hardware_concurrency();
  r.client_cpu_pct = client / all_cores * 100;
  if (machine1.total > machine0.total) {
    double busy = (machine1.busy - machine0.busy) / (machine1.total - machine0.total);
    r.other_cpu_pct = std::max(0.0, busy - (process1 - process0) / all_cores) * 100;
  }
  auto mean_us = [&](const std::string& h) {
    double count = after[h + "_count"] - before[h + "_count"];
    return count > 0 ? (after[h + "_sum"] - before[h + "_sum"]) / count * 1e6 : 0.0;
  };
  r.evaluate_us = mean_us("reins_evaluation_seconds");
  r.append_us = mean_us("reins_log_append_seconds");
  r.handler_us = mean_us("reins_http_request_seconds");
  return r;
}

// The median of each figure over the repetitions; counts add up.
LevelResult Median(const std::vector<LevelResult>& runs) {
  LevelResult m = runs.front();
  for (size_t i = 1; i < runs.size(); ++i) {
    m.requests += runs[i].requests;
    m.errors += runs[i].errors;
    m.decisions += runs[i].decisions;
    for (size_t v = 0; v < m.verdicts.size(); ++v) m.verdicts[v] += runs[i].verdicts[v];
    if (m.first_error.empty()) m.first_error = runs[i].first_error;
  }
  for (double LevelResult::*f :
       {&LevelResult::per_s, &LevelResult::p50_ms, &LevelResult::p99_ms,
        &LevelResult::server_cpu_us, &LevelResult::client_cpu_pct, &LevelResult::other_cpu_pct,
        &LevelResult::evaluate_us, &LevelResult::append_us, &LevelResult::handler_us}) {
    std::vector<double> values;
    for (const LevelResult& r : runs) values.push_back(r.*f);
    std::sort(values.begin(), values.end());
    m.*f = values[values.size() / 2];
  }
  return m;
}

void PrintRow(const char* label, const LevelResult& r) {
  printf(
      "%6s %12.0f %8.3f %8.3f %14.1f %9.1f%% %9.1f%% %10.1f %10.1f %10.1f  %lld/%lld/%lld/%lld\n",
      label, r.per_s, r.p50_ms, r.p99_ms, r.server_cpu_us, r.client_cpu_pct, r.other_cpu_pct,
      r.evaluate_us, r.append_us, r.handler_us, static_cast<long long>(r.verdicts[0]),
      static_cast<long long>(r.verdicts[1]), static_cast<long long>(r.verdicts[2]),
      static_cast<long long>(r.verdicts[3]));
  if (!r.first_error.empty()) printf("   first error: %s\n", r.first_error.c_str());
  if (r.other_cpu_pct > 10) {
    printf("   warning: other processes took %.0f%% of the CPU; these figures are low\n",
           r.other_cpu_pct);
  }
  fflush(stdout);
}

std::string ReadToken(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  return token;
}

// Connections that only take up room: opened before the levels and held
// through them. One in fifty sends half a request's headers (slow loris).
class IdleCrowd {
 public:
  IdleCrowd(int port, int n) {
    asio::ip::tcp::endpoint server(asio::ip::make_address("127.0.0.1"),
                                   static_cast<uint16_t>(port));
    sockets_.reserve(n);
    for (int i = 0; i < n; ++i) {
      asio::ip::tcp::socket s(io_);
      boost::system::error_code ec;
      s.connect(server, ec);
      if (!ec && i % 50 == 49) asio::write(s, asio::buffer(std::string("GET / HTTP/1.1\r\n")), ec);
      if (ec) {
        fprintf(stderr, "http_load: idle connection %d: %s\n", i, ec.message().c_str());
        break;
      }
      sockets_.push_back(std::move(s));
    }
  }
  size_t size() const { return sockets_.size(); }

 private:
  asio::io_context io_;
  std::vector<asio::ip::tcp::socket> sockets_;
};

void PrintHeader() {
  printf("%6s %12s %8s %8s %14s %10s %10s %10s %10s %10s  %s\n", "conns", "decisions/s", "p50 ms",
         "p99 ms", "server us/dec", "client cpu", "other cpu", "eval us", "append us", "handler us",
         "verdicts allow/deny/ask/modify");
}

// Every level against `target`, beside the idle crowd if asked for one.
void SweepLevels(const Options& o, const Target& target, const std::string& mode,
                 std::vector<LevelResult>* results) {
  std::unique_ptr<IdleCrowd> crowd;
  if (o.idle_connections > 0) {
    crowd = std::make_unique<IdleCrowd>(target.port, o.idle_connections);
    printf("== %zu idle connections held open\n", crowd->size());
  }
  PrintHeader();
  for (int n : o.connections) {
    std::vector<LevelResult> runs;
    for (int rep = 0; rep < o.repetitions; ++rep) {
      std::string name = "load-" + mode + "-" + std::to_string(getpid()) + "-c" +
                         std::to_string(n) + "-r" + std::to_string(rep);
      runs.push_back(RunLevel(o, target, name, n));
      PrintRow(std::to_string(n).c_str(), runs.back());
    }
    results->push_back(Median(runs));
    if (o.repetitions > 1) PrintRow("median", results->back());
  }
}

// Runs the sweep against a server on `dir`; returns false when it cannot
// start.
bool Sweep(const Options& o, const PolicyRegistry& registry, bool group_commit,
           const std::string& mode, const fs::path& dir, std::vector<LevelResult>* results) {
  ServeOptions so;
  so.registry = &registry;
  so.config_path = o.config;
  so.overrides.listen = "127.0.0.1:0";
  so.overrides.token_dir = (dir / "tokens").string();
  so.db_path = (dir / "reins.db").string();
  so.io_threads = o.io_threads;
  so.group_commit = group_commit;
  so.log = [](const std::string& line) { fprintf(stderr, "server: %s\n", line.c_str()); };
  auto server = Server::Start(so);
  if (!server.ok()) {
    fprintf(stderr, "http_load: cannot start the server: %s\n", server.status().ToString().c_str());
    return false;
  }
  Target target{(*server)->url(), ReadToken((*server)->token_dir() + "/admin.token"),
                (*server)->port(), true};
  if (target.token.empty()) {
    fprintf(stderr, "http_load: no admin token in %s\n", (*server)->token_dir().c_str());
    return false;
  }
  printf("== group commit %s: %s\n", group_commit ? "on" : "off", target.url.c_str());
  SweepLevels(o, target, mode, results);
  (*server)->Shutdown();
  return true;
}

// One group-commit mode on a fresh server, log and token directory.
bool RunMode(const Options& o, const PolicyRegistry& registry, bool group_commit,
             std::vector<LevelResult>* results) {
  std::string mode = group_commit ? "gc_on" : "gc_off";
  fs::path dir =
      fs::temp_directory_path() / ("reins-http-load-" + std::to_string(getpid()) + "-" + mode);
  fs::remove_all(dir);
  fs::create_directories(dir);
  bool ok = Sweep(o, registry, group_commit, mode, dir, results);
  fs::remove_all(dir);  // the server has stopped by now
  return ok;
}

bool RunFloor(const Options& o, std::vector<LevelResult>* results) {
  HttpFloor floor(o.io_threads > 0
                      ? o.io_threads
                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  if (!floor.ok()) {
    fprintf(stderr, "http_load: the floor server: %s\n", floor.error().c_str());
    return false;
  }
  Target target{"http://127.0.0.1:" + std::to_string(floor.port()), "floor", floor.port(), true};
  printf("== floor: the HTTP layer alone, %s\n", target.url.c_str());
  SweepLevels(o, target, "floor", results);
  return true;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"Load on the reins HTTP server over loopback"};
  app.add_option("--seconds", o.seconds, "Measured seconds per level")->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "Warm-up seconds per level")->check(CLI::NonNegativeNumber);
  app.add_option("--connections", o.connections, "Levels: keep-alive connections")
      ->delimiter(',')
      ->check(CLI::Range(1, 1000));
  app.add_option("--repetitions", o.repetitions, "Runs per level (figures are their median)")
      ->check(CLI::Range(1, 100));
  app.add_option("--rate", o.rate,
                 "Events/s offered by all connections together, each on a fixed schedule "
                 "(default: each sends as soon as it has its answer)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--config", o.config, "Server configuration (YAML)")->check(CLI::ExistingFile);
  app.add_option("--group-commit", o.group_commit, "Modes to run")
      ->check(CLI::IsMember({"both", "on", "off"}));
  app.add_option("--client", o.client, "Client: coroutines or a thread per connection")
      ->check(CLI::IsMember({"async", "threads"}));
  app.add_option("--client-threads", o.client_threads, "Threads running the async client")
      ->check(CLI::Range(1, 64));
  app.add_option("--io-threads", o.io_threads, "Server I/O threads (0: one per core)");
  app.add_option("--session-events", o.session_events,
                 "Events per session: each connection then moves to a new session")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--idle-connections", o.idle_connections,
                 "Connections held open, sending nothing, through every level")
      ->check(CLI::Range(0, 100000));
  auto* server_opt = app.add_option(
      "--server", o.server_url, "A running reins serve (http://127.0.0.1:PORT) to load instead");
  app.add_option("--token-file", o.token_file, "Its admin token")
      ->check(CLI::ExistingFile)
      ->needs(server_opt);
  server_opt->needs("--token-file");
  app.add_flag("--floor", o.floor,
               "Also run the levels against the HTTP layer alone (no engine, no log)");
  CLI11_PARSE(app, argc, argv);
  // Each idle connection takes a descriptor here (and one in the server).
  RaiseDescriptorLimit();
  if (o.rate > 0 && o.client != "async") {
    fprintf(stderr, "http_load: --rate needs --client async\n");
    return 2;
  }

  PolicyRegistry registry;
  Status st = RegisterBuiltins(&registry);
  if (st.ok()) st = RegisterLuaLoader(&registry);
  if (!st.ok()) {
    fprintf(stderr, "http_load: registering policies failed: %s\n", st.ToString().c_str());
    return 1;
  }
  // Durability comes from the configuration, as for `reins serve`.
  ConfigLoader loader(&registry);
  RegisterServerSection(&loader);
  std::vector<ConfigError> errors;
  auto config = loader.LoadServer(o.config, &errors);
  if (!config.ok()) {
    for (const ConfigError& e : errors) fprintf(stderr, "%s\n", e.ToString().c_str());
    return 1;
  }
  std::string client = o.client == "async"
                           ? "coroutines on " + std::to_string(o.client_threads) + " thread(s)"
                           : "a thread per connection";
  std::string load = o.rate > 0 ? std::to_string(static_cast<int64_t>(o.rate)) +
                                      " events/s offered on a fixed schedule"
                                : "each connection sends when answered";
  printf(
      "== %s; durability %s; %u cores shared by client and server; client: %s; %s; %.1f s "
      "per level after %.1f s warm-up, %d time(s)\n",
      o.config.c_str(), config->settings.durability == Durability::kFull ? "full" : "normal",
      std::thread::hardware_concurrency(), client.c_str(), load.c_str(), o.seconds, o.warmup,
      o.repetitions);

  std::vector<std::pair<std::string, std::vector<LevelResult>>> modes;
  if (!o.server_url.empty()) {
    size_t colon = o.server_url.rfind(':');
    Target target{o.server_url, ReadToken(o.token_file),
                  colon == std::string::npos ? 0 : std::atoi(o.server_url.c_str() + colon + 1),
                  false};
    if (target.port <= 0 || o.server_url.rfind("http://", 0) != 0) {
      fprintf(stderr, "http_load: --server needs http://HOST:PORT\n");
      return 2;
    }
    printf("== %s\n", o.server_url.c_str());
    modes.emplace_back("ext", std::vector<LevelResult>());
    SweepLevels(o, target, "ext", &modes.back().second);
  }
  for (bool gc : {true, false}) {
    if (!o.server_url.empty()) break;
    if (o.group_commit != "both" && o.group_commit != (gc ? "on" : "off")) continue;
    modes.emplace_back(gc ? "gc_on" : "gc_off", std::vector<LevelResult>());
    if (!RunMode(o, registry, gc, &modes.back().second)) return 1;
  }
  if (o.floor) {
    modes.emplace_back("floor", std::vector<LevelResult>());
    if (!RunFloor(o, &modes.back().second)) return 1;
  }
  std::string rate = o.rate > 0 ? "rate" + std::to_string(static_cast<int64_t>(o.rate)) + "_" : "";
  if (o.idle_connections > 0) rate += "idle" + std::to_string(o.idle_connections) + "_";
  int64_t requests = 0, errors_total = 0;
  for (const auto& [mode, results] : modes) {
    for (const LevelResult& r : results) {
      std::string p = "http_" + mode + "_c" + std::to_string(r.connections) + "_" + rate;
      printf("%sdecisions_per_s %.0f 1/s\n", p.c_str(), r.per_s);
      printf("%sp50 %.3f ms\n", p.c_str(), r.p50_ms);
      printf("%sp99 %.3f ms\n", p.c_str(), r.p99_ms);
      printf("%sserver_cpu_per_decision %.1f us\n", p.c_str(), r.server_cpu_us);
      printf("%sclient_cpu %.1f %%\n", p.c_str(), r.client_cpu_pct);
      printf("%sother_cpu %.1f %%\n", p.c_str(), r.other_cpu_pct);
      requests += r.requests;
      errors_total += r.errors;
    }
  }
  printf("http_errors %lld requests\n", static_cast<long long>(errors_total));
  if (requests == 0 || static_cast<double>(errors_total) > 0.001 * static_cast<double>(requests)) {
    fprintf(stderr, "http_load: %lld errors in %lld requests (more than 0.1%%)\n",
            static_cast<long long>(errors_total), static_cast<long long>(requests));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace reins::bench

int main(int argc, char** argv) { return reins::bench::Main(argc, argv); }
