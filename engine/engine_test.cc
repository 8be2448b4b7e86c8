#include "engine/engine.h"

#include <catch2/catch.hpp>
#include <latch>
#include <random>
#include <thread>

#include "engine/testing.h"

using namespace reins;
using reins::testing::TempDir;

namespace {

using reins::testing::kSecond;
using reins::testing::kStart;
using Harness = reins::testing::EngineHarness;

Json ToolCall(const std::string& tool = "Bash", const std::string& session = "s") {
  return {
      {"session", session}, {"type", "tool_call"}, {"tool", tool}, {"input", {{"command", "ls"}}}};
}

Json Approval(bool approved, const std::string& id = "", const std::string& by = "bob") {
  Json j = {{"type", "approval"}, {"approved", approved}, {"by", by}};
  if (!id.empty()) j["approval_id"] = id;
  return j;
}

}  // namespace

TEST_CASE("decisions have the eval line format", "[engine]") {
  Harness h("  p: {use: scripted, with: {verdict: ask, reason: why}}\n");
  Decision d = h.Must(ToolCall());
  CHECK(d.ToJson() == Json::parse(R"({"seq":1,"session":"s","type":"tool_call","verdict":"ask",
        "reason":"p: why","policies":["p"],"approval_id":"s:1"})"));
}

TEST_CASE("an approved ask applies its withheld updates", "[engine][approval]") {
  Harness h("  gate: {use: scripted, with: {verdict: ask, increment: n}}\n");
  Decision d = h.Must(ToolCall());
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(h.State().PolicyValue("server:gate", "n") == nullptr);
  CHECK(h.State().pending_approvals.count("s:1") == 1);

  Decision a = h.Must(Approval(true, "s:1"));
  CHECK(a.verdict == Verdict::kAllow);
  CHECK(a.approval_id == "s:1");
  CHECK(a.reason == "approved by bob");
  CHECK(a.policies == std::vector<std::string>{"gate"});
  SessionState st = h.State();
  CHECK(*st.PolicyValue("server:gate", "n") == 1);
  CHECK(st.pending_approvals.empty());
  REQUIRE(st.resolved_approvals.size() == 1);
  CHECK(st.resolved_approvals[0].outcome == "approved");
}

TEST_CASE("a denied ask leaves no trace in state", "[engine][approval]") {
  Harness h("  gate: {use: scripted, with: {verdict: ask, increment: n}}\n");
  h.Must(ToolCall());
  Decision a = h.Must(Approval(false, "", "alice"));  // resolves the most recent
  CHECK(a.verdict == Verdict::kDeny);
  CHECK(a.reason == "denied by alice");
  CHECK(h.State().PolicyValue("server:gate", "n") == nullptr);
  CHECK(h.State().approvals_denied == 1);
}

TEST_CASE("approvals that cannot apply are refused and nothing is recorded", "[engine][approval]") {
  Harness h("  gate: {use: scripted, with: {verdict: ask}, ask_timeout: 1m}\n");
  auto none = h.Send(Approval(true));
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message() == "session 's' has no pending approval to resolve");
  CHECK(h.State().last_seq == 0);

  h.Must(ToolCall(), kStart);
  auto wrong = h.Send(Approval(true, "s:99"), kStart + kSecond);
  CHECK(wrong.status().message() == "session 's' has no pending approval 's:99'");

  // Past the 1 minute timeout the ask has resolved to deny.
  auto late = h.Send(Approval(true, "s:1"), kStart + 61 * kSecond);
  REQUIRE_FALSE(late.ok());
  CHECK(late.status().message() == "approval 's:1' is already expired");
  int64_t seq = h.State().last_seq;
  h.Must({{"type", "request"}, {"text", "hello"}}, kStart + 62 * kSecond);
  SessionState st = h.State();
  CHECK(st.approvals_expired == 1);
  CHECK(st.last_seq > seq);
}

TEST_CASE("llm_response usage is priced; explicit cost wins; unpriced is visible",
          "[engine][cost]") {
  Harness h("");
  h.Must({{"type", "llm_response"},
          {"model", "claude-sonnet-4-5-20250929"},
          {"usage", {{"input_tokens", 100000}, {"output_tokens", 10000}}}});
  CHECK(h.State().cost_usd == Approx(0.3 + 0.15));
  h.Must({{"type", "llm_response"},
          {"model", "claude-sonnet-4-5"},
          {"cost_usd", 0.25},
          {"usage", {{"input_tokens", 100000}}}});
  CHECK(h.State().cost_usd == Approx(0.7));
  h.Must({{"type", "cost"}, {"cost_usd", 1.0}});
  h.Must({{"type", "llm_response"}, {"model", "in-house-7b"}, {"usage", {{"input_tokens", 10}}}});
  SessionState st = h.State();
  CHECK(st.cost_usd == Approx(1.7));
  CHECK(st.unpriced_models.count("in-house-7b") == 1);
  CHECK(st.tokens.input == 200010);
  CHECK(st.by_model["claude-sonnet-4-5-20250929"].calls == 1);
}

TEST_CASE("a child's spend counts toward its parent and root", "[engine][cost]") {
  Harness h("");
  h.Must({{"session", "root"}, {"type", "session_start"}, {"user", "ann"}});
  h.Must({{"session", "mid"}, {"type", "session_start"}, {"parent", "root"}});
  h.Must({{"session", "leaf"}, {"type", "session_start"}, {"parent", "mid"}});
  h.Must({{"session", "leaf"}, {"type", "cost"}, {"cost_usd", 2.0}, {"model", "m"}});
  h.Must({{"session", "mid"}, {"type", "cost"}, {"cost_usd", 1.0}, {"model", "m"}});
  CHECK(h.State("leaf").cost_usd == Approx(2.0));
  CHECK(h.State("mid").cost_usd == Approx(3.0));
  CHECK(h.State("mid").own_cost_usd == Approx(1.0));
  CHECK(h.State("root").cost_usd == Approx(3.0));
  CHECK(h.State("root").own_cost_usd == 0);
  // Children inherit the user, so the user's daily spend counts them once.
  CHECK(*h.store->UserSpend("ann", "2026-11-21") == Approx(3.0));

  auto cycle = h.Send({{"session", "root"}, {"type", "session_start"}, {"parent", "leaf"}});
  REQUIRE_FALSE(cycle.ok());
  CHECK(cycle.status().message().find("is this session or one of its descendants") !=
        std::string::npos);
  auto change = h.Send({{"session", "leaf"}, {"type", "session_start"}, {"parent", "root"}});
  CHECK(change.status().message().find("already has parent 'mid'") != std::string::npos);
}

TEST_CASE("policy notes and failures are recorded as note records", "[engine]") {
  Harness h(R"(  chatty: {use: scripted, with: {log: "looked at it", verdict: allow}}
  broken: {use: scripted, with: {verdict: fail, reason: no disk}, on_error: allow}
)");
  h.Must(ToolCall());
  std::vector<Json> notes;
  REQUIRE(h.store
              ->Scan("s", 0, 0,
                     [&](const Record& r) {
                       if (r.kind == RecordKind::kNote) notes.push_back(r.body);
                       return true;
                     })
              .ok());
  REQUIRE(notes.size() == 2);
  CHECK(notes[0] == Json{{"source", "policy:chatty"}, {"message", "looked at it"}});
  CHECK(notes[1] == Json{{"source", "engine"}, {"message", "policy 'broken' failed: no disk"}});
}

TEST_CASE("grants let the same kind of ask pass for the session or a while", "[engine][approval]") {
  Harness h("  gate: {use: scripted, with: {verdict: ask, reason: check, increment: n}}\n");
  h.Must(ToolCall("Bash"), kStart);
  Json approve = Approval(true, "s:1");
  approve["grant"] = "15m";
  Decision a = h.Must(approve, kStart + kSecond);
  CHECK(a.reason == "approved by bob (granted for 15m)");
  Decision d = h.Must(ToolCall("Bash"), kStart + 60 * kSecond);
  CHECK(d.verdict == Verdict::kAllow);
  CHECK(d.policies == std::vector<std::string>{"gate"});
  // The granted ask's updates apply at once, as an approval's would.
  CHECK(*h.State().PolicyValue("server:gate", "n") == 2);
  // Another kind of action still asks; so does the same one after 15 minutes.
  CHECK(h.Must(ToolCall("Write"), kStart + 61 * kSecond).verdict == Verdict::kAsk);
  CHECK(h.Must(ToolCall("Bash"), kStart + 16 * 60 * kSecond).verdict == Verdict::kAsk);
  Json forever = Approval(true, "");
  forever["grant"] = "session";
  h.Must(forever, kStart + 17 * 60 * kSecond);
  CHECK(h.Must(ToolCall("Bash"), kStart + 48 * 3600 * kSecond).verdict == Verdict::kAllow);
  Json bad = Approval(true, "");
  bad["grant"] = "forever";
  h.Must(ToolCall("Read"), kStart + 49 * 3600 * kSecond);
  auto r = h.Send(bad, kStart + 49 * 3600 * kSecond);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("grant must be once, session or a duration") == 0);
}

TEST_CASE("a restarted engine recovers every session from the log", "[engine]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  Json before;
  {
    Harness h("  gate: {use: scripted, with: {verdict: allow, increment: n}}\n", path);
    for (int i = 0; i < 5; ++i) h.Must(ToolCall());
    h.Must({{"type", "cost"}, {"cost_usd", 0.5}});
    before = h.State().ToJson();
  }
  Harness h("  gate: {use: scripted, with: {verdict: allow, increment: n}}\n", path);
  CHECK(h.State().ToJson() == before);
  h.Must(ToolCall());
  // Five tool calls and the cost event before the restart, one after.
  CHECK(*h.State().PolicyValue("server:gate", "n") == 7);
  CHECK(h.store->Verify("s")->ok());
}

TEST_CASE("two writers on one database never lose a counter update", "[engine][concurrency]") {
  TempDir dir;
  std::string path = dir.File("log.db");
  const std::string policies = "  count: {use: scripted, with: {verdict: allow, increment: n}}\n";
  // Two engines with their own connections behave like two hook processes.
  Harness a(policies, path), b(policies, path);
  constexpr int kPerWriter = 150;
  std::latch start(2);
  auto run = [&](Harness* h) {
    start.arrive_and_wait();
    for (int i = 0; i < kPerWriter; ++i) {
      auto e = Event::FromJson(ToolCall());
      e->set_ts(kStart);
      auto d = h->engine->Submit(std::move(e).value());
      INFO(d.status().ToString());
      REQUIRE(d.ok());
    }
  };
  std::thread ta(run, &a), tb(run, &b);
  ta.join();
  tb.join();
  auto folded = Engine::Fold(a.store.get(), "s");
  REQUIRE(folded.ok());
  CHECK(*folded->PolicyValue("server:count", "n") == 2 * kPerWriter);
  CHECK(folded->tool_calls_total == 2 * kPerWriter);
  CHECK(a.store->Verify("s")->ok());
}

TEST_CASE("property: replaying a log reproduces its decisions and state", "[engine][property]") {
  const std::string policies = R"(
  counter: {use: scripted, with: {verdict: allow, increment: calls}}
  asker: {use: scripted, with: {tool: Write, verdict: ask, reason: writes need review, increment: w}}
  rewriter: {use: scripted, with: {tool: Edit, verdict: modify, patch: {input: {dry_run: true}}}}
  denier: {use: scripted, with: {tool: Bash, increment: bash, after: 3, verdict: deny, reason: enough bash}}
  flaky: {use: scripted, with: {tool: Grep, verdict: fail}, on_error: allow}
)";
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % n); };
    std::vector<Json> events;
    const char* sessions[] = {"a", "b", "c"};
    const char* tools[] = {"Bash", "Write", "Edit", "Grep", "Read"};
    TimeUs t = kStart;
    std::map<std::string, std::vector<std::string>> open_asks;
    events.push_back({{"session", "c"}, {"type", "session_start"}, {"parent", "a"}, {"user", "u"}});
    for (int i = 0; i < 120; ++i) {
      t += (1 + pick(400)) * kSecond;  // sometimes past the 1h ask timeout
      std::string s = sessions[pick(3)];
      Json e;
      switch (pick(6)) {
        case 0:
          e = {{"type", "request"}, {"text", "do it"}};
          break;
        case 1:
          e = {{"type", "llm_response"},
               {"model", pick(2) ? "claude-haiku-4-5" : "local-model"},
               {"usage", {{"input_tokens", pick(5000)}, {"output_tokens", pick(500)}}}};
          break;
        case 2:
          e = {{"type", "cost"}, {"cost_usd", pick(100) / 100.0}};
          break;
        default:
          e = ToolCall(tools[pick(5)], s);
          break;
      }
      e["session"] = s;
      e["ts"] = FormatRfc3339(t);
      events.push_back(e);
    }

    TempDir dir;
    auto run = [&](const std::string& path, std::vector<Json>* decisions) {
      Harness h(policies, path, reins::testing::TestRegistry(),
                EngineOptions{.default_ask_timeout = 3600 * kSecond});
      for (Json e : events) {
        auto d = h.Send(e);
        REQUIRE(d.ok());
        decisions->push_back(d->ToJson());
        // Resolve about half of the asks right away.
        if (d->verdict == Verdict::kAsk && d->seq % 2 == 0) {
          Json approval = Approval(d->seq % 4 == 0, d->approval_id);
          approval["session"] = d->session;
          approval["ts"] = e["ts"];
          auto a = h.Send(approval);
          REQUIRE(a.ok());
          decisions->push_back(a->ToJson());
        }
      }
      std::map<std::string, Json> states;
      for (const char* s : sessions) {
        Json live = h.State(s).ToJson();
        auto folded = Engine::Fold(h.store.get(), s);
        REQUIRE(folded.ok());
        CHECK(folded->ToJson() == live);  // incremental == fresh fold
        auto restored = SessionState::FromJson(Json::parse(CanonicalJson(live)));
        REQUIRE(restored.ok());
        CHECK(restored->ToJson() == live);  // a snapshot restores the same state
        CHECK(h.store->Verify(s)->ok());
        states[s] = live;
      }
      return states;
    };
    std::vector<Json> first, second;
    auto states1 = run(dir.File("one.db"), &first);
    auto states2 = run(dir.File("two.db"), &second);
    CHECK(first == second);
    CHECK(states1 == states2);
  }
}
