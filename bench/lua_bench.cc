// The cost of one Lua policy evaluation: a simple rule (read the event and
// the parameters, match a pattern, answer), and a rule that queries the
// session log (session.events over a real SQLite log). Both run through
// EvaluatePolicies, as the engine calls them, without the append.
#include <filesystem>
#include <fstream>
#include <memory>

#include "bench/bench_main.h"
#include "engine/config.h"
#include "engine/evaluator.h"
#include "engine/log_store.h"
#include "engine/policy_set.h"
#include "scripts/lua_loader.h"

namespace reins {
namespace {

const char* kSimpleRule = R"lua(
return {
  name = "simple",
  events = { "tool_call" },
  params = { blocked = { type = "array", items = "string", default = { "rm", "dd", "mkfs" } } },
  evaluate = function(event, session, params)
    if event.tool ~= "Bash" then return nil end
    local program = event.input.command:match("^%s*(%S+)")
    for _, b in ipairs(params.blocked) do
      if program == b then return reins.deny("blocked: " .. b) end
    end
    return nil
  end,
}
)lua";

const char* kQueryRule = R"lua(
return {
  name = "query",
  events = { "tool_call" },
  evaluate = function(event, session, params)
    local failures = 0
    local recent = session.events{type = "tool_result", tool = event.tool, since = event.seq - 40}
    for _, e in ipairs(recent) do
      if e.is_error then failures = failures + 1 end
    end
    if failures >= 100 then return reins.ask("many failures") end
    return nil
  end,
}
)lua";

// Log queries straight over the store, as the engine answers them.
class StoreQueries : public QueryContext {
 public:
  explicit StoreQueries(LogStore* store) : store_(store) {}
  Result<double> UserSpend(std::string_view user, std::string_view day) const override {
    return store_->UserSpend(user, day);
  }
  Result<Json> UserValue(std::string_view user, std::string_view policy,
                         std::string_view key) const override {
    return store_->UserValue(user, policy, key);
  }
  Status Events(std::string_view session, const EventQuery& query,
                const std::function<bool(const Record&)>& fn) const override {
    int64_t limit = query.limit > 0 ? query.limit : 1000, delivered = 0;
    return store_->Scan(session, query.since, 0, [&](const Record& r) {
      if (r.kind != RecordKind::kEvent) return true;
      if (!query.type.empty() && r.body.value("type", "") != query.type) return true;
      if (!query.tool.empty() && r.body.value("tool", "") != query.tool) return true;
      return fn(r) && ++delivered < limit;
    });
  }

 private:
  LogStore* store_;
};

std::shared_ptr<const PolicySet> LuaPolicies(const std::string& name, const char* script) {
  static PolicyRegistry* registry = [] {
    auto* r = new PolicyRegistry();
    if (!RegisterLuaLoader(r).ok()) std::abort();
    return r;
  }();
  std::string dir = std::filesystem::temp_directory_path() / "reins-lua-bench";
  std::filesystem::create_directories(dir);
  std::string path = dir + "/" + name + ".lua";
  std::ofstream(path) << script;
  ConfigLoader loader(registry);
  std::vector<ConfigError> errors;
  auto c = loader.ParseServer("policies:\n  " + name + ": {lua: " + path + "}\n", "bench.yaml", dir,
                              &errors);
  if (!c.ok()) {
    fprintf(stderr, "%s\n", c.status().ToString().c_str());
    std::abort();
  }
  return *PolicySet::Compose(nullptr, nullptr, &c->policies);
}

Event ToolCall(const std::string& session, int64_t i) {
  Json j = {{"session", session},
            {"type", "tool_call"},
            {"tool", "Bash"},
            {"call_id", "c" + std::to_string(i)},
            {"input", {{"command", "pytest -q tests/test_parser.py"}}}};
  auto e = Event::FromJson(j);
  e->set_ts(1795250700000000 + i);
  e->set_seq(2 * i + 1);
  return std::move(e).value();
}

void BM_LuaSimpleRule(benchmark::State& state) {
  auto set = LuaPolicies("simple", kSimpleRule);
  SessionState session("bench");
  Event event = ToolCall("bench", 1);
  for (auto _ : state) {
    Evaluation ev = EvaluatePolicies(*set, event, session, &PriceTable::Builtin(), nullptr);
    benchmark::DoNotOptimize(ev);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LuaSimpleRule)->Repetitions(5)->ReportAggregatesOnly(true);

// The session has 50 tool calls and 50 results in its log; the rule reads
// the results of the tool among the last 40 records (a query to SQLite, and
// views over the rows).
void BM_LuaLogQuery(benchmark::State& state) {
  auto set = LuaPolicies("query", kQueryRule);
  auto store = OpenSqliteLogStore(":memory:");
  if (!store.ok()) std::abort();
  std::vector<Record> records;
  std::string prev = kGenesisHash;
  for (int64_t i = 0; i < 100; ++i) {
    Record r;
    r.session = "bench";
    r.seq = i + 1;
    r.kind = RecordKind::kEvent;
    r.ts = 1795250700000000 + i;
    r.body = {{"session", "bench"}, {"type", i % 2 ? "tool_result" : "tool_call"},
              {"tool", "Bash"},     {"call_id", "c" + std::to_string(i / 2)},
              {"seq", r.seq},       {"ts", FormatRfc3339(r.ts)}};
    if (i % 2) r.body["is_error"] = i % 3 == 0;
    r.Seal(prev);
    prev = r.hash;
    records.push_back(std::move(r));
  }
  if (!(*store)->Append(records).ok()) std::abort();
  StoreQueries queries(store->get());
  SessionState session("bench");
  Event event = ToolCall("bench", 100);
  event.set_seq(101);  // the next record of the log
  // Once outside the loop: the rule checks it reads the 20 results it expects.
  Evaluation check = EvaluatePolicies(*set, event, session, &PriceTable::Builtin(), &queries);
  if (!check.failures.empty()) {
    state.SkipWithError(check.failures[0].c_str());
    return;
  }
  for (auto _ : state) {
    Evaluation ev = EvaluatePolicies(*set, event, session, &PriceTable::Builtin(), &queries);
    benchmark::DoNotOptimize(ev);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LuaLogQuery)->Repetitions(5)->ReportAggregatesOnly(true);

}  // namespace
}  // namespace reins

REINS_BENCHMARK_MAIN();
