// Sessions in the engine: snapshot loading, configuration records, policy
// resolution, expiry without an event, commit observers, bounded memory.
#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "engine/testing.h"

using namespace reins;
using reins::testing::kSecond;
using reins::testing::kStart;
using reins::testing::TempDir;
using Harness = reins::testing::EngineHarness;

namespace {

Json ToolCall(const std::string& session = "s") {
  return {{"session", session},
          {"type", "tool_call"},
          {"tool", "Bash"},
          {"input", {{"command", "ls"}}}};
}

constexpr const char* kCounting =
    "  count: {use: scripted, with: {verdict: allow, increment: n}}\n";

// Composes a session's own layer (its "session_policies" config) with a
// fixed server layer, as the server does.
PolicyResolver LayerResolver(const PolicyRegistry* registry, std::string server_yaml,
                             int* calls = nullptr) {
  return [=](const SessionState& st) -> Result<std::shared_ptr<const PolicySet>> {
    if (calls) ++*calls;
    ConfigLoader loader(registry);
    std::vector<ConfigError> errors;
    auto server = loader.ParseServer("policies:\n" + server_yaml, "server.yaml", "/", &errors);
    if (!server.ok()) return server.status();
    std::optional<PolicyLayer> session;
    if (auto it = st.config.find("session_policies"); it != st.config.end()) {
      auto layer =
          loader.ParseSession(Json{{"policies", *it}}.dump(), "session config", "/", &errors);
      if (!layer.ok()) return layer.status();
      session = std::move(layer).value();
    }
    return PolicySet::Compose(session ? &*session : nullptr, nullptr, &server->policies);
  };
}

struct Observed {
  std::string session;
  std::vector<int64_t> seqs;
  std::string verdict;  // "" when the commit had no decision
};

class Recorder : public EngineObserver {
 public:
  void OnCommitted(const std::string& session, const std::vector<Record>& records,
                   const Decision* decision, const SubmitTimings&) override {
    Observed o{session, {}, decision ? std::string(VerdictName(decision->verdict)) : ""};
    for (const Record& r : records) o.seqs.push_back(r.seq);
    seen.push_back(std::move(o));
  }
  std::vector<Observed> seen;
};

}  // namespace

TEST_CASE("a session loads from its latest snapshot plus the records after it", "[engine]") {
  TempDir dir;
  EngineOptions options;
  options.snapshot_every = 5;
  {
    Harness h(kCounting, dir.File("log.db"), reins::testing::TestRegistry(), options);
    for (int i = 0; i < 13; ++i) h.Must(ToolCall());  // two records each
  }
  Harness h(kCounting, dir.File("log.db"), reins::testing::TestRegistry(), options);
  auto snapshot = h.store->LoadSnapshot("s");
  REQUIRE(snapshot.ok());
  REQUIRE(snapshot->has_value());
  CHECK((*snapshot)->first == 36);  // three records per event

  auto folded = Engine::Fold(h.store.get(), "s");
  REQUIRE(folded.ok());
  CHECK(h.State().ToJson() == folded->ToJson());
  CHECK(*h.State().PolicyValue("server:count", "n") == 13);
  h.Must(ToolCall());
  CHECK(*h.State().PolicyValue("server:count", "n") == 14);
}

TEST_CASE("a snapshot that does not match the log is ignored", "[engine]") {
  TempDir dir;
  {
    Harness h(kCounting, dir.File("log.db"));
    for (int i = 0; i < 3; ++i) h.Must(ToolCall());
    // A snapshot claiming a different chain at seq 4.
    SessionState fake("s");
    fake.last_seq = 4;
    fake.last_hash = std::string(64, 'f');
    REQUIRE(h.store->SaveSnapshot("s", 4, fake.ToJson().dump()).ok());
  }
  Harness h(kCounting, dir.File("log.db"));
  CHECK(h.State().last_seq == 9);
  CHECK(*h.State().PolicyValue("server:count", "n") == 3);
}

TEST_CASE("a session's config record changes the policies its next event meets", "[engine]") {
  Harness h("");
  int calls = 0;
  h.engine->SetPolicyResolver(LayerResolver(
      h.registry.get(), "  audit: {use: scripted, with: {verdict: allow}}\n", &calls));
  CHECK(h.Must(ToolCall("a")).verdict == Verdict::kAllow);

  auto seq = h.engine->Configure(
      "a",
      {{"session_policies", {{"no_bash", {{"use", "scripted"}, {"with", {{"verdict", "deny"}}}}}}},
       {"by", "ann"}});
  REQUIRE(seq.ok());
  CHECK(*seq == 3);
  Decision d = h.Must(ToolCall("a"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.policies == std::vector<std::string>{"no_bash"});
  CHECK(h.Must(ToolCall("b")).verdict == Verdict::kAllow);  // other sessions unaffected

  // Cached until the configuration changes or policies are invalidated.
  int before = calls;
  h.Must(ToolCall("a"));
  CHECK(calls == before);
  h.engine->InvalidatePolicies();
  h.Must(ToolCall("a"));
  CHECK(calls == before + 1);

  auto set = h.engine->Policies("a");
  REQUIRE(set.ok());
  REQUIRE((*set)->entries().size() == 2);
  CHECK((*set)->entries()[0].name == "no_bash");
  CHECK(h.State("a").config["session_policies"].contains("no_bash"));
}

TEST_CASE("a session whose policies cannot be resolved is denied and says why", "[engine]") {
  Harness h("");
  h.engine->SetPolicyResolver([](const SessionState&) -> Result<std::shared_ptr<const PolicySet>> {
    return Status::NotFound("agent spec 'ghost' is not configured");
  });
  Decision d = h.Must(ToolCall());
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason ==
        "no policies could be loaded for this session: policies of session 's': agent spec "
        "'ghost' is not configured");
  std::vector<std::string> kinds;
  REQUIRE(h.store
              ->Scan("s", 0, 0,
                     [&](const Record& r) {
                       kinds.emplace_back(RecordKindName(r.kind));
                       return true;
                     })
              .ok());
  CHECK(kinds == std::vector<std::string>{"event", "decision", "note"});
}

TEST_CASE("approvals past their deadline expire without waiting for another event", "[engine]") {
  Harness h("  gate: {use: scripted, with: {verdict: ask}, ask_timeout: 1m}\n");
  Decision d = h.Must(ToolCall(), kStart);
  REQUIRE(d.verdict == Verdict::kAsk);
  auto none = h.engine->ExpireDue(kStart + 30 * kSecond);
  REQUIRE(none.ok());
  CHECK(*none == 0);
  auto one = h.engine->ExpireDue(kStart + 61 * kSecond);
  REQUIRE(one.ok());
  CHECK(*one == 1);
  CHECK(h.State().pending_approvals.empty());
  CHECK(h.State().approvals_expired == 1);
  auto indexed = h.store->GetApproval(d.approval_id);
  REQUIRE(indexed.ok());
  CHECK((*indexed)->status == "expired");
  auto again = h.engine->ExpireDue(kStart + 120 * kSecond);
  CHECK(*again == 0);
}

TEST_CASE("the observer sees each session's commits in log order", "[engine]") {
  Harness h(kCounting);
  Recorder recorder;
  h.engine->SetObserver(&recorder);
  h.Must({{"session", "child"}, {"type", "session_start"}, {"parent", "s"}});
  h.Must(ToolCall("child"));
  h.Must({{"session", "child"}, {"type", "cost"}, {"cost_usd", 0.5}});
  REQUIRE(h.engine->Configure("child", {{"session_policies", Json::object()}}).ok());

  std::vector<int64_t> child_seqs;
  std::vector<std::string> verdicts;
  for (const Observed& o : recorder.seen) {
    if (o.session != "child") continue;
    child_seqs.insert(child_seqs.end(), o.seqs.begin(), o.seqs.end());
    verdicts.push_back(o.verdict);
  }
  CHECK(child_seqs == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(verdicts == std::vector<std::string>{"allow", "allow", "allow", ""});
  // The parent heard about the child's spend.
  CHECK(std::any_of(recorder.seen.begin(), recorder.seen.end(),
                    [](const Observed& o) { return o.session == "s" && o.verdict.empty(); }));
}

TEST_CASE("sessions beyond the memory bound reload with nothing lost", "[engine]") {
  EngineOptions options;
  options.max_cached_sessions = 2;
  Harness h(kCounting, ":memory:", reins::testing::TestRegistry(), options);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 6; ++i) h.Must(ToolCall("s" + std::to_string(i)));
  }
  for (int i = 0; i < 6; ++i) {
    CHECK(*h.State("s" + std::to_string(i)).PolicyValue("server:count", "n") == 3);
  }
}

TEST_CASE("beyond the memory bound only the least recently used tenth is forgotten", "[engine]") {
  EngineOptions options;
  options.max_cached_sessions = 20;
  Harness h(kCounting, ":memory:", reins::testing::TestRegistry(), options);
  for (int i = 0; i < 20; ++i) h.Must(ToolCall("s" + std::to_string(i)));
  CHECK(h.engine->CachedSessions() == 20);
  h.Must(ToolCall("s0"));  // s0 is now the most recent; s1 and s2 the oldest
  h.Must(ToolCall("s20"));
  // Two forgotten (a tenth of the bound), not every idle session.
  CHECK(h.engine->CachedSessions() == 19);
  for (int i = 0; i <= 20; ++i) {
    CHECK(*h.State("s" + std::to_string(i)).PolicyValue("server:count", "n") == (i == 0 ? 2 : 1));
  }
}

TEST_CASE("StartSession starts a session once, even when two engines share the log", "[engine]") {
  TempDir dir;
  testing::EngineHarness a(kCounting, dir.File("log.db"));
  testing::EngineHarness b(kCounting, dir.File("log.db"));
  auto start = [](const std::string& user) {
    auto e = Event::FromJson({{"session", "s"}, {"type", "session_start"}, {"user", user}});
    REQUIRE(e.ok());
    return std::move(e).value();
  };
  auto first = a.engine->StartSession(start("ada"));
  REQUIRE(first.ok());
  CHECK(first->has_value());
  // b has not seen the session: its attempt meets a's record and stops.
  auto second = b.engine->StartSession(start("bob"));
  REQUIRE(second.ok());
  CHECK_FALSE(second->has_value());
  CHECK(b.State().user == "ada");
  CHECK(b.State().last_seq == a.State().last_seq);
  auto request = Event::FromJson({{"session", "s"}, {"type", "request"}, {"text", "hi"}});
  REQUIRE(request.ok());
  auto wrong = a.engine->StartSession(*request);
  CHECK(wrong.status().code() == Status::Code::kInvalidArgument);
}
