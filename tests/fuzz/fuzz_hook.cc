// Fuzzes the harness adapters (harness-adapters/): hook JSON as Claude Code,
// Codex or Gemini CLI would send it, through the real adapter, an engine-backed
// DecisionClient and every builtin policy (examples/policies/all_builtins.yaml)
// over an in-memory SQLite log.
//
// Input: the first byte picks the adapter (byte % 3: claude, codex, gemini)
// and the ask mode ((byte / 3) % 4: harness, defer, hold, deny); the rest is
// one hook invocation per line (at most 8), as a session would send them.
// "@DIR@" is replaced by a temporary directory that holds a transcript of
// each harness (claude.jsonl, codex.jsonl, gemini.jsonl), so hooks that
// name them exercise the transcript readers too.
//
// Invariants: every answer exits 0, 1 or 2 and prints nothing or one JSON
// object; a Claude Code or Codex permission decision is one the harness
// knows; every session the hooks started has a hash chain that verifies and
// a folded state equal to the engine's.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "builtins/builtins.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/policy_set.h"
#include "harness-adapters/claude_code.h"
#include "harness-adapters/codex.h"
#include "harness-adapters/decision_client.h"
#include "harness-adapters/gemini_cli.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using reins::Json;

constexpr reins::TimeUs kStart = 1795250700000000;  // 2026-11-21T08:45:00Z
constexpr int kMaxHooks = 8;

// One finished Claude Code response, a Codex turn with its usage, and a
// Gemini CLI model message, each as its harness writes them.
constexpr const char* kClaudeTranscript =
    R"({"type":"assistant","isSidechain":false,"requestId":"req_1","apiBlockIndex":0,)"
    R"("message":{"id":"msg_1","model":"claude-sonnet-4-5","stop_reason":"tool_use",)"
    R"("usage":{"input_tokens":1000,"output_tokens":50,"cache_read_input_tokens":0,)"
    R"("cache_creation_input_tokens":0}}})"
    "\n";
constexpr const char* kCodexTranscript =
    R"({"timestamp":"t","type":"turn_context","payload":{"cwd":"/work/app","model":"gpt-5"}})"
    "\n"
    R"({"timestamp":"t","type":"token_usage_record","payload":{"thread_id":"cx1",)"
    R"("response_id":"r1","usage":{"input_tokens":900,"cached_input_tokens":100,)"
    R"("output_tokens":40,"reasoning_output_tokens":5,"total_tokens":940}}})"
    "\n";
constexpr const char* kGeminiTranscript =
    R"({"id":"m1","type":"gemini","content":"","model":"gemini-2.5-flash","tokens":)"
    R"({"input":800,"output":30,"cached":200,"thoughts":10,"tool":0,"total":840}})"
    "\n";

struct Setup {
  std::string dir;
  reins::PolicyRegistry registry;
  std::shared_ptr<const reins::PolicySet> policies;

  Setup() {
    dir = reins::fuzz::MakeTempDir("reins-fuzz-hook");
    std::ofstream(dir + "/claude.jsonl") << kClaudeTranscript;
    std::ofstream(dir + "/codex.jsonl") << kCodexTranscript;
    std::ofstream(dir + "/gemini.jsonl") << kGeminiTranscript;
    if (!reins::RegisterBuiltins(&registry).ok()) abort();
    reins::ConfigLoader loader(&registry);
    std::vector<reins::ConfigError> errors;
    auto config =
        loader.LoadServer(REINS_SOURCE_DIR "/examples/policies/all_builtins.yaml", &errors);
    for (const auto& e : errors) fprintf(stderr, "%s\n", e.ToString().c_str());
    if (!config.ok()) abort();
    auto set = reins::PolicySet::Compose(nullptr, nullptr, &config->policies);
    if (!set.ok()) abort();
    policies = *set;
  }
};

Setup& S() {
  static Setup* s = new Setup();
  return *s;
}

void CheckAnswer(const reins::HookAnswer& a, bool claude_style, const std::string& hook) {
  FUZZ_CHECK(a.exit_code == 0 || a.exit_code == 1 || a.exit_code == 2,
             std::to_string(a.exit_code) + " for " + hook);
  if (a.out.empty()) return;
  Json out = Json::parse(a.out, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(out.is_object(), a.out + " for " + hook);
  FUZZ_CHECK(a.out.back() == '\n' && a.out.find('\n') == a.out.size() - 1, a.out);
  if (claude_style) {
    auto h = out.find("hookSpecificOutput");
    if (h != out.end()) {
      FUZZ_CHECK(h->is_object(), a.out);
      auto d = h->find("permissionDecision");
      if (d != h->end()) {
        FUZZ_CHECK(*d == "allow" || *d == "deny" || *d == "ask" || *d == "defer", a.out);
      }
    }
    auto d = out.find("decision");
    if (d != out.end()) FUZZ_CHECK(*d == "block" || *d == "approve", a.out);
  } else {
    auto d = out.find("decision");
    if (d != out.end()) FUZZ_CHECK(*d == "deny" || *d == "allow" || *d == "block", a.out);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Setup& s = S();
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  // Hooks name transcript files by path.
  if (reins::fuzz::NamesSpecialFile(text)) return 0;
  for (size_t at = text.find("@DIR@"); at != std::string::npos; at = text.find("@DIR@", at)) {
    text.replace(at, 5, s.dir);
    at += s.dir.size();
  }
  std::string_view hooks = text;

  auto store = reins::OpenSqliteLogStore(":memory:");
  FUZZ_CHECK(store.ok(), store.status().ToString());
  reins::ManualClock clock(kStart);
  reins::Engine engine(store->get(),
                       std::make_shared<reins::PriceTable>(reins::PriceTable::Builtin()), &clock);
  engine.SetPolicies(s.policies);
  reins::EngineDecisionClient client(&engine, store->get());

  reins::AdapterOptions options;
  static constexpr reins::AskMode kModes[] = {reins::AskMode::kHarness, reins::AskMode::kDefer,
                                              reins::AskMode::kHold, reins::AskMode::kDeny};
  options.ask_mode = kModes[(data[0] / 3) % 4];
  options.hold_wait = 0;
  options.user = "ann";
  options.transcript_wait_ms = 0;
  std::unique_ptr<reins::HookAdapter> adapter;
  bool claude_style = true;
  switch (data[0] % 3) {
    case 0:
      adapter = std::make_unique<reins::ClaudeCodeAdapter>(&client, options);
      break;
    case 1:
      adapter = std::make_unique<reins::CodexAdapter>(&client, options);
      break;
    default:
      adapter = std::make_unique<reins::GeminiCliAdapter>(&client, options);
      claude_style = false;
      break;
  }

  for (int i = 0; i < kMaxHooks && !hooks.empty(); ++i) {
    std::string_view line;
    reins::fuzz::SplitAt(hooks, "\n", &line, &hooks);
    reins::HookAnswer a = adapter->Handle(line);
    CheckAnswer(a, claude_style, std::string(line));
    clock.Advance(1000000);
  }

  std::vector<std::string> sessions;
  reins::Status st = (*store)->ListSessions({}, [&](const reins::SessionSummary& summary) {
    sessions.push_back(summary.id);
    return true;
  });
  FUZZ_CHECK(st.ok(), st.ToString());
  for (const std::string& id : sessions) {
    auto report = (*store)->Verify(id);
    FUZZ_CHECK(report.ok() && report->ok(), "hash chain of " + id);
    auto live = engine.State(id);
    auto folded = reins::Engine::Fold(store->get(), id);
    FUZZ_CHECK(live.ok() && folded.ok(), id);
    FUZZ_CHECK(live->ToJson() == folded->ToJson(),
               id + "\nlive " + live->ToJson().dump() + "\nfolded " + folded->ToJson().dump());
  }
  return 0;
}
