// In-process engine figures: one event through the whole path (evaluate,
// seal, append to SQLite, fold) and policy evaluation alone.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/bench_main.h"
#include "builtins/builtins.h"
#include "engine/engine.h"
#include "engine/evaluator.h"

namespace reins {
namespace {

const PolicyRegistry& Registry() {
  static PolicyRegistry* r = [] {
    auto* reg = new PolicyRegistry();
    (void)RegisterBuiltins(reg);
    return reg;
  }();
  return *r;
}

std::shared_ptr<const PolicySet> LoadPolicies(const std::string& example) {
  if (example.empty()) return *PolicySet::Compose(nullptr, nullptr, nullptr);
  ConfigLoader loader(&Registry());
  std::vector<ConfigError> errors;
  auto c = loader.LoadServer(std::string(REINS_SOURCE_DIR) + "/bench/" + example, &errors);
  if (!c.ok()) {
    fprintf(stderr, "%s\n", c.status().ToString().c_str());
    std::abort();
  }
  return *PolicySet::Compose(nullptr, nullptr, &c->policies);
}

Event MakeToolCall(int64_t i) {
  Json j = {{"session", "bench"},
            {"type", "tool_call"},
            {"tool", "Bash"},
            {"call_id", "c" + std::to_string(i)},
            {"input", {{"command", "pytest -q tests/test_parser.py"}}}};
  auto e = Event::FromJson(j);
  e->set_ts(1795250700000000 + i);
  return std::move(e).value();
}

// One tool_call through Engine::Submit, from one thread. Arg 0: policies (0
// none, 1 bench/policies.yaml); arg 1: log (0 in memory, 1 file NORMAL, 2
// file FULL); arg 2: group commit (off, on; alone it can only add cost).
void BM_SubmitToolCall(benchmark::State& state) {
  std::string path = ":memory:";
  std::string dir = std::filesystem::temp_directory_path() / "reins-bench";
  if (state.range(1) > 0) {
    std::filesystem::create_directories(dir);
    path = dir + "/bench.db";
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
  }
  SqliteOptions opts;
  opts.durability = state.range(1) == 2 ? Durability::kFull : Durability::kNormal;
  opts.group_commit = state.range(2) != 0;
  auto store = OpenSqliteLogStore(path, opts);
  ManualClock clock(0);
  // No tool cap: the limit would turn every call into a deny.
  EngineOptions eo;
  Engine engine(store->get(), std::make_shared<PriceTable>(PriceTable::Builtin()), &clock, eo);
  engine.SetPolicies(LoadPolicies(state.range(0) ? "policies.yaml" : ""));
  int64_t i = 0;
  for (auto _ : state) {
    auto d = engine.Submit(MakeToolCall(++i));
    if (!d.ok()) state.SkipWithError(d.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.range(1) > 0) std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SubmitToolCall)
    ->ArgNames({"policies", "log", "group"})
    ->Args({0, 0, 0})
    ->Args({1, 0, 0})
    ->Args({1, 1, 0})
    ->Args({1, 1, 1})
    ->Args({1, 2, 0})
    ->Args({1, 2, 1});

// Policy evaluation alone (no log) for a tool_call against bench/policies.yaml.
void BM_EvaluateToolCall(benchmark::State& state) {
  auto set = LoadPolicies("policies.yaml");
  SessionState session("bench");
  session.cost_usd = 1.0;
  Event event = MakeToolCall(1);
  for (auto _ : state) {
    Evaluation ev = EvaluatePolicies(*set, event, session, &PriceTable::Builtin(), nullptr);
    benchmark::DoNotOptimize(ev);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EvaluateToolCall);

// A tool call against every builtin at once (examples/policies/all_builtins.yaml),
// evaluation only: the figure behind the "under 20 us" target of the
// builtins. The call is a shell command most of the builtins analyze.
void BM_EvaluateToolCallAllBuiltins(benchmark::State& state) {
  static const std::shared_ptr<const PolicySet> set = [] {
    ConfigLoader loader(&Registry());
    std::vector<ConfigError> errors;
    auto c = loader.LoadServer(
        std::string(REINS_SOURCE_DIR) + "/examples/policies/all_builtins.yaml", &errors);
    if (!c.ok()) std::abort();
    return *PolicySet::Compose(nullptr, nullptr, &c->policies);
  }();
  SessionState session("bench");
  session.cost_usd = 3.5;
  session.user = "ann";
  session.cwd = "/work/app";
  session.model = "claude-sonnet-4-5";
  Json j = {{"session", "bench"},
            {"type", "tool_call"},
            {"tool", "Bash"},
            {"input",
             {{"command",
               "cd src && pytest -q tests/test_parser.py && git push origin "
               "feature/parser"}}}};
  Event event = std::move(Event::FromJson(j)).value();
  event.set_ts(1795250700000000);
  auto store = std::move(OpenSqliteLogStore(":memory:")).value();
  StoreQueries queries(store.get(), 1000);
  Evaluation first = EvaluatePolicies(*set, event, session, &PriceTable::Builtin(), &queries);
  if (!first.failures.empty()) {
    state.SkipWithError(("a policy failed: " + first.failures[0]).c_str());
    return;
  }
  for (auto _ : state) {
    Evaluation ev = EvaluatePolicies(*set, event, session, &PriceTable::Builtin(), &queries);
    benchmark::DoNotOptimize(ev);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["policies"] = static_cast<double>(set->entries().size());
  state.counters["answered"] = static_cast<double>(first.results.size());
}
BENCHMARK(BM_EvaluateToolCallAllBuiltins)->Repetitions(10)->ReportAggregatesOnly(true);

void BM_ParseEvent(benchmark::State& state) {
  std::string line = MakeToolCall(1).json().dump();
  for (auto _ : state) {
    auto e = Event::Parse(line);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseEvent);

}  // namespace
}  // namespace reins

REINS_BENCHMARK_MAIN();
