// `reins test`: policy tests in YAML, run by the real binary on real files.
#include <catch2/catch.hpp>
#include <filesystem>

#include "engine/canonical_json.h"
#include "engine/testing.h"
#include "tests/support/process.h"

using namespace reins;
using namespace reins::testing;
namespace fs = std::filesystem;

namespace {

// Two tool calls per session, and an ask once spend passes $1.
const char* kPolicies = R"(policies:
  cap: {use: max_tool_calls_per_session, with: {limit: 2}}
  budget: {use: cost_budget, with: {ask_thresholds_usd: [1]}}
)";

const char* kPassing = R"(server: policies.yaml
cases:
  - name: the third call is denied
    events:
      - {type: tool_call, tool: Bash, input: {command: ls}, expect: {verdict: allow, policy: cap}}
      - {type: tool_call, tool: Bash, input: {command: ls}}
      - {type: tool_call, tool: Bash, input: {command: ls}, expect: {verdict: deny, reason: Exceeded 2}}
    after: {tool_calls_total: 3, tool_calls: {Bash: 3}}
  - name: spend past $1 asks
    given:
      - {type: cost, cost_usd: 1.5}
    events:
      - {type: tool_call, tool: Bash, input: {command: ls}, expect: ask}
      - {type: approval, approved: true, by: ann, expect: allow}
    after: {cost_usd: 1.5, approvals: {approved: 1}}
)";

ProcessResult RunIn(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {ReinsBin(), "test"});
  return Run(args, "", dir.path(), {{"NO_COLOR", "1"}});
}

}  // namespace

TEST_CASE("reins test: a passing file prints PASS per case and the totals", "[cli][test]") {
  TempDir dir;
  WriteFile(dir.File("policies.yaml"), kPolicies);
  WriteFile(dir.File("cap.test.yaml"), kPassing);
  ProcessResult r = RunIn(dir, {"cap.test.yaml"});
  CHECK(r.err == "");
  CHECK(r.out ==
        "PASS  cap.test.yaml: the third call is denied\n"
        "PASS  cap.test.yaml: spend past $1 asks\n"
        "2 passed, 0 failed\n");
  CHECK(r.exit_code == 0);
}

TEST_CASE("reins test: failures name the place, the event, what was expected and got",
          "[cli][test]") {
  TempDir dir;
  WriteFile(dir.File("policies.yaml"), kPolicies);
  WriteFile(dir.File("wrong.test.yaml"), R"(server: policies.yaml
cases:
  - name: passes
    events: [{type: request, text: hi, expect: allow}]
  - name: wrong answers
    events:
      - {type: tool_call, tool: Bash, input: {command: ls}, expect: deny}
      - {type: tool_call, tool: Bash, input: {command: pwd}}
      - type: tool_call
        tool: Read
        input: {file_path: a.txt}
        expect: {verdict: deny, reason: "Exceeded 3", policy: budget}
    after: {tool_calls_total: 2, tool_calls: {Read: 1}}
  - name: an approval with nothing to approve
    events:
      - {type: approval, approved: true, expect: allow}
      - {type: request, text: never sent, expect: deny}
)");
  ProcessResult r = RunIn(dir, {"wrong.test.yaml"});
  CHECK(r.err == "");
  CHECK(r.out ==
        "PASS  wrong.test.yaml: passes\n"
        "FAIL  wrong.test.yaml: wrong answers\n"
        "      wrong.test.yaml:7: event 1 (tool_call Bash ls)\n"
        "        expected: deny\n"
        "        got:      allow by cap\n"
        "      wrong.test.yaml:9: event 3 (tool_call Read a.txt)\n"
        "        expected: deny by budget, reason containing \"Exceeded 3\"\n"
        "        got:      deny by cap, reason \"Exceeded 2 tool calls this session\"\n"
        "      wrong.test.yaml:13: after, session 'test': tool_calls_total\n"
        "        expected: 2\n"
        "        got:      3\n"
        "FAIL  wrong.test.yaml: an approval with nothing to approve\n"
        "      wrong.test.yaml:16: event 1 (approval approve)\n"
        "        rejected: session 'test' has no pending approval to resolve\n"
        "1 passed, 2 failed\n");
  CHECK(r.exit_code == 1);

  // The same as JSON, for machines.
  r = RunIn(dir, {"wrong.test.yaml", "--json"});
  CHECK(r.exit_code == 1);
  Json j = Json::parse(r.out);
  CHECK(j["passed"] == 1);
  CHECK(j["failed"] == 2);
  REQUIRE(j["cases"].size() == 3);
  CHECK(j["cases"][1]["name"] == "wrong answers");
  CHECK(j["cases"][1]["line"] == 5);
  CHECK(j["cases"][1]["passed"] == false);
  CHECK(j["cases"][1]["failures"][0] == Json{{"where", "wrong.test.yaml:7"},
                                             {"what", "event 1 (tool_call Bash ls)"},
                                             {"expected", "deny"},
                                             {"got", "allow by cap"}});
}

TEST_CASE("reins test: malformed files are named with file:line:column and nothing runs",
          "[cli][test]") {
  TempDir dir;
  WriteFile(dir.File("policies.yaml"), kPolicies);
  WriteFile(dir.File("good.test.yaml"), kPassing);
  WriteFile(dir.File("bad.test.yaml"), R"(server: policies.yaml
cases:
  - name: typos
    evnts: []
    events:
      - {type: tool_call, tool: Bash, input: {command: ls}, expect: alow}
      - {type: tool_call, input: {command: ls}}
      - {type: request, text: hi, expect: {verdict: ask, reasn: x}}
  - name: typos
    clock: yesterday
    events: missing.jsonl
  - name: config
    server: nope.yaml
    events: [{type: request, text: hi}]
)");
  ProcessResult r = RunIn(dir, {"."});
  CHECK(r.out == "");
  CHECK(r.err ==
        "./bad.test.yaml:4:5: unknown key 'evnts' in a case (name, server, agent, session, "
        "session_id, clock, given, events, expect, otherwise, after)\n"
        "./bad.test.yaml:6:69: unknown verdict 'alow' (expected allow, deny, ask or modify)\n"
        "./bad.test.yaml:7:9: event 2: field 'tool': required for tool_call events (string)\n"
        "./bad.test.yaml:8:58: unknown key 'reasn' in an expectation (verdict, reason, policy, "
        "patch)\n"
        "./bad.test.yaml:9:11: two cases are named 'typos'\n"
        "./bad.test.yaml:10:12: clock: invalid RFC 3339 timestamp 'yesterday': expected "
        "YYYY-MM-DD\n"
        "./bad.test.yaml:11:13: events: no such file: missing.jsonl\n"
        "./bad.test.yaml:13:13: server: no such file: nope.yaml\n");
  CHECK(r.exit_code == 2);

  // A configuration that does not load names its own errors; YAML syntax
  // errors are named too.
  WriteFile(dir.File("bad.test.yaml"), "cases: [\n");
  WriteFile(dir.File("broken.yaml"), "policies:\n  x: {use: nope}\n");
  WriteFile(dir.File("config.test.yaml"),
            "server: broken.yaml\ncases:\n  - name: a\n    events: [{type: request, text: hi}]\n");
  r = RunIn(dir, {"bad.test.yaml", "config.test.yaml"});
  CHECK(r.out == "");
  CHECK(r.err ==
        "bad.test.yaml:2:1: end of sequence flow not found\n"
        "config.test.yaml:3:5: the configuration does not load:\n"
        "  broken.yaml:2:12: policy 'x': unknown policy 'nope'; `reins policies` lists them\n");
  CHECK(r.exit_code == 2);

  r = RunIn(dir, {"no-such-dir"});
  CHECK(r.err == "reins test: no-such-dir: no such file or directory\n");
  CHECK(r.exit_code == 2);
}

TEST_CASE("reins test: --run filters cases by 'FILE: NAME', and directories are searched",
          "[cli][test]") {
  TempDir dir;
  fs::create_directories(dir.File("sub/deeper"));
  WriteFile(dir.File("policies.yaml"), kPolicies);
  WriteFile(dir.File("sub/deeper/cap.test.yaml"),
            std::string(kPassing).replace(0, 21, "server: ../../policies.yaml"));
  WriteFile(dir.File("sub/a.test.yaml"), R"(server: ../policies.yaml
cases:
  - name: a request passes
    events: [{type: request, text: hi, expect: allow}]
)");
  WriteFile(dir.File("sub/not-a-test.yaml"), "this is: [not read\n");

  ProcessResult r = RunIn(dir, {"sub"});
  CHECK(r.err == "");
  CHECK(r.out ==
        "PASS  sub/a.test.yaml: a request passes\n"
        "PASS  sub/deeper/cap.test.yaml: the third call is denied\n"
        "PASS  sub/deeper/cap.test.yaml: spend past $1 asks\n"
        "3 passed, 0 failed\n");
  CHECK(r.exit_code == 0);

  r = RunIn(dir, {"sub", "--run", "cap.test.yaml: .*(denied|nothing)"});
  CHECK(r.out ==
        "PASS  sub/deeper/cap.test.yaml: the third call is denied\n"
        "1 passed, 0 failed\n");
  CHECK(r.exit_code == 0);

  r = RunIn(dir, {"sub", "--run", "^sub/a"});
  CHECK(r.out == "PASS  sub/a.test.yaml: a request passes\n1 passed, 0 failed\n");

  r = RunIn(dir, {"sub", "--run", "no such case"});
  CHECK(r.out == "");
  CHECK(r.err == "reins test: no case matches --run no such case\n");
  CHECK(r.exit_code == 2);

  r = RunIn(dir, {"sub", "--run", "(unclosed"});
  CHECK(r.err.find("reins test: --run: missing ): (unclosed") == 0);
  CHECK(r.exit_code == 2);

  fs::create_directories(dir.File("empty"));
  r = RunIn(dir, {"empty"});
  CHECK(r.err == "reins test: empty: no *.test.yaml files\n");
  CHECK(r.exit_code == 2);
}

TEST_CASE("reins test: recorded events files, the clock, state checks and other sessions",
          "[cli][test]") {
  TempDir dir;
  WriteFile(dir.File("policies.yaml"), kPolicies);
  WriteFile(dir.File("session.jsonl"),
            R"({"session":"rec","type":"session_start","user":"ann","ts":"2026-11-20T09:00:00Z"})"
            "\n\n"
            R"({"session":"rec","type":"tool_call","tool":"Bash","input":{"command":"ls"}})"
            "\n"
            R"({"session":"rec","type":"cost","cost_usd":2})"
            "\n"
            R"({"session":"rec","type":"tool_call","tool":"Bash","input":{"command":"ls"}})"
            "\n");
  WriteFile(dir.File("rec.test.yaml"), R"(server: policies.yaml
clock: 2026-11-21T09:00:00Z
cases:
  - name: the recording
    events: session.jsonl
    expect: {5: {verdict: ask, reason: "passed the $1.00"}}
    otherwise: allow
    after: {session: rec, user: ann, started_at: "2026-11-20T09:00:00.000000Z",
            last_ts: "2026-11-20T09:00:03.000000Z", cost_usd: 2}
  - name: events without ts follow the clock, events with one move it
    session_id: mine
    clock: 2026-11-22T10:00:00Z
    events:
      - {type: session_start}
      - {type: request, text: later, ts: 2026-11-22T12:00:00Z}
      - {type: request, text: hi}
      - {type: request, session: other, text: elsewhere}
    after:
      - {started_at: "2026-11-22T10:00:01.000000Z", last_ts: "2026-11-22T12:00:01.000000Z", turns: 2}
      - {session: other, last_ts: "2026-11-22T12:00:02.000000Z", turns: 1}
  - name: the recording, expected wrongly
    events: session.jsonl
    expect: {3: ask}
    otherwise: deny
)");
  ProcessResult r = RunIn(dir, {"rec.test.yaml"});
  CHECK(r.err == "");
  CHECK(r.out ==
        "PASS  rec.test.yaml: the recording\n"
        "PASS  rec.test.yaml: events without ts follow the clock, events with one move it\n"
        "FAIL  rec.test.yaml: the recording, expected wrongly\n"
        "      rec.test.yaml:24: event at session.jsonl:1 (session_start user=ann)\n"
        "        expected: deny\n"
        "        got:      allow\n"
        "      rec.test.yaml:23: event at session.jsonl:3 (tool_call Bash ls)\n"
        "        expected: ask\n"
        "        got:      allow by cap\n"
        "      rec.test.yaml:24: event at session.jsonl:4 (cost $2.00)\n"
        "        expected: deny\n"
        "        got:      allow\n"
        "      rec.test.yaml:24: event at session.jsonl:5 (tool_call Bash ls)\n"
        "        expected: deny\n"
        "        got:      ask by budget, reason \"budget: Session spend $2.00 passed the $1.00 "
        "warning threshold; continue?\"\n"
        "2 passed, 1 failed\n");
  CHECK(r.exit_code == 1);

  // An expectation for a line that holds no event, and a bad line in the file.
  WriteFile(dir.File("rec.test.yaml"), R"(server: policies.yaml
cases:
  - name: blank line
    events: session.jsonl
    expect: {2: allow}
)");
  r = RunIn(dir, {"rec.test.yaml"});
  CHECK(r.err == "rec.test.yaml:5:14: expect: '2' is not the line of an event in session.jsonl\n");
  CHECK(r.exit_code == 2);
  WriteFile(dir.File("session.jsonl"), "{\"session\":\"rec\",\"type\":\"tool_call\"}\n");
  r = RunIn(dir, {"rec.test.yaml"});
  CHECK(r.err ==
        "rec.test.yaml:4:13: events: session.jsonl:1: field 'tool': required for tool_call events "
        "(string)\n");
  CHECK(r.exit_code == 2);
}

TEST_CASE("every example configuration has a policy test, and they pass", "[cli][test]") {
  std::string examples = SourceDir() + "/examples/policies/";
  int configs = 0;
  for (const auto& entry : fs::directory_iterator(examples)) {
    std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".yaml" || name.ends_with(".test.yaml") ||
        name.ends_with(".agent.yaml") || name.ends_with(".session.yaml")) {
      continue;
    }
    INFO(name);
    CHECK(fs::exists(examples + entry.path().stem().string() + ".test.yaml"));
    ++configs;
  }
  CHECK(configs >= 20);
  ProcessResult r = Run({ReinsBin(), "test", examples}, "", "", {{"NO_COLOR", "1"}});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find(" passed, 0 failed\n") != std::string::npos);
}
