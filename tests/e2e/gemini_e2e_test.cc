// Gemini CLI itself (the pinned npm release), run headless against a fake
// Gemini API server, with reins as its hooks.
#include <catch2/catch.hpp>

#include "tests/e2e/scenarios.h"

using namespace reins;
using namespace reins::testing;

namespace {

// What a headless Gemini CLI needs to stay on loopback: API-key auth (the
// base URL alone would select another auth type), a trusted folder (hooks
// load only there), and no usage statistics (gemini_facts.md, section 1).
const char* kGeminiSettings = R"({
  "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": false}},
  "privacy": {"usageStatisticsEnabled": false},
  "telemetry": {"enabled": false},
  "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
  "ide": {"enabled": false}
})";

class GeminiDriver : public HarnessDriver {
 public:
  std::string name() const override { return "gemini"; }
  std::string model() const override { return "gemini-2.5-pro"; }
  HarnessRun Run(const HarnessEnv& env, const FakeModelServer& server, const std::string& prompt,
                 const std::vector<std::string>& args) override {
    WriteFile(env.home() + "/.gemini/settings.json", kGeminiSettings);
    std::vector<std::string> argv = {HarnessCli("gemini"), "-m",   model(), "-p",  prompt,
                                     "--approval-mode",    "yolo", "-o",    "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    HarnessRun run;
    run.process = reins::testing::Run(argv, "", env.project(),
                                      env.Env({{"GOOGLE_GEMINI_BASE_URL", server.url()},
                                               {"GEMINI_API_KEY", "test-key"},
                                               {"GEMINI_CLI_NO_RELAUNCH", "1"},
                                               {"TERM", "dumb"}}));
    INFO("gemini stdout: " << run.process.out << "\nstderr: " << run.process.err);
    REQUIRE(run.process.exit_code == 0);
    run.result = Json::parse(run.process.out, nullptr, false);
    REQUIRE(run.result.is_object());
    run.session = run.result.value("session_id", "");
    return run;
  }
};

}  // namespace

TEST_CASE("Gemini CLI: reins denies, allows and rewrites tool calls, and logs the cost",
          "[e2e][gemini]") {
  GeminiDriver gemini;
  GuardsScenario(gemini);
}

TEST_CASE("Gemini CLI: a cost budget stops the agent once the reported usage passes the cap",
          "[e2e][gemini]") {
  GeminiDriver gemini;
  BudgetScenario(gemini);
}

TEST_CASE("Gemini CLI through reins serve: npm install then git push is refused with its approval",
          "[e2e][gemini]") {
  GeminiDriver gemini;
  SupplyChainRefusedScenario(gemini);
}
