// Test support for engine tests: a policy type whose answer is set by its
// parameters, so composition, configuration and approval tests can build any
// combination of answers without depending on the builtins library.
//
//   scripted:
//     verdict: allow|deny|ask|modify|none|fail   (what to answer)
//     reason: "..."
//     tool: Bash            (answer only for tool_call/tool_result of this tool)
//     patch: {...}          (modify)
//     increment: counter    (add 1 to this key of the policy's state)
//     after: 2              (answer only once the counter is >= this)
//     log: "text"           (log this note on every evaluation)
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "engine/config.h"
#include "engine/engine.h"
#include "engine/policy.h"
#include "engine/policy_set.h"
#include "engine/registry.h"
#include "engine/session_view.h"

namespace reins::testing {

class ScriptedPolicy : public Policy {
 public:
  explicit ScriptedPolicy(const Json& p) : params_(p) {}

  EvalResult Evaluate(const Event& event, const SessionView& session) const override {
    std::string tool = params_.value("tool", "");
    if (!tool.empty() && event.tool() != tool) return std::optional<PolicyResult>();
    if (params_.contains("log")) session.Log(params_["log"].get<std::string>());
    std::string counter = params_.value("increment", "");
    if (params_.contains("after") && session.GetNumber(counter) < params_["after"].get<double>()) {
      PolicyResult r = PolicyResult::Allow();
      if (!counter.empty()) r.updates.push_back(StateUpdate::Increment(counter, 1));
      return r;
    }
    std::string verdict = params_.value("verdict", "none");
    if (verdict == "none") return std::optional<PolicyResult>();
    if (verdict == "fail") return Status::Internal(params_.value("reason", "scripted failure"));
    if (verdict == "throw") throw std::runtime_error("scripted exception");
    PolicyResult r;
    r.verdict = *VerdictFromName(verdict);
    r.reason = params_.value("reason", "");
    if (params_.contains("patch")) r.patch = params_["patch"];
    if (!counter.empty()) r.updates.push_back(StateUpdate::Increment(counter, 1));
    return r;
  }

 private:
  Json params_;
};

inline PolicyType ScriptedType(std::string name = "scripted") {
  PolicyType t;
  t.name = std::move(name);
  t.description = "test policy answering as its parameters say";
  t.events = EventTypeSet::All();
  t.params = {
      {"verdict",
       ParamType::kString,
       "none",
       false,
       "answer",
       {"allow", "deny", "ask", "modify", "none", "fail", "throw"}},
      {"reason", ParamType::kString, nullptr, false, "reason"},
      {"tool", ParamType::kString, nullptr, false, "only this tool"},
      {"patch", ParamType::kObject, nullptr, false, "modify patch"},
      {"increment", ParamType::kString, nullptr, false, "counter key"},
      {"after", ParamType::kInteger, nullptr, false, "answer once counter >= after"},
      {"log", ParamType::kString, nullptr, false, "a note to log on every evaluation"},
  };
  t.create = [](const Json& params,
                std::vector<ParamError>*) -> Result<std::shared_ptr<const Policy>> {
    return std::shared_ptr<const Policy>(std::make_shared<ScriptedPolicy>(params));
  };
  return t;
}

// A type with a required parameter and a choice, for validation tests. It
// only handles tool_call events and never answers.
inline PolicyType StrictType() {
  PolicyType t;
  t.name = "strict";
  t.description = "test policy with a required parameter";
  t.events = {EventType::kToolCall};
  t.params = {{"limit", ParamType::kInteger, nullptr, true, "required"},
              {"mode", ParamType::kString, "ask", false, "a choice", {"ask", "deny"}},
              {"names", ParamType::kStringList, Json::array(), false, "a list"}};
  t.create = [](const Json& params,
                std::vector<ParamError>* errors) -> Result<std::shared_ptr<const Policy>> {
    if (params["limit"].get<int64_t>() < 0) {
      errors->push_back({"limit", "limit must be >= 0"});
      return Status::InvalidArgument("limit must be >= 0");
    }
    return std::shared_ptr<const Policy>(std::make_shared<ScriptedPolicy>(Json::object()));
  };
  return t;
}

inline std::unique_ptr<PolicyRegistry> TestRegistry() {
  auto r = std::make_unique<PolicyRegistry>();
  (void)r->Register(ScriptedType(), {"omnigent.policies.builtins.testing.scripted"});
  (void)r->Register(StrictType());
  return r;
}

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "reins-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline constexpr TimeUs kStart = 1795250700000000;  // 2026-11-21T08:45:00Z
inline constexpr TimeUs kSecond = 1000000;

// An engine over a real SQLite database (a file, or ":memory:") with
// policies given as the body of a server file's `policies:` section.
struct EngineHarness {
  explicit EngineHarness(const std::string& policies_yaml, std::string path = ":memory:",
                         std::unique_ptr<PolicyRegistry> reg = TestRegistry(),
                         EngineOptions options = {})
      : registry(std::move(reg)), db_path(std::move(path)) {
    auto s = OpenSqliteLogStore(db_path);
    REQUIRE(s.ok());
    store = std::move(s).value();
    engine = std::make_unique<Engine>(
        store.get(), std::make_shared<PriceTable>(PriceTable::Builtin()), &clock, options);
    SetPolicies(policies_yaml);
  }

  void SetPolicies(const std::string& policies_yaml) {
    std::vector<ConfigError> errors;
    ConfigLoader loader(registry.get());
    auto config = loader.ParseServer("policies:\n" + policies_yaml, "t.yaml", "/", &errors);
    for (const auto& e : errors) FAIL(e.ToString());
    REQUIRE(config.ok());
    auto set = PolicySet::Compose(nullptr, nullptr, &config->policies);
    REQUIRE(set.ok());
    engine->SetPolicies(*set);
  }

  // Submits an event (session "s" and an increasing ts unless given).
  Result<Decision> Send(Json event, TimeUs at = 0) {
    if (!event.contains("session")) event["session"] = "s";
    if (!event.contains("ts")) event["ts"] = FormatRfc3339(at ? at : kStart + (++tick) * kSecond);
    auto e = Event::FromJson(event);
    INFO(event.dump());
    REQUIRE(e.ok());
    return engine->Submit(std::move(e).value());
  }

  Decision Must(Json event, TimeUs at = 0) {
    auto d = Send(std::move(event), at);
    INFO(d.status().ToString());
    REQUIRE(d.ok());
    return *d;
  }

  SessionState State(const std::string& session = "s") {
    auto s = engine->State(session);
    REQUIRE(s.ok());
    return *s;
  }

  std::unique_ptr<PolicyRegistry> registry;
  ManualClock clock{kStart};
  std::string db_path;
  std::unique_ptr<LogStore> store;
  std::unique_ptr<Engine> engine;
  int64_t tick = 0;
};

}  // namespace reins::testing
