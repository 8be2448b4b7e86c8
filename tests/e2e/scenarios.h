// The end-to-end scenarios every harness goes through, written once: a
// HarnessDriver says how to run one harness's CLI against the fake model
// server; the scenarios check what reins decided, what happened on disk and
// what the reins log holds.
#pragma once

#include <string>
#include <vector>

#include "tests/e2e/fake_model_server.h"
#include "tests/e2e/harness_env.h"
#include "tests/support/process.h"

namespace reins::testing {

struct HarnessRun {
  ProcessResult process;
  Json result;          // the CLI's JSON output (its last JSON line for JSONL output)
  std::string session;  // the harness's session id, as reins logs it
};

class HarnessDriver {
 public:
  virtual ~HarnessDriver() = default;
  virtual std::string name() const = 0;   // the `reins hook` subcommand
  virtual std::string model() const = 0;  // the model it runs (priced in the table)
  // Where `reins hook NAME install` writes: by default the project's settings.
  virtual std::vector<std::string> InstallTarget(const HarnessEnv& env) const {
    return {"--project", env.project()};
  }
  // Runs the CLI headless in env.project() on `prompt` (plus `args`).
  virtual HarnessRun Run(const HarnessEnv& env, const FakeModelServer& model,
                         const std::string& prompt, const std::vector<std::string>& args = {}) = 0;
};

// `reins hook NAME install TARGET hook_args...`, as a user would.
void InstallHooks(const HarnessEnv& env, const HarnessDriver& driver,
                  const std::vector<std::string>& hook_args);

// The decision on the tool call whose `input.command` is `command`.
Json DecisionOn(const HarnessEnv& env, const std::string& session, const std::string& command);
int CountEvents(const std::vector<Json>& events, const std::string& type);
// The sum of the priced costs of the session's llm_response events.
double LoggedCost(const HarnessEnv& env, const std::string& session);

// A deny (rm -rf), an allow (touch) and a rewrite (echo) in one session,
// with the whole session in the log and its cost from the price table.
void GuardsScenario(HarnessDriver& driver);
// A cost budget denies the tool call after the reported usage passes it.
void BudgetScenario(HarnessDriver& driver);
// Through `reins serve`: npm install, then git push is refused with the
// approval it waits for (headless harnesses that cannot defer).
void SupplyChainRefusedScenario(HarnessDriver& driver);

}  // namespace reins::testing
