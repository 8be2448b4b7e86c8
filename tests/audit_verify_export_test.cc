// `reins audit verify` and `reins audit export`, run as the real binary on
// logs that `reins eval` recorded from the bundled example sessions.
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "engine/canonical_json.h"
#include "engine/testing.h"
#include "tests/support/process.h"

using namespace reins;
using namespace reins::testing;
namespace fs = std::filesystem;

namespace {

// `reins eval` on an example's policies (with its agent and session layers,
// if it has them) and `events`, recording into `db`.
ProcessResult Eval(const std::string& example, const std::string& events, const std::string& db) {
  std::string policies = SourceDir() + "/examples/policies/" + example;
  std::vector<std::string> args = {ReinsBin(), "eval", "--server", policies + ".yaml"};
  if (fs::exists(policies + ".agent.yaml")) {
    args.insert(args.end(), {"--agent", policies + ".agent.yaml"});
  }
  if (fs::exists(policies + ".session.yaml")) {
    args.insert(args.end(), {"--session", policies + ".session.yaml"});
  }
  args.insert(args.end(), {"--events", events, "--db", db});
  return Run(args);
}

ProcessResult EvalExample(const std::string& example, const std::string& db) {
  ProcessResult r = Eval(example, SourceDir() + "/examples/sessions/" + example + ".jsonl", db);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

ProcessResult Audit(std::vector<std::string> args) {
  args.insert(args.begin(), {ReinsBin(), "audit"});
  return Run(args);
}

}  // namespace

TEST_CASE("audit verify: a recorded log verifies; a record edited in sqlite3 is caught",
          "[audit][verify]") {
  TempDir dir;
  std::string db = dir.File("log.db");
  for (const char* example : {"budget", "pause_every", "subagents"}) EvalExample(example, db);

  ProcessResult r = Audit({"verify", "--all", "--db", db});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out ==
        "session         records  status  first break\n"
        "demo-budget          54  ok\n"
        "demo-pause           34  ok\n"
        "lead                 16  ok\n"
        "lead.billing          6  ok\n"
        "lead.search           6  ok\n"
        "5 sessions, 116 records checked: every chain verifies\n");
  ProcessResult count = Shell("sqlite3 '" + db + "' 'SELECT count(*) FROM events'");
  CHECK(count.out == "116\n");

  // Tampering: the append-only trigger has to go first, then a tool call's
  // command is rewritten after the fact.
  ProcessResult edit = Shell("sqlite3 '" + db +
                             "' \"DROP TRIGGER events_no_update; UPDATE events SET body = "
                             "replace(body, 'pytest -q', 'pytest -q --lf') WHERE session = "
                             "'demo-budget' AND seq = 9\"");
  INFO(edit.err);
  REQUIRE(edit.exit_code == 0);

  r = Audit({"verify", "--all", "--db", db});
  CHECK(r.exit_code == 1);
  auto lines = Lines(r.out);
  REQUIRE(lines.size() == 7);
  CHECK(lines[1] ==
        "demo-budget           9  BROKEN  seq 9: hash mismatch: the record was changed, or an "
        "earlier one rewritten with its hash");
  CHECK(lines[2].find("  ok") != std::string::npos);
  CHECK(lines[6] == "5 sessions, 71 records checked: 1 broken");

  r = Audit({"verify", "demo-budget", "--db", db, "--json"});
  CHECK(r.exit_code == 1);
  Json j = Json::parse(r.out);
  CHECK(j["session"] == "demo-budget");
  CHECK(j["ok"] == false);
  CHECK(j["seq"] == 9);
  CHECK(j["records"] == 9);
  CHECK(j["reason"].get<std::string>().rfind("hash mismatch", 0) == 0);

  r = Audit({"verify", "demo-pause", "--db", db, "--json"});
  CHECK(r.exit_code == 0);
  CHECK(Json::parse(r.out)["ok"] == true);

  // A deleted record shows as a gap at the record after it.
  edit = Shell("sqlite3 '" + db +
               "' \"DROP TRIGGER events_no_delete; DELETE FROM events WHERE session = "
               "'demo-pause' AND seq = 4\"");
  REQUIRE(edit.exit_code == 0);
  r = Audit({"verify", "--all", "--db", db, "--json"});
  CHECK(r.exit_code == 1);
  for (const std::string& line : Lines(r.out)) {
    Json row = Json::parse(line);
    if (row["session"] != "demo-pause") continue;
    CHECK(row["seq"] == 5);
    CHECK(row["reason"] == "expected record 4, found 5 (records missing)");
  }
}

TEST_CASE("audit verify and export: bad input gets a clear error", "[audit][verify]") {
  TempDir dir;
  std::string db = dir.File("log.db");
  ProcessResult r = Audit({"verify", "--all", "--db", db});
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "reins audit verify: no session log at " + db + " (give --db PATH or --config FILE)\n");
  CHECK(!fs::exists(db));  // auditing never creates a log

  EvalExample("tool_limit", db);
  r = Audit({"verify", "nope", "--db", db});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "reins audit verify: no session 'nope' in " + db + "\n");
  r = Audit({"verify", "--db", db});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "reins audit verify: give a SESSION or --all\n");
  r = Audit({"export", "nope", "--db", db});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "reins audit export: no session 'nope' in " + db + "\n");
  r = Audit({"export", "--all", "--since", "yesterday-ish", "--db", db});
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("reins audit export: --since: 'yesterday-ish' is not a date", 0) == 0);
}

TEST_CASE("audit export replays through reins eval to the same decisions", "[audit][export]") {
  // Single sessions, approvals and Lua policies; several sessions sharing a
  // user's daily budget and child sessions rolling spend up (--all).
  for (const char* example : {"budget", "pause_every", "npm_then_push_lua", "layers",
                              "user_daily_cost_budget", "subagents", "deploys_per_day"}) {
    INFO("example " << example);
    TempDir dir;
    ProcessResult original = EvalExample(example, dir.File("log.db"));
    std::string first = Json::parse(Lines(original.out)[0])["session"];
    bool several = std::string(example) == "user_daily_cost_budget" ||
                   std::string(example) == "subagents" || std::string(example) == "deploys_per_day";
    ProcessResult exported =
        Audit({"export", several ? "--all" : first, "--db", dir.File("log.db")});
    INFO(exported.err);
    REQUIRE(exported.exit_code == 0);
    // Canonical JSON lines: each line is its own canonical form.
    for (const std::string& line : Lines(exported.out))
      CHECK(CanonicalJson(Json::parse(line)) == line);
    WriteFile(dir.File("export.jsonl"), exported.out);

    ProcessResult replayed = Eval(example, dir.File("export.jsonl"), dir.File("replay.db"));
    INFO(replayed.err);
    CHECK(replayed.exit_code == 0);
    CHECK(replayed.out == original.out);
  }
}

TEST_CASE("audit export: what the PII policy masked stays masked", "[audit][export]") {
  TempDir dir;
  std::string db = dir.File("log.db");
  EvalExample("pii", db);
  // The log keeps the event as it arrived (its hash covers it) ...
  ProcessResult raw =
      Shell("sqlite3 '" + db + "' \"SELECT body FROM events WHERE kind = 'event'\"");
  REQUIRE(raw.out.find("jane.doe@example.com") != std::string::npos);
  const char* secrets[] = {"jane.doe@example.com", "AKIAIOSFODNN7EXAMPLE", "4111 1111 1111 1111"};

  // ... and every export shows it as the policy let it through.
  for (std::vector<std::string> extra : std::vector<std::vector<std::string>>{
           {}, {"--records"}, {"--format", "csv"}, {"--records", "--format", "csv"}}) {
    std::vector<std::string> args = {"export", "--all", "--db", db};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = Audit(args);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    for (const char* secret : secrets) CHECK(r.out.find(secret) == std::string::npos);
    CHECK(r.out.find("[REDACTED:email]") != std::string::npos);
    CHECK(r.out.find("[REDACTED:credit_card]") != std::string::npos);
  }

  ProcessResult r = Audit({"export", "demo-pii", "--records", "--db", db});
  auto lines = Lines(r.out);
  REQUIRE(lines.size() == 6);
  Json first = Json::parse(lines[0]);
  CHECK(first["kind"] == "event");
  CHECK(first["patched"] == true);
  CHECK(first["body"]["text"] ==
        "Why does login fail for [REDACTED:email]? Our key is [REDACTED:aws_access_key].");
  CHECK(first["hash"].get<std::string>().size() == 64);
  CHECK(Json::parse(lines[1]).count("patched") == 0);  // decisions are exported as recorded
  CHECK(Json::parse(lines[4]).count("patched") == 0);  // an event nothing modified

  // Replayed, the masked prompts have nothing left to mask.
  r = Audit({"export", "demo-pii", "--db", db});
  WriteFile(dir.File("export.jsonl"), r.out);
  ProcessResult replayed = Eval("pii", dir.File("export.jsonl"), dir.File("replay.db"));
  CHECK(replayed.exit_code == 0);
  for (const std::string& line : Lines(replayed.out))
    CHECK(Json::parse(line)["verdict"] == "allow");
}

TEST_CASE("audit export: a mask stays when a later policy denies the event", "[audit][export]") {
  TempDir dir;
  WriteFile(dir.File("p.yaml"),
            "policies:\n"
            "  redact: {use: deny_pii_in_llm_request, with: {action: redact}}\n"
            "  budget: {use: cost_budget, with: {max_cost_usd: 1, expensive_models: [opus]}}\n");
  WriteFile(
      dir.File("events.jsonl"),
      R"({"session":"s","type":"session_start","model":"claude-opus-4-5"})"
      "\n"
      R"({"session":"s","type":"cost","cost_usd":2})"
      "\n"
      R"({"session":"s","type":"llm_request","model":"claude-opus-4-5","text":"mail jane.doe@example.com"})"
      "\n");
  ProcessResult r = Run({ReinsBin(), "eval", "--server", dir.File("p.yaml"), "--events",
                         dir.File("events.jsonl"), "--db", dir.File("log.db")});
  REQUIRE(r.exit_code == 0);
  REQUIRE(Json::parse(Lines(r.out)[2])["verdict"] == "deny");
  CHECK(Json::parse(Lines(r.out)[2]).count("patch") == 0);  // a deny answers with no patch
  r = Audit({"export", "s", "--db", dir.File("log.db")});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("jane.doe@example.com") == std::string::npos);
  CHECK(Json::parse(Lines(r.out)[2])["text"] == "mail [REDACTED:email]");
}

TEST_CASE("audit export: CSV rows, --since and every record with --records", "[audit][export]") {
  TempDir dir;
  std::string db = dir.File("log.db");
  EvalExample("budget", db);
  ProcessResult r = Audit({"export", "demo-budget", "--format", "csv", "--db", db});
  REQUIRE(r.exit_code == 0);
  auto rows = Lines(r.out);
  REQUIRE(rows.size() == 1 + 22);  // the header and one row per event
  CHECK(rows[0] ==
        "session,seq,ts,type,tool,model,verdict,policies,reason,cost_usd,input_tokens,"
        "output_tokens,approval_id,summary");
  CHECK(rows[4] ==
        "demo-budget,7,2026-11-20T09:00:21.000000Z,llm_response,,claude-opus-4-5,allow,,,1.25,"
        "150000,20000,,claude-opus-4-5");
  CHECK(rows[9] ==
        "demo-budget,18,2026-11-20T09:00:56.000000Z,tool_call,Edit,,ask,budget,budget: Session "
        "spend $2.50 passed the $2.00 warning threshold (budget $8.00); continue?,,,,"
        "demo-budget:18,Edit parser.py");

  r = Audit({"export", "--all", "--since", "2026-11-20T09:00:56Z", "--db", db});
  REQUIRE(r.exit_code == 0);
  auto events = Lines(r.out);
  REQUIRE(events.size() == 14);
  CHECK(Json::parse(events[0])["seq"] == 18);
  r = Audit({"export", "--all", "--since", "2026-11-21", "--db", db});
  CHECK(r.exit_code == 0);
  CHECK(r.out.empty());

  r = Audit({"export", "demo-budget", "--records", "--db", db});
  REQUIRE(r.exit_code == 0);
  auto records = Lines(r.out);
  ProcessResult count = Shell("sqlite3 '" + db + "' 'SELECT count(*) FROM events'");
  REQUIRE(records.size() == std::stoul(count.out));
  // The export carries what the chain needs: re-hashing it gives its hashes.
  std::string prev = kGenesisHash;
  for (size_t i = 0; i < records.size(); ++i) {
    Json rec = Json::parse(records[i]);
    CHECK(rec["seq"] == i + 1);
    Record check;
    check.session = rec["session"];
    check.seq = rec["seq"];
    check.kind = *RecordKindFromName(rec["kind"].get<std::string>());
    check.ts = *ParseRfc3339(rec["ts"].get<std::string>());
    check.body = rec["body"];
    check.Seal(prev);
    CHECK(check.hash == rec["hash"]);
    prev = check.hash;
  }
}

TEST_CASE("audit verify: the benchmark's generated log verifies on two threads",
          "[audit][verify]") {
  TempDir dir;
  std::string db = dir.File("big.db");
  ProcessResult made = Run({REINS_MAKE_LOG, "--out", db, "--events", "20000", "--sessions", "300"});
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(made.out, m, std::regex("([0-9]+) records .* in ([0-9]+) sessions")));
  ProcessResult r = Audit({"verify", "--all", "--threads", "2", "--db", db});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  auto lines = Lines(r.out);
  REQUIRE(lines.size() == 1 + std::stoul(m[2]) + 1);
  CHECK(lines.back() ==
        m[2].str() + " sessions, " + m[1].str() + " records checked: every chain verifies");
}
