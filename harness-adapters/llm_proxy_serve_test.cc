// The LLM proxy mounted inside `reins serve` (a `proxy:` section): model
// calls land in the server's log, their cost shows in its API, and an ask
// raised on a model call is approved through the server like any other.
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "server/server_testing.h"
#include "tests/support/fake_upstream.h"

namespace reins::testing {
namespace {

TEST_CASE("serve with a proxy: section: model calls are governed through the server's API",
          "[proxy][serve]") {
  FakeUpstream upstream({}, [] {
    FakeUpstream::Script s;
    s.tokens = {100000, 20, 0, 0, 0};  // $0.3003 on claude-sonnet-4-5
    return s;
  }());
  TestServer ts(
      "proxy:\n"
      "  listen: 127.0.0.1:0\n"
      "  upstreams: {anthropic: '" +
      upstream.url() +
      "'}\n"
      "  ask_wait: 30s\n"
      "policies:\n"
      "  budget:\n"
      "    use: cost_budget\n"
      "    with: {ask_thresholds_usd: [0.25]}\n");
  REQUIRE_FALSE(ts.server->proxy_url().empty());
  Json body = {{"model", "claude-sonnet-4-5"},
               {"max_tokens", 50},
               {"messages", {{{"role", "user"}, {"content", "Say hello."}}}}};
  HttpClient proxy(ts.server->proxy_url(), std::chrono::seconds(30));
  auto first = proxy.Request("POST", "/s/served/v1/messages", body.dump());
  REQUIRE(first.ok());
  CHECK(first->status == 200);

  HttpClient api = ts.Client();
  // The answer is recorded just after its last byte was relayed.
  auto cost = [&](double expected) {
    double seen = 0;
    for (int i = 0; i < 500; ++i) {
      seen = Call(api, "GET", "/v1/sessions/served", ts.approver).json()["cost_usd"].get<double>();
      if (seen == Approx(expected)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return seen;
  };
  CHECK(cost(0.3003) == Approx(0.3003));

  // Past the threshold the next call is held until a person answers.
  auto held = std::async(std::launch::async, [&] {
    HttpClient c(ts.server->proxy_url(), std::chrono::seconds(30));
    return c.Request("POST", "/s/served/v1/messages", body.dump());
  });
  std::string id;
  for (int i = 0; i < 500 && id.empty(); ++i) {
    Json pending = Call(api, "GET", "/v1/approvals?status=pending", ts.approver).json();
    for (const Json& a : pending["approvals"]) {
      if (a["session"] == "served") id = a["id"];
    }
    if (id.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE_FALSE(id.empty());
  CHECK(upstream.requests().size() == 1);  // not sent while it waits
  auto resolved = Call(api, "POST", "/v1/approvals/" + id, ts.approver, {{"approved", true}});
  CHECK(resolved.status == 200);
  auto second = held.get();
  REQUIRE(second.ok());
  CHECK(second->status == 200);
  CHECK(upstream.requests().size() == 2);
  CHECK(cost(0.6006) == Approx(0.6006));
}

TEST_CASE("serve without a proxy: section runs no proxy", "[proxy][serve]") {
  TestServer ts("policies: {}\n");
  CHECK(ts.server->proxy_url().empty());
}

}  // namespace
}  // namespace reins::testing
