// Claude Code itself (the pinned npm release) with its model calls going
// through `reins proxy` to a fake Anthropic server: the reins log holds every
// call, and the cost it holds for the session is the cost Claude Code itself
// reports (`total_cost_usd`).
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/e2e/scenarios.h"

using namespace reins;
using namespace reins::testing;

namespace {

// `reins proxy` on a free loopback port with env's configuration and log,
// its output in `log_path`. Waits until it listens.
class ProxyProcess {
 public:
  ProxyProcess(const HarnessEnv& env, const std::string& anthropic, const std::string& log_path)
      : process_({ReinsBin(), "proxy", "--config", env.config(), "--db", env.db(), "--listen",
                  "127.0.0.1:0", "--upstream", "anthropic=" + anthropic},
                 log_path) {
    const std::string ready = "reins proxy: listening on ";
    bool listening = process_.WaitForOutput(ready, std::chrono::seconds(20));
    INFO(process_.Output());
    REQUIRE(listening);
    std::string out = process_.Output();
    size_t at = out.find(ready) + ready.size();
    url_ = out.substr(at, out.find(' ', at) - at);
  }

  // http://127.0.0.1:PORT
  const std::string& url() const { return url_; }
  std::string Output() const { return process_.Output(); }
  // Stops it as a person would (SIGTERM): it closes the log. Its exit status.
  int Stop() {
    process_.Signal(SIGTERM);
    return process_.WaitFor(std::chrono::seconds(20)).value_or(-1);
  }

 private:
  BackgroundProcess process_;
  std::string url_;
};

struct Spend {
  long input = 0, output = 0, cache_read = 0, cache_write = 0;
  double usd = 0;
};

// What the log says each model cost, by the model its answers named.
std::map<std::string, Spend> LoggedSpend(const HarnessEnv& env, const std::string& session) {
  std::map<std::string, Spend> by_model;
  auto decisions = env.Decisions(session);
  for (const Json& e : env.Events(session)) {
    if (e.value("type", "") != "llm_response") continue;
    Spend& s = by_model[e.value("model", "")];
    Json usage = e.value("usage", Json::object());
    s.input += usage.value("input_tokens", 0L);
    s.output += usage.value("output_tokens", 0L);
    s.cache_read += usage.value("cache_read_input_tokens", 0L);
    s.cache_write += usage.value("cache_creation_input_tokens", 0L);
    s.usd += decisions[e["seq"].get<int64_t>()]["cost"].value("usd", 0.0);
  }
  return by_model;
}

}  // namespace

TEST_CASE("Claude Code through reins proxy: the log's cost is the CLI's own total_cost_usd",
          "[e2e][claude][proxy]") {
  // The session budget of examples/policies/budget.yaml: far above what this
  // session spends, so it watches every call and stops none.
  HarnessEnv env(
      "  budget:\n    use: cost_budget\n"
      "    with: {max_cost_usd: 8, ask_thresholds_usd: [2, 5], expensive_models: [opus]}\n"
      "  tool_cap:\n    use: max_tool_calls_per_session\n    with: {limit: 50}\n");
  // Usage shaped like Claude Code's real traffic, mostly prompt cache, so
  // every rate of the model's price (input, output, cache read, cache
  // write) is in the comparison.
  const std::vector<std::string> commands = {"touch made.txt", "echo hello > said.txt"};
  FakeModelServer model({.commands = commands,
                         .input_tokens = 1000,
                         .output_tokens = 100,
                         .cache_read_tokens = 20000,
                         .cache_write_tokens = 3000});
  ProxyProcess proxy(env, model.url(), env.File("proxy.log"));

  // Claude Code's SDK appends /v1/messages to the base URL's path, so the
  // session rides in the base URL; the proxy strips it before forwarding.
  const std::string session = "claude-proxy-e2e";
  const std::string key = "sk-ant-test-proxy-e2e-7c41d9";
  ProcessResult run =
      Run({HarnessCli("claude"), "-p", "Make a file, then say hello.", "--output-format", "json",
           "--model", "claude-sonnet-4-5", "--allowedTools=Bash"},
          "", env.project(),
          env.Env({{"ANTHROPIC_BASE_URL", proxy.url() + "/s/" + session},
                   {"ANTHROPIC_API_KEY", key},
                   {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"},
                   {"DISABLE_TELEMETRY", "1"},
                   {"DISABLE_AUTOUPDATER", "1"}}));
  INFO("claude stdout: " << run.out << "\nstderr: " << run.err);
  Json result = Json::parse(run.out, nullptr, false);
  REQUIRE(result.is_object());
  REQUIRE(result["is_error"] == false);
  REQUIRE(proxy.Stop() == 0);
  INFO("proxy output: " << proxy.Output());

  // The session ran through the proxy: both commands asked for, the first
  // one run, every call upstream without the session prefix and with the
  // key, and nothing logged outside the named session.
  CHECK(model.tool_calls_answered() == static_cast<int>(commands.size()));
  CHECK(std::filesystem::exists(env.project() + "/made.txt"));
  std::vector<Json> requests = model.requests();
  CHECK(requests.size() >= commands.size() + 1);
  for (const Json& r : requests) {
    CHECK(r["path"].get<std::string>().rfind("/v1/messages", 0) == 0);
    CHECK(r["api_key"] == key);
  }
  CHECK(env.Sessions() == std::vector<std::string>{session});

  // Every call the fake server answered is one llm_response (and one
  // llm_request); every tool_use in the answers one observed tool_call.
  auto events = env.Events(session);
  CHECK(CountEvents(events, "llm_request") == static_cast<int>(requests.size()));
  CHECK(CountEvents(events, "llm_response") == static_cast<int>(requests.size()));
  std::vector<std::string> observed;
  for (const Json& e : events) {
    if (e.value("type", "") == "tool_call" && e["labels"].value("observed", "") == "true") {
      observed.push_back(e["input"].value("command", ""));
    }
  }
  CHECK(observed == commands);

  // The cost. Both sides price the same tokens at the same list prices in
  // IEEE doubles, but each with its own arithmetic (reins: tokens x USD per
  // token, summed over decisions; Claude Code: its own formula and running
  // sum), so only the last bits may differ. Measured: bit-identical, with
  // and without cache tokens. 1e-12 relative allows a few ulps of rounding
  // over long sessions and is far below the smallest real disagreement:
  // one token priced differently is 3e-7 USD here, 5e-6 of the total.
  double cli_usd = result["total_cost_usd"].get<double>();
  REQUIRE(cli_usd > 0);
  CHECK(LoggedCost(env, session) == Approx(cli_usd).epsilon(1e-12));
  // Per model, with the tokens behind it, so a difference says where it is.
  auto logged = LoggedSpend(env, session);
  CHECK(logged.size() == result["modelUsage"].size());
  for (const auto& [name, usage] : result["modelUsage"].items()) {
    INFO("model " << name);
    Spend s = logged[name];
    CHECK(s.input == usage["inputTokens"].get<long>());
    CHECK(s.output == usage["outputTokens"].get<long>());
    CHECK(s.cache_read == usage["cacheReadInputTokens"].get<long>());
    CHECK(s.cache_write == usage["cacheCreationInputTokens"].get<long>());
    CHECK(s.usd == Approx(usage["costUSD"].get<double>()).epsilon(1e-12));
  }

  CHECK(env.ChainsVerify());
  // The key passed through the proxy and is nowhere in the log: not in the
  // database nor its WAL, nor in what the proxy printed.
  int db_files = 0;
  for (const auto& f : std::filesystem::directory_iterator(env.File("reins"))) {
    if (f.path().filename().string().rfind("reins.db", 0) != 0) continue;
    ++db_files;
    INFO(f.path());
    CHECK(ReadFile(f.path().string()).find(key) == std::string::npos);
  }
  CHECK(db_files >= 1);
  CHECK(proxy.Output().find(key) == std::string::npos);
}
