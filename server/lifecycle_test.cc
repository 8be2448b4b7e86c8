// Policies managed over the API, reloads, restarts and metrics.
#include <fstream>

#include "server/server_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

std::string VerdictOf(HttpClient& c, const std::string& token, const std::string& session,
                      const Json& event) {
  auto r = Call(c, "POST", "/v1/sessions/" + session + "/events", token, event);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return r.json()["verdict"];
}

}  // namespace

TEST_CASE("server policies are added, patched and removed with every write validated",
          "[server][policies]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "s"}}).status == 201);
  std::string before = Call(c, "GET", "/v1/policies", ts.admin).json()["digest"];

  auto unknown = Call(c, "POST", "/v1/policies", ts.admin, {{"name", "x"}, {"use", "no_such"}});
  CHECK(unknown.status == 422);
  CHECK(unknown.json()["error"]["message"].get<std::string>().find("no_such") != std::string::npos);
  auto bad_param =
      Call(c, "POST", "/v1/policies", ts.admin,
           {{"cap", {{"use", "max_tool_calls_per_session"}, {"with", {{"limit", "many"}}}}}});
  CHECK(bad_param.status == 422);
  CHECK(bad_param.json()["error"]["field"].get<std::string>().find("limit") != std::string::npos);

  auto added =
      Call(c, "POST", "/v1/policies", ts.admin,
           {{"name", "cap"}, {"use", "max_tool_calls_per_session"}, {"with", {{"limit", 2}}}});
  REQUIRE(added.status == 201);
  CHECK(added.json()["digest"] != before);
  CHECK(Call(c, "POST", "/v1/policies", ts.admin,
             {{"name", "cap"}, {"use", "max_tool_calls_per_session"}})
            .status == 409);
  // Existing sessions see the new server layer at once.
  CHECK(VerdictOf(c, ts.admin, "s", BashCall("ls")) == "allow");
  CHECK(VerdictOf(c, ts.admin, "s", BashCall("ls")) == "allow");
  CHECK(VerdictOf(c, ts.admin, "s", BashCall("ls")) == "deny");

  auto bad_patch = Call(c, "PATCH", "/v1/policies/cap", ts.admin, {{"with", {{"limit", -3}}}});
  CHECK(bad_patch.status == 422);
  CHECK(bad_patch.json()["error"]["field"].get<std::string>().find("limit") != std::string::npos);
  REQUIRE(Call(c, "PATCH", "/v1/policies/cap", ts.admin, {{"with", {{"limit", 100}}}}).status ==
          200);
  CHECK(VerdictOf(c, ts.admin, "s", BashCall("ls")) == "allow");
  CHECK(
      Call(c, "PATCH", "/v1/policies/supply_chain", ts.admin, {{"with", Json::object()}}).status ==
      409);  // file policies change in the file
  REQUIRE(Call(c, "DELETE", "/v1/policies/cap", ts.admin).status == 200);
  CHECK(Call(c, "DELETE", "/v1/policies/cap", ts.admin).status == 404);
  CHECK(Call(c, "GET", "/v1/policies", ts.admin).json()["digest"] == before);

  // Every change is in the server's own log, with who made it.
  int changes = 0;
  for (Json list = Call(c, "GET", "/v1/sessions/reins:server/events", ts.admin).json();
       const Json& r : list["records"]) {
    if (r["kind"] == "config" && r["body"]["by"] == "admin") ++changes;
  }
  CHECK(changes == 3);
}

TEST_CASE("session policies are set at creation or later and apply to that session only",
          "[server][policies]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  Json cap = {{"use", "max_tool_calls_per_session"}, {"with", {{"limit", 1}}}};
  auto invalid = Call(c, "POST", "/v1/sessions", ts.admin,
                      {{"id", "bad"}, {"policies", {{"cap", {{"use", "nope"}}}}}});
  CHECK(invalid.status == 422);
  CHECK(Call(c, "GET", "/v1/sessions/bad", ts.admin).status == 404);  // nothing recorded

  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "a"}, {"policies", {{"cap", cap}}}})
              .status == 201);
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "b"}}).status == 201);
  CHECK(VerdictOf(c, ts.admin, "a", BashCall("ls")) == "allow");
  CHECK(VerdictOf(c, ts.admin, "a", BashCall("ls")) == "deny");
  CHECK(VerdictOf(c, ts.admin, "b", BashCall("ls")) == "allow");
  CHECK(VerdictOf(c, ts.admin, "b", BashCall("ls")) == "allow");

  auto listed = Call(c, "GET", "/v1/sessions/a/policies", ts.approver).json();
  CHECK(listed["session_policies"].contains("cap"));
  REQUIRE(Call(c, "POST", "/v1/sessions/b/policies", ts.approver, {{"cap", cap}}).status == 200);
  // A policy added later counts from when it was added.
  CHECK(VerdictOf(c, ts.admin, "b", BashCall("ls")) == "allow");
  CHECK(VerdictOf(c, ts.admin, "b", BashCall("ls")) == "deny");
  REQUIRE(Call(c, "DELETE", "/v1/sessions/a/policies/cap", ts.approver).status == 200);
  CHECK(VerdictOf(c, ts.admin, "a", BashCall("ls")) == "allow");
  auto bad =
      Call(c, "POST", "/v1/sessions/b/policies", ts.approver,
           {{"name", "x"}, {"use", "max_tool_calls_per_session"}, {"with", {{"limit", "x"}}}});
  CHECK(bad.status == 422);
}

TEST_CASE("the registry lists builtins and loaded Lua types with parameter schemas", "[server]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  auto types = Call(c, "GET", "/v1/policy-registry", ts.admin).json()["policies"];
  bool found = false;
  for (const Json& t : types) {
    if (t["name"] != "max_tool_calls_per_session") continue;
    found = true;
    CHECK(t.dump().find("\"limit\"") != std::string::npos);
  }
  CHECK(found);
  CHECK(types.size() >= 20);
}

TEST_CASE("a reload installs the file's new policies and keeps the old on error",
          "[server][reload]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "s"}}).status == 201);
  std::string digest = ts.server->server_policies_digest();
  ts.WriteConfig(std::string(kGatePolicies) +
                 "  cap:\n    use: max_tool_calls_per_session\n    with: {limit: 1}\n");
  REQUIRE(ts.server->Reload().ok());
  CHECK(ts.server->server_policies_digest() != digest);
  CHECK(Call(c, "GET", "/healthz", "").json()["server_policies_digest"] ==
        ts.server->server_policies_digest());
  bool logged = false;
  for (const std::string& line : ts.LogLines()) {
    logged = logged || line.find("reloaded") != std::string::npos &&
                           line.find(ts.server->server_policies_digest()) != std::string::npos;
  }
  CHECK(logged);
  CHECK(VerdictOf(c, ts.admin, "s", BashCall("ls")) == "allow");
  CHECK(VerdictOf(c, ts.admin, "s", BashCall("ls")) == "deny");

  std::string good = ts.server->server_policies_digest();
  ts.WriteConfig("policies:\n  cap:\n    use: max_tool_calls_per_session\n    with: {limit: [}\n");
  Status st = ts.server->Reload();
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("server.yaml") != std::string::npos);
  CHECK(ts.server->server_policies_digest() == good);
}

TEST_CASE("a restart recovers every session's state from the log", "[server][restart]") {
  TestServer ts(kGatePolicies);
  std::string state_before;
  {
    HttpClient c = ts.Client();
    REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "r"}, {"user", "ada"}}).status ==
            201);
    Call(c, "POST", "/v1/sessions/r/events", ts.admin,
         {{"type", "llm_response"}, {"model", "m"}, {"cost_usd", 1.5}});
    Call(c, "POST", "/v1/sessions/r/events", ts.admin, BashCall("npm install left-pad"));
    REQUIRE(
        Call(c, "POST", "/v1/policies", ts.admin,
             {{"name", "cap"}, {"use", "max_tool_calls_per_session"}, {"with", {{"limit", 50}}}})
            .status == 201);
    state_before = Call(c, "GET", "/v1/sessions/r", ts.admin).body;
  }
  std::string admin = ts.admin;
  ts.Stop();
  ts.Start();
  CHECK(ts.admin == admin);  // tokens are not created again
  HttpClient c = ts.Client();
  CHECK(Call(c, "GET", "/v1/sessions/r", ts.admin).body == state_before);
  // The policy state survived: the push after the install still asks, and
  // the API-added server policy is still there.
  CHECK(VerdictOf(c, ts.admin, "r", BashCall("git push")) == "ask");
  CHECK(Call(c, "GET", "/v1/policies", ts.admin).body.find("\"cap\"") != std::string::npos);
}

TEST_CASE("metrics count decisions by verdict and policy in Prometheus text", "[server]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "m"}}).status == 201);
  Call(c, "POST", "/v1/sessions/m/events", ts.admin, BashCall("npm install left-pad"));
  Call(c, "POST", "/v1/sessions/m/events", ts.admin, BashCall("git push"));
  auto r = Call(c, "GET", "/metrics", ts.admin);
  REQUIRE(r.status == 200);
  CHECK(r.headers["content-type"].rfind("text/plain", 0) == 0);
  const std::string& m = r.body;
  CHECK(m.find("reins_decisions_total{verdict=\"ask\"} 1") != std::string::npos);
  CHECK(m.find("reins_policy_decisions_total{policy=\"supply_chain\",verdict=\"ask\"} 1") !=
        std::string::npos);
  CHECK(m.find("reins_approvals_pending 1") != std::string::npos);
  CHECK(m.find("reins_evaluation_seconds_bucket") != std::string::npos);
  CHECK(m.find("reins_log_append_seconds_count") != std::string::npos);
  CHECK(m.find("reins_sessions_active 1") != std::string::npos);
}

TEST_CASE("a body over the limit gets 413 and the connection stays usable", "[server]") {
  TestServer ts("server:\n  max_body_bytes: 2000\n" + std::string(kGatePolicies));
  HttpClient c = ts.Client();
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "big"}}).status == 201);
  Json head = Call(c, "GET", "/v1/sessions/big", ts.admin).json()["last_seq"];
  auto r = Call(c, "POST", "/v1/sessions/big/events", ts.admin,
                {{"type", "request"}, {"text", std::string(5000, 'x')}});
  CHECK(r.status == 413);
  CHECK(r.json()["error"]["code"] == "body_too_large");
  CHECK(Call(c, "GET", "/v1/sessions/big", ts.admin).json()["last_seq"] == head);
}
