// The role matrix: what agent, approver and admin tokens may do, and what an
// agent that tries more gets (403, recorded in the log it aimed at).
#include "server/server_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

// Starts session `id` with `token` and leaves an approval pending on it.
std::string SessionWithAsk(HttpClient& c, const std::string& token, const std::string& id) {
  REQUIRE(Call(c, "POST", "/v1/sessions", token, {{"id", id}}).status == 201);
  REQUIRE(Call(c, "POST", "/v1/sessions/" + id + "/events", token, BashCall("npm i x")).status ==
          200);
  auto ask = Call(c, "POST", "/v1/sessions/" + id + "/events", token, BashCall("git push"));
  REQUIRE(ask.json()["verdict"] == "ask");
  return ask.json()["approval_id"];
}

struct Row {
  std::string method, target;
  Json body;
  int agent, approver, admin;  // expected statuses
};

}  // namespace

TEST_CASE("each role may do exactly what the matrix says", "[server][roles]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  std::string agent = ts.AgentToken("agent-1");
  std::string mine = SessionWithAsk(c, agent, "mine");
  std::string theirs = SessionWithAsk(c, ts.admin, "theirs");
  const Json policy = {
      {"name", "cap"}, {"use", "max_tool_calls_per_session"}, {"with", {{"limit", 5}}}};

  // Each row runs as agent, approver, then admin, so a row's own writes
  // (a session, a policy) are set up for the next role where needed.
  std::vector<Row> rows = {
      {"GET", "/metrics", nullptr, 403, 200, 200},
      {"GET", "/v1/sessions", nullptr, 200, 200, 200},
      {"GET", "/v1/sessions/mine", nullptr, 200, 200, 200},
      {"GET", "/v1/sessions/theirs", nullptr, 403, 200, 200},
      {"POST", "/v1/sessions/mine/events", BashCall("ls"), 200, 403, 200},
      {"POST", "/v1/sessions/theirs/events", BashCall("ls"), 403, 403, 200},
      {"GET", "/v1/sessions/mine/events", nullptr, 200, 200, 200},
      {"GET", "/v1/sessions/theirs/events", nullptr, 403, 200, 200},
      {"GET", "/v1/sessions/theirs/stream", nullptr, 403, -1, -1},
      {"GET", "/v1/sessions/mine/policies", nullptr, 200, 200, 200},
      {"POST", "/v1/sessions/mine/policies", policy, 403, 200, 409},
      {"DELETE", "/v1/sessions/mine/policies/cap", nullptr, 403, 200, 404},
      {"GET", "/v1/approvals", nullptr, 200, 200, 200},
      {"GET", "/v1/approvals/" + theirs, nullptr, 403, 200, 200},
      {"GET", "/v1/approvals/" + mine, nullptr, 200, 200, 200},
      {"POST", "/v1/approvals/" + mine, {{"approved", true}}, 403, 200, 409},
      {"POST", "/v1/approvals/" + theirs, {{"approved", false}}, 403, 200, 409},
      {"GET", "/v1/policies", nullptr, 403, 200, 200},
      {"POST", "/v1/policies", policy, 403, 403, 201},
      {"PATCH", "/v1/policies/cap", {{"with", {{"limit", 9}}}}, 403, 403, 200},
      {"DELETE", "/v1/policies/cap", nullptr, 403, 403, 200},
      {"GET", "/v1/policy-registry", nullptr, 200, 200, 200},
  };
  for (const Row& row : rows) {
    for (auto [token, want, role] :
         {std::tuple{agent, row.agent, "agent"}, std::tuple{ts.approver, row.approver, "approver"},
          std::tuple{ts.admin, row.admin, "admin"}}) {
      if (want < 0) continue;
      INFO(role << " " << row.method << " " << row.target);
      auto r = Call(c, row.method, row.target, token, row.body);
      INFO(r.body);
      CHECK(r.status == want);
      if (want == 403) CHECK(r.json()["error"]["code"] == "forbidden");
    }
  }
  // POST /v1/sessions: agents and admins start sessions; approvers do not.
  CHECK(Call(c, "POST", "/v1/sessions", agent, {{"id", "a2"}}).status == 201);
  CHECK(Call(c, "POST", "/v1/sessions", ts.approver, {{"id", "p2"}}).status == 403);
  // An agent lists only its own sessions and their approvals.
  for (Json list = Call(c, "GET", "/v1/sessions", agent).json(); const Json& s : list["sessions"]) {
    CHECK(s["owner"] == "agent-1");
  }
  for (Json list = Call(c, "GET", "/v1/approvals?status=all", agent).json();
       const Json& a : list["approvals"]) {
    CHECK(a["session"] != "theirs");
  }
}

TEST_CASE("an agent cannot approve its own ask, and the attempt is in its log", "[server][roles]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  std::string agent = ts.AgentToken("agent-1");
  std::string id = SessionWithAsk(c, agent, "mine");

  auto direct = Call(c, "POST", "/v1/approvals/" + id, agent, {{"approved", true}});
  CHECK(direct.status == 403);
  // Nor by writing an approval event into its own session.
  auto forged = Call(c, "POST", "/v1/sessions/mine/events", agent,
                     {{"type", "approval"}, {"approval_id", id}, {"approved", true}});
  CHECK(forged.status == 403);
  // Nor by claiming another owner for a new session.
  CHECK(Call(c, "POST", "/v1/sessions", agent, {{"id", "x"}, {"owner", "admin"}}).status == 201);
  CHECK(Call(c, "GET", "/v1/sessions/x", ts.admin).json()["owner"] == "agent-1");

  CHECK(Call(c, "GET", "/v1/approvals/" + id, ts.approver).json()["status"] == "pending");
  int notes = 0;
  for (Json list = Call(c, "GET", "/v1/sessions/mine/events", ts.admin).json();
       const Json& r : list["records"]) {
    std::string text = r["body"].dump();
    if (r["kind"] == "note" && text.find("forbidden: agent token 'agent-1'") != std::string::npos) {
      ++notes;
    }
  }
  CHECK(notes == 2);
}

TEST_CASE("requests without a valid token get 401; tokens created meanwhile work", "[server]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  auto none = Call(c, "GET", "/v1/sessions", "");
  CHECK(none.status == 401);
  CHECK(none.headers["www-authenticate"] == "Bearer");
  CHECK(Call(c, "GET", "/v1/sessions", "reins_" + std::string(64, '0')).status == 401);
  CHECK(Call(c, "GET", "/healthz", "").status == 200);
  // `reins token create` writes the token file; the server picks it up.
  std::string late = ts.AgentToken("late");
  CHECK(Call(c, "GET", "/v1/sessions", late).status == 200);
}
