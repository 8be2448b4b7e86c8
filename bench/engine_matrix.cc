// engine_matrix: the engine in process by policy set and event type, the
// log's append by durability, and memory per live session (issue 9).
//
//   engine_matrix [--events 40000] [--append-events 2000] [--sessions 10000]
//                 [--session-events 20] [--concurrent 8]
//                 [--parts matrix,append,memory] [--dir DIR] [--sets NAME=FILE,...]
//
// Every event goes through Engine::Submit, timed with a steady clock, on a
// fresh SQLite file in DIR (default: a temporary directory) as the server
// opens it: durability normal, WAL checkpoints on their own thread, no group
// commit (one thread submits). The events are coding agents' sessions
// (agent_sessions.h), --concurrent at a time interleaved at random; an ask
// is approved at once by an approval event (timed as its own type).
// Stateful policies see real history.
//
// matrix: --events events for each set: none, builtins (every builtin:
//   examples/policies/all_builtins.yaml), lua (those builtins and, as a layer
//   in front, the three Lua examples of bench/policies_lua.yaml);
//   per set and type engine_SET_TYPE_decisions_per_s (1 / mean time),
//   engine_SET_TYPE_p50 and _p99 (us), and engine_SET_all_... over all types.
//   --sets replaces the sets (FILE or FILE+MORE relative to bench/, empty
//   for none), e.g. --sets small=policies.yaml.
// append: tool calls with the builtins at durability normal and full:
//   engine_append_D_..., and the append alone (SubmitTimings) as _write_p50/99.
// memory: --sessions open sessions of --session-events events with the
//   builtins: engine_sessions_N_rss_mib (VmRSS) and engine_memory_per_session
//   (KiB). The engine keeps EngineOptions::max_cached_sessions (10,000) in
//   memory and forgets the least recently used tenth of the idle ones when
//   one more arrives; beyond that the output says the figure is not of live
//   sessions.
// The figures come last, after human-readable tables.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench/agent_sessions.h"
#include "builtins/builtins.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "scripts/lua_loader.h"

namespace reins::bench {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr EventType kFigureTypes[] = {EventType::kRequest, EventType::kLlmRequest,
                                      EventType::kLlmResponse, EventType::kToolCall,
                                      EventType::kToolResult};

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "engine_matrix: %s\n", what.c_str());
  std::exit(1);
}

double RssMiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return 0;
}

// Involuntary context switches of this thread so far: a p99 of a few
// milliseconds beside many of them is another process taking the core.
int64_t Preempted() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nivcsw;
}

// The engine's own split of each Submit: evaluation and the durable append.
class TimingObserver : public EngineObserver {
 public:
  void OnCommitted(const std::string&, const std::vector<Record>&, const Decision* decision,
                   const SubmitTimings& timings) override {
    if (decision) last = timings;
  }
  SubmitTimings last;
};

// An engine over a fresh SQLite file.
struct Harness {
  Harness(const fs::path& db, Durability durability) {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix);
    SqliteOptions o;
    o.durability = durability;
    o.group_commit = false;
    o.background_checkpoints = true;
    auto opened = OpenSqliteLogStore(db.string(), o);
    if (!opened.ok()) Die(db.string() + ": " + opened.status().ToString());
    store = std::move(opened).value();
    engine = std::make_unique<Engine>(store.get(),
                                      std::make_shared<PriceTable>(PriceTable::Builtin()), &clock);
    engine->SetObserver(&observer);
  }
  std::unique_ptr<LogStore> store;
  ManualClock clock{kAgentsStartTs};
  TimingObserver observer;
  std::unique_ptr<Engine> engine;  // declared last: destroyed before the store
};

struct Samples {
  std::vector<int64_t> ns, eval_ns, append_ns;
  std::array<int64_t, 4> verdicts{};  // by Verdict
};
using ByType = std::array<Samples, kEventTypeCount>;

double Percentile(std::vector<int64_t> v, double q) {  // nearest rank, in us
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  k = std::clamp<size_t>(k, 1, v.size()) - 1;
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;
}

double PerSecond(const std::vector<int64_t>& v) {
  int64_t total = 0;
  for (int64_t ns : v) total += ns;
  return total > 0 ? 1e9 * static_cast<double>(v.size()) / static_cast<double>(total) : 0;
}

const PolicyRegistry& Registry() {
  static PolicyRegistry* r = [] {
    auto* reg = new PolicyRegistry();
    Status st = RegisterBuiltins(reg);
    if (st.ok()) st = RegisterLuaLoader(reg);
    if (!st.ok()) Die("registry: " + st.ToString());
    return reg;
  }();
  return *r;
}

// The policies of `file` under bench/ ("" for none), as the server layer.
// FILE, or FILE+MORE: FILE's policies as the server layer, MORE's as a
// second layer in front of them (as an agent author's would be).
// Every builtin policy, with the settings of the other examples.
constexpr const char* kAllBuiltins = "../examples/policies/all_builtins.yaml";

std::shared_ptr<const PolicySet> LoadSet(const std::string& files) {
  if (files.empty()) return *PolicySet::Compose(nullptr, nullptr, nullptr);
  ConfigLoader loader(&Registry());
  std::vector<ServerConfig> layers;
  size_t start = 0;
  while (start <= files.size()) {
    size_t plus = std::min(files.find('+', start), files.size());
    std::string file = files.substr(start, plus - start);
    std::vector<ConfigError> errors;
    auto c = loader.LoadServer(std::string(REINS_SOURCE_DIR) + "/bench/" + file, &errors);
    if (!c.ok()) Die("bench/" + file + " does not load: " + ConfigStatus(errors).ToString());
    layers.push_back(std::move(c).value());
    start = plus + 1;
  }
  if (layers.size() > 2) Die("--sets: at most two files per set (FILE+MORE)");
  if (layers.size() > 1) {
    // Every server file gets the default self_protect; one of them is enough.
    auto& more = layers[1].policies.entries;
    std::erase_if(more, [](const PolicyEntry& e) { return e.name == "self_protect"; });
    layers[1].policies.layer = Layer::kAgent;
  }
  auto set = PolicySet::Compose(nullptr, layers.size() > 1 ? &layers[1].policies : nullptr,
                                &layers[0].policies);
  if (!set.ok()) Die("--sets " + files + ": " + set.status().ToString());
  return *set;
}

std::string Names(const PolicySet& set) {
  std::string s;
  for (const auto& e : set.entries()) s += (s.empty() ? "" : ", ") + e.name;
  return s.empty() ? "no policies" : s;
}

// Submits `e`, timed, into `by`; an ask is answered by an approval at once.
Decision Submit(Harness& h, Agent& a, Event e, ByType* by) {
  EventType type = e.type();
  auto start = SteadyClock::now();
  auto d = h.engine->Submit(std::move(e));
  int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - start).count();
  if (!d.ok()) Die("Submit to " + a.id + ": " + d.status().ToString());
  Samples& s = (*by)[static_cast<size_t>(type)];
  s.ns.push_back(ns);
  s.eval_ns.push_back(h.observer.last.evaluate_ns);
  s.append_ns.push_back(h.observer.last.append_ns);
  ++s.verdicts[static_cast<size_t>(d->verdict)];
  if (d->verdict != Verdict::kAsk) return *d;
  a.ts += 5000000;  // a person looks at it for five seconds
  Json j = {{"session", a.id}, {"type", "approval"}, {"approval_id", d->approval_id}};
  j.update({{"approved", true}, {"by", "bench"}});
  auto approval = Event::FromJson(std::move(j));
  if (!approval.ok()) Die("a bad approval: " + approval.status().ToString());
  approval->set_ts(a.ts);
  Submit(h, a, std::move(approval).value(), by);
  return *d;
}

// A table row: the Submit times of `s` and the engine's split of them.
void PrintRow(const std::string& label, const Samples& s) {
  printf("%-14s %7zu %11.0f %8.1f %8.1f %8.1f %9.1f %9.1f %9.1f %9.1f\n", label.c_str(),
         s.ns.size(), PerSecond(s.ns), Percentile(s.ns, 0.5), Percentile(s.ns, 0.99),
         Percentile(s.ns, 1.0), Percentile(s.eval_ns, 0.5), Percentile(s.eval_ns, 0.99),
         Percentile(s.append_ns, 0.5), Percentile(s.append_ns, 0.99));
}

void PrintHeader() {
  printf("%-14s %7s %11s %8s %8s %8s %9s %9s %9s %9s\n", "", "n", "decisions/s", "p50 us", "p99 us",
         "max us", "eval p50", "eval p99", "write p50", "write p99");
}

// NAME_decisions_per_s, NAME_p50 and NAME_p99 of `s`, onto `out`.
void AddFigures(std::string* out, const std::string& name, const Samples& s) {
  char lines[512];
  snprintf(lines, sizeof lines, "%s_decisions_per_s %.6g 1/s\n%s_p50 %.6g us\n%s_p99 %.6g us\n",
           name.c_str(), PerSecond(s.ns), name.c_str(), Percentile(s.ns, 0.5), name.c_str(),
           Percentile(s.ns, 0.99));
  *out += lines;
}

void AddFigure(std::string* out, const std::string& name, double value, const char* unit) {
  char line[256];
  snprintf(line, sizeof line, "%s %.6g %s\n", name.c_str(), value, unit);
  *out += line;
}

// --events events of agents `concurrent` at a time through a fresh engine
// with the set of `file`; prints its table and adds its figures.
void RunSet(const std::string& name, const std::string& file, const fs::path& dir, int64_t events,
            int concurrent, uint64_t seed, std::string* figures) {
  auto set = LoadSet(file);
  Harness h(dir / ("matrix-" + name + ".db"), Durability::kNormal);
  h.engine->SetPolicies(set);
  Agents agents(seed);
  std::mt19937_64 pick(seed + 1);
  std::vector<Agent> live;
  ByType by;
  int64_t sessions = 0, preempted = Preempted();
  auto start = SteadyClock::now();
  for (int64_t n = 0; n < events; ++n) {
    while (static_cast<int>(live.size()) < concurrent) {
      live.push_back(agents.Start(name + "-" + std::to_string(++sessions), true));
    }
    size_t i = std::uniform_int_distribution<size_t>(0, live.size() - 1)(pick);
    Agent& a = live[i];
    if (!agents.Answered(a, Submit(h, a, agents.Next(a), &by))) {
      live.erase(live.begin() + static_cast<ptrdiff_t>(i));
    }
  }
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  preempted = Preempted() - preempted;
  Samples all;
  auto join = [](std::vector<int64_t>* to, const std::vector<int64_t>& v) {
    to->insert(to->end(), v.begin(), v.end());
  };
  for (const Samples& s : by) {
    for (size_t k = 0; k < 4; ++k) all.verdicts[k] += s.verdicts[k];
    join(&all.ns, s.ns), join(&all.eval_ns, s.eval_ns), join(&all.append_ns, s.append_ns);
  }
  const auto& v = all.verdicts;
  printf("\n== set %s (%s): %zu decisions in %.1f s, %" PRId64 " sessions, preempted %" PRId64
         " times; allow %" PRId64 ", deny %" PRId64 ", ask %" PRId64 ", modify %" PRId64 "\n",
         name.c_str(), Names(*set).c_str(), all.ns.size(), seconds, sessions, preempted, v[0], v[1],
         v[2], v[3]);
  PrintHeader();
  for (int t = 0; t < kEventTypeCount; ++t) {
    const Samples& s = by[static_cast<size_t>(t)];
    if (!s.ns.empty()) PrintRow(std::string(EventTypeName(static_cast<EventType>(t))), s);
  }
  PrintRow("all", all);
  for (EventType t : kFigureTypes) {
    AddFigures(figures, "engine_" + name + "_" + std::string(EventTypeName(t)),
               by[static_cast<size_t>(t)]);
  }
  AddFigures(figures, "engine_" + name + "_all", all);
}

// --append-events tool calls of `concurrent` sessions in turn, with the
// builtins, at `durability`.
void RunAppend(Durability durability, const fs::path& dir, int64_t events, int concurrent,
               uint64_t seed, std::string* figures) {
  std::string name = durability == Durability::kFull ? "full" : "normal";
  Harness h(dir / ("append-" + name + ".db"), durability);
  h.engine->SetPolicies(LoadSet(kAllBuiltins));
  Agents agents(seed);
  std::vector<Agent> live;
  ByType warmup, by;
  for (int i = 0; i < concurrent; ++i) {
    live.push_back(agents.Start("append-" + std::to_string(i), false));
    Submit(h, live.back(), agents.Next(live.back()), &warmup);
  }
  for (int64_t n = 0; n < events; ++n) {
    Agent& a = live[static_cast<size_t>(n % concurrent)];
    a.plan = {Agent::kCall};
    Submit(h, a, agents.Next(a), &by);
  }
  const Samples& s = by[static_cast<size_t>(EventType::kToolCall)];
  PrintRow(name, s);
  AddFigures(figures, "engine_append_" + name, s);
  AddFigure(figures, "engine_append_" + name + "_write_p50", Percentile(s.append_ns, 0.5), "us");
  AddFigure(figures, "engine_append_" + name + "_write_p99", Percentile(s.append_ns, 0.99), "us");
}

// --sessions sessions of --session-events events each, left open, with the
// builtins; RSS before and after.
void RunMemory(const fs::path& dir, int64_t sessions, int64_t session_events, uint64_t seed,
               std::string* figures) {
  Agents agents(seed);
  ByType by;
  Harness h(dir / "memory.db", Durability::kNormal);
  h.engine->SetPolicies(LoadSet(kAllBuiltins));
  double before = 0;
  auto start = SteadyClock::now();
  for (int64_t s = 0; s < sessions; ++s) {
    Agent a = agents.Start("live-" + std::to_string(s), false);
    for (int64_t i = 0; i < session_events; ++i) {
      agents.Answered(a, Submit(h, a, agents.Next(a), &by));
    }
    // The first session also warms SQLite's statements and the policies'
    // first-use work: the figure counts from after it.
    if (s == 0) before = RssMiB();
  }
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  double after = RssMiB();
  malloc_trim(0);
  double trimmed = RssMiB();
  double kib = (after - before) * 1024.0 / static_cast<double>(std::max<int64_t>(sessions - 1, 1));
  size_t cap = EngineOptions{}.max_cached_sessions;
  printf("\n== memory: %" PRId64 " sessions of %" PRId64 " events, builtins, in %.1f s\n", sessions,
         session_events, seconds);
  printf(
      "VmRSS after the first %.1f MiB, after all %.1f MiB (%.2f KiB per session); after "
      "malloc_trim %.1f\n",
      before, after, kib, trimmed);
  if (static_cast<size_t>(sessions) > cap) {
    printf("NOT ALL LIVE: over %zu sessions the engine forgets the least recently used\n", cap);
  } else {
    printf("all %" PRId64 " live: the engine keeps up to %zu (max_cached_sessions)\n", sessions,
           cap);
  }
  if (static_cast<size_t>(sessions) == cap) {
    // One session more than the engine keeps makes it forget the least
    // recently used tenth; their next event reloads them from the log.
    Agent extra = agents.Start("one-too-many", false), first = agents.Start("live-0", false);
    Submit(h, extra, agents.Next(extra), &by);
    malloc_trim(0);
    double evicted = RssMiB();
    first.plan = {Agent::kReply};
    Submit(h, first, agents.Next(first), &by);
    printf(
        "session %zu made the engine forget a tenth: VmRSS after malloc_trim %.1f MiB; its "
        "session_start took %.0f us, the next event of live-0 (reloaded) %.0f us\n",
        cap + 1, evicted, by[static_cast<size_t>(EventType::kSessionStart)].ns.back() / 1e3,
        by[static_cast<size_t>(EventType::kResponse)].ns.back() / 1e3);
  }
  std::string n = std::to_string(sessions);
  AddFigure(figures, "engine_sessions_" + n + "_rss_mib", after, "MiB");
  AddFigure(figures, "engine_sessions_" + n + "_rss_delta_mib", after - before, "MiB");
  AddFigure(figures, "engine_memory_per_session", kib, "KiB");
}

}  // namespace
}  // namespace reins::bench

int main(int argc, char** argv) {
  using namespace reins;
  using namespace reins::bench;
  CLI::App app{"The engine in process: decisions by policy set and event type, append, memory"};
  int64_t events = 40000, append_events = 2000, sessions = 10000, session_events = 20;
  int concurrent = 8;
  const uint64_t seed = 1;
  std::vector<std::string> parts = {"matrix", "append", "memory"};
  std::string dir_flag;
  std::vector<std::string> sets = {"none=", "builtins=" + std::string(kAllBuiltins),
                                   "lua=" + std::string(kAllBuiltins) + "+policies_lua.yaml"};
  app.add_option("--events", events, "Events per policy set")->check(CLI::PositiveNumber);
  app.add_option("--append-events", append_events, "Tool calls per durability")
      ->check(CLI::PositiveNumber);
  app.add_option("--sessions", sessions, "Live sessions to measure")->check(CLI::PositiveNumber);
  app.add_option("--session-events", session_events, "Events of each live session")
      ->check(CLI::PositiveNumber);
  app.add_option("--concurrent", concurrent, "Sessions at once")->check(CLI::Range(1, 10000));
  app.add_option("--parts", parts, "Parts to run")
      ->delimiter(',')
      ->check(CLI::IsMember({"matrix", "append", "memory"}));
  app.add_option("--dir", dir_flag, "Directory for the logs (default: a temporary one)");
  app.add_option("--sets", sets, "Policy sets NAME=FILE (under bench/)")->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  auto wants = [&](const char* p) {
    return std::find(parts.begin(), parts.end(), p) != parts.end();
  };

  fs::path dir = dir_flag.empty() ? fs::temp_directory_path() /
                                        ("reins-engine-matrix-" + std::to_string(getpid()))
                                  : fs::path(dir_flag);
  fs::create_directories(dir);
  printf(
      "logs in %s; one thread submits; durability normal unless said, background WAL "
      "checkpoints, no group commit\n",
      dir.c_str());
  std::string figures;
  // Memory first, while the heap holds nothing else.
  if (wants("memory")) RunMemory(dir, sessions, session_events, seed + 7, &figures);
  if (wants("matrix")) {
    for (const std::string& set : sets) {
      size_t eq = set.find('=');
      if (eq == std::string::npos) Die("--sets: '" + set + "' is not NAME=FILE");
      RunSet(set.substr(0, eq), set.substr(eq + 1), dir, events, concurrent, seed, &figures);
    }
  }
  if (wants("append")) {
    printf("\n== append: %" PRId64 " tool calls of %d sessions, builtins, by durability\n",
           append_events, concurrent);
    PrintHeader();
    RunAppend(Durability::kNormal, dir, append_events, concurrent, seed + 3, &figures);
    RunAppend(Durability::kFull, dir, append_events, concurrent, seed + 3, &figures);
  }
  if (dir_flag.empty()) fs::remove_all(dir);
  printf("\n%s", figures.c_str());
  return 0;
}
