// `reins replay`: real logs made by `reins eval` (or by an engine with a
// server's session layers) replayed by the real binary against changed
// policies.
#include <catch2/catch.hpp>
#include <filesystem>

#include "cli/embedded_engine.h"
#include "engine/testing.h"
#include "tests/support/process.h"

using namespace reins;
using namespace reins::testing;
namespace fs = std::filesystem;

namespace {

std::string Example(const std::string& path) { return SourceDir() + "/examples/" + path; }

// A log of the budget example session (demo-budget), made as a user would.
void RecordBudget(const std::string& db) {
  ProcessResult r = Run({ReinsBin(), "eval", "--server", Example("policies/budget.yaml"),
                         "--events", Example("sessions/budget.jsonl"), "--db", db});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

std::vector<Json> JsonLines(const std::string& text) {
  std::vector<Json> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    if (!line.empty()) out.push_back(Json::parse(line));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// The table row of `session`'s event `seq`, or "".
std::string Row(const std::string& out, const std::string& session, int seq) {
  std::string prefix = session + "  " + std::to_string(seq) + " ";
  size_t at = out.find("\n" + prefix);
  if (at == std::string::npos) return "";
  return out.substr(at + 1, out.find('\n', at + 1) - at - 1);
}

const Json* Find(const std::vector<Json>& lines, const std::string& kind, const char* key = nullptr,
                 const Json& value = nullptr) {
  for (const Json& j : lines) {
    if (j["kind"] == kind && (!key || j[key] == value)) return &j;
  }
  return nullptr;
}

// The budget example with its warnings at $1 and $5 instead of $2 and $5.
const char* kEarlierWarning =
    "policies:\n"
    "  budget:\n"
    "    use: cost_budget\n"
    "    with: {max_cost_usd: 8, ask_thresholds_usd: [1, 5], expensive_models: [opus]}\n"
    "  tool_cap:\n"
    "    use: max_tool_calls_per_session\n"
    "    with: {limit: 50}\n";

}  // namespace

TEST_CASE("replay: a tightened budget turns a recorded allow into ask, and the diff says so",
          "[replay]") {
  TempDir dir;
  std::string db = dir.File("log.db");
  RecordBudget(db);
  std::string before = ReadFile(db);
  WriteFile(dir.File("tight.yaml"), kEarlierWarning);

  ProcessResult r =
      Run({ReinsBin(), "replay", "demo-budget", "--db", db, "--server", dir.File("tight.yaml")});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  // seq 9, the first tool call after $1.25 of spend: recorded allow, now ask.
  std::string row = Row(r.out, "demo-budget", 9);
  CHECK(row.find("demo-budget  9    tool_call  Bash pytest -q  allow → ask  paused (approved)") ==
        0);
  CHECK(row.find("budget: Session spend $1.25 passed the $1.00 warning threshold (budget "
                 "$8.00); continue?") != std::string::npos);
  // seq 18 asked at $2 in the recording; the $1 warning was approved, so now it passes.
  row = Row(r.out, "demo-budget", 18);
  CHECK(row.find("ask → allow  passes") != std::string::npos);
  CHECK(row.find("budget: Session spend $2.50 passed the $2.00 warning threshold") !=
        std::string::npos);
  // The recorded approval of seq 18 answers nothing now; that of seq 35 (the
  // $5 warning, asked in both) is replayed.
  CHECK(r.out.find("approvals: 1 replayed, 1 not needed; 1 new ask answered as recorded") !=
        std::string::npos);
  // The recording's log is untouched.
  CHECK(ReadFile(db) == before);
  auto store = OpenSqliteLogStore(db);
  REQUIRE(store.ok());
  CHECK((*store)->Verify("demo-budget")->ok());
}

TEST_CASE("replay --json: one line per change, per policy and a summary", "[replay]") {
  TempDir dir;
  std::string db = dir.File("log.db");
  RecordBudget(db);
  WriteFile(dir.File("tight.yaml"), kEarlierWarning);
  ProcessResult r = Run({ReinsBin(), "replay", "demo-budget", "--db", db, "--server",
                         dir.File("tight.yaml"), "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto lines = JsonLines(r.out);
  const Json* ask = Find(lines, "change", "seq", 9);
  REQUIRE(ask);
  CHECK((*ask)["type"] == "tool_call");
  CHECK((*ask)["old"]["verdict"] == "allow");
  CHECK((*ask)["new"]["verdict"] == "ask");
  CHECK((*ask)["new"]["policies"] == Json::array({"budget"}));
  CHECK((*ask)["mark"] == "paused");
  CHECK((*ask)["answered_as"] == "approved");
  const Json* lifted = Find(lines, "change", "seq", 18);
  REQUIRE(lifted);
  CHECK((*lifted)["old"]["verdict"] == "ask");
  CHECK((*lifted)["new"]["verdict"] == "allow");

  const Json* budget = Find(lines, "policy", "policy", "budget");
  REQUIRE(budget);
  CHECK((*budget)["asks"] == 1);
  CHECK((*budget)["lifted"] == 1);
  // Paused at seq 9, the turn went on to spend $1.25 + $1.63 + $1.75 + $2.25
  // (seq 16, 28, 33 and 42) before the next request.
  CHECK((*budget)["saved_usd"] == Approx(6.88));

  const Json* summary = Find(lines, "summary");
  REQUIRE(summary);
  CHECK((*summary)["sessions"] == 1);
  CHECK((*summary)["events"] == 20);
  CHECK((*summary)["changed"] == 2);
  CHECK((*summary)["approvals_replayed"] == 1);
  CHECK((*summary)["approvals_unneeded"] == 1);
  CHECK((*summary)["asks_answered"] == 1);
  CHECK((*summary)["saved_usd"] == Approx(6.88));
  CHECK(lines.back() == *summary);
}

TEST_CASE("replay: a new deny is marked blocked and the turn's later spend counted saved",
          "[replay]") {
  TempDir dir;
  std::string db = dir.File("log.db");
  RecordBudget(db);
  WriteFile(dir.File("cap.yaml"),
            "policies:\n  tool_cap:\n    use: max_tool_calls_per_session\n    with: {limit: 1}\n");
  ProcessResult r =
      Run({ReinsBin(), "replay", "demo-budget", "--db", db, "--server", dir.File("cap.yaml")});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  // The second tool call (seq 18, asked about by the old budget) and every
  // later one is over the cap of 1.
  std::string row = Row(r.out, "demo-budget", 18);
  CHECK(row.find("ask → deny") != std::string::npos);
  CHECK(row.find("blocked") != std::string::npos);
  CHECK(row.find("Exceeded 1 tool calls this session") != std::string::npos);
  for (int seq : {25, 30, 50}) {
    row = Row(r.out, "demo-budget", seq);
    CHECK(row.find("allow → deny") != std::string::npos);
    CHECK(row.find("blocked") != std::string::npos);
  }
  CHECK(Row(r.out, "demo-budget", 35).find("ask → deny") != std::string::npos);
  // Under the new set the old budget's deny at seq 44 is gone.
  row = Row(r.out, "demo-budget", 44);
  CHECK(row.find("deny → allow") != std::string::npos);
  CHECK(row.find("passes") != std::string::npos);
  CHECK(row.find("Session spend $8.13 has reached the $8.00 budget") != std::string::npos);
  // Saved: after seq 18 the first turn spent $1.63 + $1.75 + $2.25; the
  // second turn's tool call (seq 50) is its last event.
  CHECK(r.out.find("would have saved $5.63") != std::string::npos);
}

TEST_CASE("replay with the recorded policies changes nothing", "[replay]") {
  // Every example session, recorded with its configuration and replayed
  // against the same files: the decisions must all come out the same
  // (spend rolled up from sub-agents, user-wide budgets, layers, approvals).
  int count = 0;
  for (const auto& entry : fs::directory_iterator(Example("sessions"))) {
    if (entry.path().extension() != ".jsonl") continue;
    std::string name = entry.path().stem().string();
    INFO("example " << name);
    TempDir dir;
    std::string policies = Example("policies/" + name);
    std::vector<std::string> layers = {"--server", policies + ".yaml"};
    if (fs::exists(policies + ".agent.yaml")) {
      layers.insert(layers.end(), {"--agent", policies + ".agent.yaml"});
    }
    if (fs::exists(policies + ".session.yaml")) {
      layers.insert(layers.end(), {"--session", policies + ".session.yaml"});
    }
    std::vector<std::string> eval = {
        ReinsBin(), "eval", "--events", entry.path().string(), "--db", dir.File("log.db")};
    eval.insert(eval.end(), layers.begin(), layers.end());
    ProcessResult r = Run(eval);
    REQUIRE(r.exit_code == 0);
    std::vector<std::string> replay = {ReinsBin(), "replay",           "--all",
                                       "--db",     dir.File("log.db"), "--json"};
    replay.insert(replay.end(), layers.begin(), layers.end());
    r = Run(replay);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err == "");
    auto lines = JsonLines(r.out);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["kind"] == "summary");
    CHECK(lines[0]["changed"] == 0);
    CHECK(lines[0]["approvals_unneeded"] == 0);
    CHECK(lines[0]["events"] > 0);
    ++count;
  }
  CHECK(count >= 5);
}

TEST_CASE("replaying a sub-agent's session replays its tree, with spend rolled up", "[replay]") {
  TempDir dir;
  std::string db = dir.File("log.db");
  ProcessResult r = Run({ReinsBin(), "eval", "--server", Example("policies/subagents.yaml"),
                         "--events", Example("sessions/subagents.jsonl"), "--db", db});
  REQUIRE(r.exit_code == 0);
  WriteFile(dir.File("half.yaml"),
            "policies:\n  tree_budget:\n    use: cost_budget\n"
            "    with: {max_cost_usd: 0.5, expensive_models: [sonnet, opus]}\n");
  r = Run({ReinsBin(), "replay", "lead.search", "--db", db, "--server", dir.File("half.yaml")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  // The lead's second Task is over $0.50 only with lead.billing's $0.72
  // rolled up into it.
  std::string row = Row(r.out, "lead        ", 8);
  CHECK(row.find("allow → deny  blocked") != std::string::npos);
  CHECK(row.find("Session spend $0.72 has reached the $0.50 budget") != std::string::npos);
  CHECK(Row(r.out, "lead.search ", 5).find("allow → deny") != std::string::npos);
  CHECK(r.out.find("replayed 3 sessions, 13 events: 3 verdicts change") != std::string::npos);
}

TEST_CASE("replay follows a session's recorded policies unless --session replaces them",
          "[replay]") {
  TempDir dir;
  WriteFile(dir.File("server.yaml"),
            "engine: {db: log.db}\npolicies:\n  budget: {use: cost_budget, with: {max_cost_usd: "
            "100}}\n");
  {
    // As `reins serve` records it: the end user's own policy in a config record.
    auto e = EmbeddedEngine::Open(dir.File("server.yaml"), "", {}, {});
    REQUIRE(e.ok());
    Engine& engine = *(*e)->engine;
    auto event = [&](Json j, int second) {
      j["session"] = "s";
      j["ts"] = FormatRfc3339(kStart + second * kSecond);
      auto ev = Event::FromJson(j);
      REQUIRE(ev.ok());
      auto d = engine.Submit(std::move(ev).value());
      REQUIRE(d.ok());
      return std::string(VerdictName(d->verdict));
    };
    event({{"type", "session_start"}, {"user", "ann"}}, 0);
    std::vector<ConfigError> errors;
    REQUIRE((*e)->policies
                ->AddSession("s", "mine",
                             {{"use", "max_tool_calls_per_session"}, {"with", {{"limit", 1}}}},
                             "ann", &errors)
                .ok());
    Json call = {{"type", "tool_call"}, {"tool", "Bash"}, {"input", {{"command", "ls"}}}};
    CHECK(event(call, 1) == "allow");
    CHECK(event(call, 2) == "deny");
  }
  std::string db = dir.File("log.db");
  ProcessResult r = Run({ReinsBin(), "replay", "s", "--config", dir.File("server.yaml"), "--server",
                         dir.File("server.yaml"), "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto lines = JsonLines(r.out);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["changed"] == 0);

  WriteFile(dir.File("mine.yaml"),
            "policies:\n  mine: {use: max_tool_calls_per_session, with: {limit: 5}}\n");
  r = Run({ReinsBin(), "replay", "s", "--db", db, "--server", dir.File("server.yaml"), "--session",
           dir.File("mine.yaml"), "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  lines = JsonLines(r.out);
  // seq 7: the second tool call (1 start, 3 the config record, 4 the first call).
  const Json* change = Find(lines, "change", "seq", 7);
  REQUIRE(change);
  CHECK((*change)["old"]["verdict"] == "deny");
  CHECK((*change)["old"]["reason"] == "Exceeded 1 tool calls this session");
  CHECK((*change)["new"]["verdict"] == "allow");
  CHECK((*change)["mark"] == "passes");
  CHECK((*Find(lines, "policy", "policy", "mine"))["lifted"] == 1);
}

TEST_CASE("replay --events: the verdicts an events file gets that are not allow", "[replay]") {
  TempDir dir;
  WriteFile(dir.File("tight.yaml"), kEarlierWarning);
  ProcessResult r = Run({ReinsBin(), "replay", "--events", Example("sessions/budget.jsonl"),
                         "--server", dir.File("tight.yaml"), "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto lines = JsonLines(r.out);
  // Line 5 (seq 9 in a log) asks; the file's first approval answers it.
  const Json* ask = Find(lines, "change", "seq", 5);
  REQUIRE(ask);
  CHECK((*ask)["old"].is_null());
  CHECK((*ask)["new"]["verdict"] == "ask");
  const Json* summary = Find(lines, "summary");
  REQUIRE(summary);
  CHECK((*summary)["approvals_replayed"] == 2);
  CHECK((*summary)["approvals_unneeded"] == 0);
}

TEST_CASE("replay: bad input exits 2 and says what is wrong", "[replay]") {
  TempDir dir;
  std::string db = dir.File("log.db");
  RecordBudget(db);
  std::string budget = Example("policies/budget.yaml");

  ProcessResult r = Run({ReinsBin(), "replay", "nope", "--db", db, "--server", budget});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "reins replay: no session 'nope' in the log\n");

  r = Run({ReinsBin(), "replay", "--db", db, "--server", budget});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "reins replay: give one of SESSION, --all or --events FILE\n");

  r = Run({ReinsBin(), "replay", "demo-budget", "--all", "--db", db, "--server", budget});
  CHECK(r.exit_code == 2);
  r = Run({ReinsBin(), "replay", "demo-budget", "--since", "7d", "--db", db, "--server", budget});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "reins replay: --since goes with --all\n");

  r = Run(
      {ReinsBin(), "replay", "demo-budget", "--db", dir.File("missing.db"), "--server", budget});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("no session log at " + dir.File("missing.db")) != std::string::npos);
  CHECK(!fs::exists(dir.File("missing.db")));

  WriteFile(dir.File("bad.yaml"), "policies:\n  budget:\n    use: cost_budgt\n");
  r = Run({ReinsBin(), "replay", "demo-budget", "--db", db, "--server", dir.File("bad.yaml")});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(dir.File("bad.yaml") + ":3:10: policy 'budget': unknown policy") !=
        std::string::npos);

  WriteFile(dir.File("events.jsonl"), R"({"session":"s","type":"tool_cal"})"
                                      "\n");
  r = Run({ReinsBin(), "replay", "--events", dir.File("events.jsonl"), "--server", budget});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(dir.File("events.jsonl") + ":1: field 'type': unknown event type") == 0);
}
