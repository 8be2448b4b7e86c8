// `reins audit sessions`, `show` and `cost` on a real log made by running
// the example sessions through `reins eval`.
#include <catch2/catch.hpp>
#include <filesystem>

#include "engine/canonical_json.h"
#include "engine/testing.h"
#include "tests/support/process.h"

using namespace reins;
using namespace reins::testing;
namespace fs = std::filesystem;

namespace {

// A log of four example sessions (six with the sub-agents), as docs/audit.md builds it.
class DayLog {
 public:
  DayLog() {
    for (const char* name : {"budget", "npm_then_push", "pii", "subagents"}) {
      std::string base = SourceDir() + "/examples/";
      ProcessResult r = Run({ReinsBin(), "eval", "--server", base + "policies/" + name + ".yaml",
                             "--events", base + "sessions/" + name + ".jsonl", "--db", db()});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
    }
  }
  std::string db() const { return dir_.File("day.db"); }
  ProcessResult Audit(std::vector<std::string> args) const {
    args.insert(args.begin(), {ReinsBin(), "audit"});
    args.insert(args.end(), {"--db", db()});
    return Run(args, "", "", {{"NO_COLOR", "1"}});
  }

 private:
  TempDir dir_;
};

std::vector<Json> JsonLines(const std::string& text) {
  std::vector<Json> out;
  for (const std::string& line : Lines(text)) out.push_back(Json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("audit sessions: one line per session with its totals, filtered", "[audit]") {
  DayLog log;
  ProcessResult all = log.Audit({"sessions", "--json"});
  REQUIRE(all.exit_code == 0);
  auto sessions = JsonLines(all.out);
  REQUIRE(sessions.size() == 6);
  Json budget;
  for (const Json& s : sessions) {
    if (s["session"] == "demo-budget") budget = s;
  }
  INFO(budget.dump());
  CHECK(budget["user"] == "ann");
  CHECK(budget["models"] == Json::array({"claude-opus-4-5", "claude-haiku-4-5"}));
  CHECK(budget["events"] == 22);
  CHECK(budget["cost_usd"].get<double>() == Approx(8.205));
  CHECK(budget["denies"] == 1);
  CHECK(budget["asks"] == 2);
  CHECK(budget["status"] == "ended");

  ProcessResult denied = log.Audit({"sessions", "--verdict", "deny"});
  REQUIRE(denied.exit_code == 0);
  CHECK(denied.out.find("demo-budget") != std::string::npos);
  CHECK(denied.out.find("lead ") != std::string::npos);
  CHECK(denied.out.find("demo-npm") == std::string::npos);
  ProcessResult asked = log.Audit({"sessions", "--verdict", "ask", "--json"});
  CHECK(JsonLines(asked.out).size() == 2);  // demo-budget and demo-npm

  CHECK(JsonLines(log.Audit({"sessions", "--user", "dee", "--json"}).out).size() == 3);
  CHECK(log.Audit({"sessions", "--since", "2026-11-21"}).out.find("demo-") == std::string::npos);
  CHECK(
      JsonLines(log.Audit({"sessions", "--since", "2026-11-20T11:30:00Z", "--json"}).out).size() ==
      1);
  ProcessResult bad = log.Audit({"sessions", "--since", "yesterday"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("'yesterday' is not a date") != std::string::npos);
}

TEST_CASE("audit cost: spend per user, model and session tree add up", "[audit]") {
  DayLog log;
  ProcessResult by_user = log.Audit({"cost", "--by", "user"});
  REQUIRE(by_user.exit_code == 0);
  INFO(by_user.out);
  CHECK(by_user.out.find("all models") != std::string::npos);
  CHECK(by_user.out.find("$9.72") != std::string::npos);  // the total line

  auto trees = JsonLines(log.Audit({"cost", "--by", "session", "--json"}).out);
  double lead = 0;
  for (const Json& row : trees) {
    CHECK(row["session"] != "lead.billing");  // children count under their root
    if (row["session"] == "lead") lead += row["cost_usd"].get<double>();
  }
  CHECK(lead == Approx(1.515));
  auto models = JsonLines(log.Audit({"cost", "--json"}).out);
  REQUIRE(models.size() == 3);
  CHECK(models[1]["model"] == "claude-opus-4-5");
  CHECK(models[1]["calls"] == 5);
  CHECK(models[1]["input_tokens"] == 720000);
  CHECK(log.Audit({"cost", "--since", "2026-11-21"}).out.find("claude") == std::string::npos);
}

TEST_CASE("audit show: the timeline with verdicts, approvals and the running cost", "[audit]") {
  DayLog log;
  ProcessResult shown = log.Audit({"show", "demo-budget"});
  REQUIRE(shown.exit_code == 0);
  INFO(shown.out);
  CHECK(shown.out.find("session demo-budget  started 2026-11-20T09:00:00Z  user ann") == 0);
  CHECK(shown.out.find("approved by ann after 7s: demo-budget:18") != std::string::npos);
  CHECK(shown.out.find("deny     budget") != std::string::npos);
  CHECK(shown.out.find("$8.2050") != std::string::npos);

  auto rows = JsonLines(log.Audit({"show", "demo-budget", "--types", "tool_call", "--json"}).out);
  REQUIRE(rows.size() == 6);
  CHECK(rows[1]["verdict"] == "ask");
  CHECK(rows[4]["verdict"] == "ask");
  CHECK(rows[4]["summary"] == "git diff --stat");
  CHECK(rows[4]["cost_usd"].get<double>() == Approx(5.88));

  ProcessResult missing = log.Audit({"show", "no-such-session"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("no session 'no-such-session'") != std::string::npos);
}

TEST_CASE("audit show --follow prints what another process appends until the session ends",
          "[audit]") {
  TempDir dir;
  std::string db = dir.File("live.db"), events = dir.File("events.jsonl");
  auto append = [&](const std::string& lines) {
    WriteFile(events, lines);
    ProcessResult r = Run({ReinsBin(), "eval", "--events", events, "--db", db});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  };
  append(R"({"session":"live","type":"session_start","user":"eve","ts":"2026-11-20T10:00:00Z"})");
  BackgroundProcess follow({ReinsBin(), "audit", "show", "live", "--follow", "--db", db},
                           dir.File("follow.log"), "", {{"NO_COLOR", "1"}});
  REQUIRE(follow.WaitForOutput("session_start", std::chrono::seconds(10)));
  append(R"({"session":"live","type":"tool_call","tool":"Bash","input":{"command":"make"},)"
         R"("ts":"2026-11-20T10:00:05Z"})");
  CHECK(follow.WaitForOutput("make", std::chrono::seconds(10)));
  append(R"({"session":"live","type":"session_end","ts":"2026-11-20T10:00:09Z"})");
  CHECK(follow.WaitFor(std::chrono::seconds(10)) == 0);
  CHECK(follow.Output().find("session_end") != std::string::npos);
}

TEST_CASE("audit: a missing log is an error, never created", "[audit]") {
  TempDir dir;
  ProcessResult r = Run({ReinsBin(), "audit", "sessions", "--db", dir.File("none.db")});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("no session log at " + dir.File("none.db")) != std::string::npos);
  CHECK_FALSE(fs::exists(dir.File("none.db")));
}
