// Fuzzes the Lua sandbox (scripts/): random scripts loaded as Lua policies by
// the real loader, under small limits, and evaluated by a real engine over an
// in-memory SQLite log against random events.
//
// Input: a Lua script, then optionally a line "--events" and event JSON
// objects, one per line (session and ts are filled in; without events a
// fixed session of a shell call, its result, a model response and a cost
// is used). A script whose first line is "--body" is the body of an
// evaluate(event, session, params) function instead of a whole script.
//
// Invariants: loading either works or reports an error; every event gets a
// decision with a known verdict (a failing script is a deny, fail closed);
// the log's hash chain verifies and a fresh fold of the log equals the
// engine's state after every input.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "builtins/builtins.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/policy_set.h"
#include "scripts/lua_loader.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace fs = std::filesystem;
using reins::Json;

constexpr reins::TimeUs kStart = 1795250700000000;  // 2026-11-21T08:45:00Z
constexpr size_t kMaxEvents = 8;

struct Setup {
  std::string dir;
  std::string script;
  reins::PolicyRegistry registry;

  Setup() {
    dir = reins::fuzz::MakeTempDir("reins-fuzz-lua");
    script = dir + "/p.lua";
    // Small limits, and scripts may not raise them much: every input ends
    // within milliseconds and a few MiB whatever it does.
    reins::LuaOptions o;
    o.instruction_limit = 200'000;
    o.max_instruction_limit = 400'000;
    o.memory_limit = size_t{4} << 20;
    o.max_memory_limit = size_t{8} << 20;
    o.time_limit_ms = 250;
    o.input_limit = size_t{1} << 20;
    o.max_states = 1;
    o.max_script_bytes = size_t{64} << 10;
    if (!reins::RegisterBuiltins(&registry).ok() || !reins::RegisterLuaLoader(&registry, o).ok()) {
      abort();
    }
  }
};

Setup& S() {
  static Setup* s = new Setup();
  return *s;
}

std::vector<Json> DefaultEvents() {
  return {
      {{"type", "session_start"},
       {"user", "ann"},
       {"agent", "coder"},
       {"model", "claude-opus-4-5"}},
      {{"type", "tool_call"},
       {"tool", "Bash"},
       {"call_id", "t1"},
       {"input", {{"command", "npm install left-pad && git push origin main"}}}},
      {{"type", "tool_result"},
       {"tool", "Bash"},
       {"call_id", "t1"},
       {"output", "ok"},
       {"is_error", true}},
      {{"type", "llm_response"},
       {"model", "claude-opus-4-5"},
       {"usage", {{"input_tokens", 1200}, {"output_tokens", 300}}}},
      {{"type", "cost"}, {"cost_usd", 0.25}},
      {{"type", "tool_call"},
       {"tool", "Write"},
       {"input", {{"file_path", "/home/ann/.ssh/config"}, {"content", "Host *"}}}},
  };
}

std::vector<Json> ParseEvents(std::string_view text) {
  std::vector<Json> out;
  while (!text.empty() && out.size() < kMaxEvents) {
    std::string_view line;
    reins::fuzz::SplitAt(text, "\n", &line, &text);
    Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

std::string Policies(std::string_view head) {
  std::string yaml = "policies:\n  t:\n    lua: p.lua\n";
  // "--on_error allow" on the first line tries the other failure mode.
  if (head.find("--on_error allow") != std::string_view::npos) yaml += "    on_error: allow\n";
  return yaml;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Setup& s = S();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view script, events_text;
  reins::fuzz::SplitAt(input, "\n--events\n", &script, &events_text);

  std::string source(script);
  if (script.rfind("--body\n", 0) == 0) {
    source =
        "return {\n  name = \"t\",\n  events = {\"session_start\", \"request\", "
        "\"llm_request\", \"llm_response\", \"tool_call\", \"tool_result\", \"response\", "
        "\"cost\", \"session_end\"},\n  evaluate = function(event, session, params)\n" +
        std::string(script.substr(7)) + "\n  end,\n}\n";
  }
  {
    std::ofstream out(s.script, std::ios::binary | std::ios::trunc);
    out << source;
  }

  std::vector<reins::ConfigError> errors;
  reins::ConfigLoader loader(&s.registry);
  auto config = loader.ParseServer(Policies(script.substr(0, script.find('\n'))), "fuzz.yaml",
                                   s.dir, &errors);
  FUZZ_CHECK(config.ok() == errors.empty(), "load result and errors disagree");
  if (!config.ok()) {
    for (const auto& e : errors) FUZZ_CHECK(!e.message.empty(), e.ToString());
    return 0;
  }
  auto set = reins::PolicySet::Compose(nullptr, nullptr, &config->policies);
  FUZZ_CHECK(set.ok(), set.status().ToString());

  auto store = reins::OpenSqliteLogStore(":memory:");
  FUZZ_CHECK(store.ok(), store.status().ToString());
  reins::ManualClock clock(kStart);
  reins::EngineOptions options;
  options.max_query_records = 100;
  reins::Engine engine(store->get(), config->settings.prices, &clock, options);
  engine.SetPolicies(*set);

  std::vector<Json> events = ParseEvents(events_text);
  if (events.empty()) events = DefaultEvents();
  int tick = 0;
  for (Json& j : events) {
    j["session"] = "s";
    if (!j.contains("ts") || !j["ts"].is_string()) {
      j["ts"] = reins::FormatRfc3339(kStart + (++tick) * 1000000);
    }
    auto ev = reins::Event::FromJson(j);
    if (!ev.ok()) continue;
    auto d = engine.Submit(std::move(ev).value());
    if (!d.ok()) {
      // Refusals of the event itself (an approval with nothing pending or
      // already resolved, a parent cycle) record nothing; anything else is a
      // failure of the engine or the log.
      FUZZ_CHECK(d.status().code() == reins::Status::Code::kInvalidArgument, d.status().ToString());
      continue;
    }
    FUZZ_CHECK(reins::VerdictFromName(reins::VerdictName(d->verdict)).has_value(), "verdict");
    if (d->verdict == reins::Verdict::kModify) FUZZ_CHECK(d->patch.is_object(), d->ToLine());
    if (d->verdict == reins::Verdict::kAsk) FUZZ_CHECK(!d->approval_id.empty(), d->ToLine());
    (void)d->ToLine();
  }

  auto report = (*store)->Verify("s");
  FUZZ_CHECK(report.ok(), report.status().ToString());
  FUZZ_CHECK(report->ok(), "hash chain broken");
  auto live = engine.State("s");
  auto folded = reins::Engine::Fold(store->get(), "s");
  FUZZ_CHECK(live.ok() && folded.ok(), "state");
  FUZZ_CHECK(live->ToJson() == folded->ToJson(),
             "live " + live->ToJson().dump() + "\nfolded " + folded->ToJson().dump());
  return 0;
}
