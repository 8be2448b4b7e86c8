// Codex CLI itself (the pinned npm release), run headless against a fake
// OpenAI Responses server, with reins as its hooks.
#include <catch2/catch.hpp>
#include <sstream>

#include "tests/e2e/scenarios.h"

using namespace reins;
using namespace reins::testing;

namespace {

class CodexDriver : public HarnessDriver {
 public:
  std::string name() const override { return "codex"; }
  std::string model() const override { return "gpt-5"; }
  HarnessRun Run(const HarnessEnv& env, const FakeModelServer& server, const std::string& prompt,
                 const std::vector<std::string>& args) override {
    std::string codex_home = env.home() + "/.codex";
    // A provider on the fake server; the shell really runs; the project's
    // .codex/hooks.json is read (projects must be trusted for that); and
    // nothing leaves loopback (codex_facts.md, section 1).
    WriteFile(codex_home + "/config.toml",
              "model = \"" + model() + "\"\nmodel_provider = \"fake\"\n" +
                  "approval_policy = \"never\"\nsandbox_mode = \"danger-full-access\"\n\n" +
                  "[model_providers.fake]\nname = \"fake\"\nbase_url = \"" + server.url() +
                  "/v1\"\nwire_api = \"responses\"\nrequest_max_retries = 0\n" +
                  "stream_max_retries = 0\n\n[analytics]\nenabled = false\n\n" +
                  "[features]\nplugins = false\n\n[projects.\"" + env.project() +
                  "\"]\ntrust_level = \"trusted\"\n");
    std::vector<std::string> argv = {HarnessCli("codex"),
                                     "exec",
                                     "--skip-git-repo-check",
                                     "--dangerously-bypass-hook-trust",
                                     "--json",
                                     prompt};
    argv.insert(argv.end(), args.begin(), args.end());
    HarnessRun run;
    run.process =
        reins::testing::Run(argv, "", env.project(), env.Env({{"CODEX_HOME", codex_home}}));
    INFO("codex stdout: " << run.process.out << "\nstderr: " << run.process.err);
    REQUIRE(run.process.exit_code == 0);
    // JSON lines: the session is the thread; the result is the last line.
    std::istringstream lines(run.process.out);
    for (std::string line; std::getline(lines, line);) {
      Json j = Json::parse(line, nullptr, false);
      if (!j.is_object()) continue;
      if (j.value("type", "") == "thread.started") run.session = j.value("thread_id", "");
      run.result = j;
    }
    REQUIRE(!run.session.empty());
    return run;
  }
};

}  // namespace

TEST_CASE("Codex: reins denies, allows and rewrites tool calls, and logs the cost",
          "[e2e][codex]") {
  CodexDriver codex;
  GuardsScenario(codex);
}

TEST_CASE("Codex: a cost budget stops the agent once the reported usage passes the cap",
          "[e2e][codex]") {
  CodexDriver codex;
  BudgetScenario(codex);
}

TEST_CASE("Codex through reins serve: npm install then git push is refused with its approval",
          "[e2e][codex]") {
  CodexDriver codex;
  SupplyChainRefusedScenario(codex);
}
