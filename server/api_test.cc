// The HTTP API end to end: a real server on a loopback port with a real
// SQLite log, driven the way harness adapters and people drive it.
#include <atomic>
#include <future>
#include <thread>

#include "server/server_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

Json Ev(const std::string& type, Json fields = Json::object()) {
  fields["type"] = type;
  return fields;
}

// Polls the pending approvals until one exists for `session`.
std::string AwaitPendingApproval(HttpClient& client, const std::string& token,
                                 const std::string& session) {
  for (int i = 0; i < 500; ++i) {
    auto r = Call(client, "GET", "/v1/approvals?status=pending", token);
    REQUIRE(r.status == 200);
    for (Json list = r.json(); const Json& a : list["approvals"]) {
      if (a["session"] == session) return a["id"];
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("no pending approval appeared for " << session);
  return "";
}

}  // namespace

TEST_CASE("sessions are created, listed with filters and read back with their state", "[server]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  auto created = Call(c, "POST", "/v1/sessions", ts.admin,
                      {{"id", "s1"}, {"user", "ada"}, {"agent", "coder"}, {"model", "claude-x"}});
  REQUIRE(created.status == 201);
  CHECK(created.json()["id"] == "s1");
  CHECK(created.json()["decision"]["verdict"] == "allow");
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"user", "bob"}}).status == 201);

  SECTION("a second session with the same id is a conflict") {
    auto again = Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "s1"}});
    CHECK(again.status == 409);
    CHECK(again.json()["error"]["code"] == "already_exists");
  }

  SECTION("events update the state: cost, tokens, tool counts") {
    auto r = Call(c, "POST", "/v1/sessions/s1/events", ts.admin,
                  {{"events",
                    {Ev("llm_response", {{"model", "m"},
                                         {"usage", {{"input_tokens", 100}, {"output_tokens", 5}}},
                                         {"cost_usd", 0.25}}),
                     BashCall("ls"), BashCall("pwd")}}});
    REQUIRE(r.status == 200);
    CHECK(r.json()["decisions"].size() == 3);
    auto state = Call(c, "GET", "/v1/sessions/s1", ts.admin).json();
    CHECK(state["cost_usd"] == 0.25);
    CHECK(state["tokens"]["input"] == 100);
    CHECK(state["tool_calls"]["Bash"] == 2);
    CHECK(state["user"] == "ada");
    CHECK(state["owner"] == "admin");
    CHECK(state["digest"].get<std::string>().size() == 64);
    bool gate = false;
    for (const Json& p : state["policies"])
      gate = gate || p.dump().find("supply_chain") != std::string::npos;
    CHECK(gate);
  }

  SECTION("the list filters by user, agent and activity") {
    auto by_user = Call(c, "GET", "/v1/sessions?user=ada", ts.admin).json()["sessions"];
    REQUIRE(by_user.size() == 1);
    CHECK(by_user[0]["id"] == "s1");
    CHECK(Call(c, "GET", "/v1/sessions?agent=coder", ts.admin).json()["sessions"].size() == 1);
    CHECK(Call(c, "GET", "/v1/sessions", ts.admin).json()["sessions"].size() == 2);
    REQUIRE(Call(c, "POST", "/v1/sessions/s1/events", ts.admin, Ev("session_end")).status == 200);
    auto active = Call(c, "GET", "/v1/sessions?active=true", ts.admin).json()["sessions"];
    REQUIRE(active.size() == 1);
    CHECK(active[0]["user"] == "bob");
    CHECK(Call(c, "GET", "/v1/sessions?since=1h", ts.admin).json()["sessions"].size() == 2);
    CHECK(Call(c, "GET", "/v1/sessions?since=yesterday", ts.admin).status == 400);
    CHECK(Call(c, "GET", "/v1/sessions?active=maybe", ts.admin).json()["error"]["field"] ==
          "active");
    CHECK(Call(c, "GET", "/v1/sessions?limit=ten", ts.admin).json()["error"]["field"] == "limit");
  }

  SECTION("the log pages with hashes") {
    for (int i = 0; i < 5; ++i) Call(c, "POST", "/v1/sessions/s1/events", ts.admin, BashCall("ls"));
    auto page = Call(c, "GET", "/v1/sessions/s1/events?after=2&limit=3", ts.admin).json();
    REQUIRE(page["records"].size() == 3);
    CHECK(page["records"][0]["seq"] == 3);
    CHECK(page["records"][0]["hash"].get<std::string>().size() == 64);
    CHECK(page["records"][1]["hash"] != page["records"][0]["hash"]);
    CHECK(page["next_after"] == 5);
    CHECK(page["head"].get<int64_t>() >= 6);
    CHECK(Call(c, "GET", "/v1/sessions/s1/events?after=xyz", ts.admin).status == 400);
  }

  SECTION("bad requests name what is wrong") {
    auto r = c.Request("POST", "/v1/sessions/s1/events", "{not json", ts.admin);
    REQUIRE(r.ok());
    CHECK(r->status == 400);
    CHECK(r->json()["error"]["message"].get<std::string>().find("JSON") != std::string::npos);
    auto bad =
        Call(c, "POST", "/v1/sessions/s1/events", ts.admin, {{"type", "tool_call"}, {"tool", 7}});
    CHECK(bad.status == 400);
    CHECK(bad.json()["error"]["field"] == "tool");
    auto wrong = Call(c, "POST", "/v1/sessions/s1/events", ts.admin,
                      {{"type", "request"}, {"session", "s2"}});
    CHECK(wrong.status == 400);
    CHECK(wrong.json()["error"]["field"] == "session");
    CHECK(Call(c, "POST", "/v1/sessions/nope/events", ts.admin, BashCall("ls")).status == 404);
    CHECK(Call(c, "GET", "/v1/sessions/nope", ts.admin).status == 404);
    CHECK(Call(c, "GET", "/v1/nothing", ts.admin).status == 404);
    CHECK(Call(c, "DELETE", "/v1/sessions", ts.admin).status == 405);
    CHECK(Call(c, "GET", "/v1/sessions/s1/events?wait=soon", ts.admin).status == 200);
    CHECK(Call(c, "POST", "/v1/sessions/s1/events?wait=soon", ts.admin, BashCall("ls")).status ==
          400);
  }
}

TEST_CASE("a batch holding an approval is refused before any of it is recorded", "[server]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "b"}}).status == 201);
  auto r = Call(c, "POST", "/v1/sessions/b/events", ts.admin,
                Json::array({BashCall("ls"), Ev("approval", {{"approval_id", "x"}})}));
  CHECK(r.status == 400);  // approvals go through /v1/approvals
  CHECK(r.json()["error"]["field"] == "type");
  CHECK(Call(c, "GET", "/v1/sessions/b", ts.admin).json()["tool_calls_total"] == 0);
}

TEST_CASE("an ask answers with an approval id; the approver's grant covers the session",
          "[server]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "s"}}).status == 201);
  REQUIRE(Call(c, "POST", "/v1/sessions/s/events", ts.admin, BashCall("npm install left-pad"))
              .json()["verdict"] == "allow");
  auto ask = Call(c, "POST", "/v1/sessions/s/events", ts.admin, BashCall("git push")).json();
  REQUIRE(ask["verdict"] == "ask");
  std::string id = ask["approval_id"];

  auto pending = Call(c, "GET", "/v1/approvals", ts.approver).json()["approvals"];
  REQUIRE(pending.size() == 1);
  CHECK(pending[0]["id"] == id);
  CHECK(pending[0]["tool"] == "Bash");
  CHECK(pending[0]["action"].get<std::string>().find("git push") != std::string::npos);
  CHECK(pending[0]["policies"][0] == "supply_chain");
  CHECK(Call(c, "GET", "/v1/sessions/s", ts.approver).json()["pending_approvals"].size() == 1);

  auto bad_grant = Call(c, "POST", "/v1/approvals/" + id, ts.approver,
                        {{"approved", true}, {"grant", "forever"}});
  CHECK(bad_grant.status == 400);
  CHECK(bad_grant.json()["error"]["field"] == "grant");
  auto ok = Call(c, "POST", "/v1/approvals/" + id, ts.approver,
                 {{"approved", true}, {"grant", "session"}, {"note", "reviewed"}});
  REQUIRE(ok.status == 200);
  CHECK(ok.json()["approval"]["status"] == "approved");
  CHECK(ok.json()["approval"]["by"] == "approver");
  auto twice = Call(c, "POST", "/v1/approvals/" + id, ts.approver, {{"approved", false}});
  CHECK(twice.status == 409);
  CHECK(Call(c, "GET", "/v1/approvals/" + id, ts.approver).json()["note"] == "reviewed");
  CHECK(Call(c, "POST", "/v1/approvals/nope", ts.approver, {{"approved", true}}).status == 404);

  // The grant: the same policy's next ask about a push passes.
  Call(c, "POST", "/v1/sessions/s/events", ts.admin, BashCall("npm install right-pad"));
  auto again = Call(c, "POST", "/v1/sessions/s/events", ts.admin, BashCall("git push")).json();
  CHECK(again["verdict"] == "allow");
  CHECK(Call(c, "GET", "/v1/approvals?status=approved", ts.approver).json()["approvals"].size() ==
        1);
}

TEST_CASE("an ask held with ?wait is released by an approver on another connection", "[server]") {
  TestServer ts(kGatePolicies);
  HttpClient agent = ts.Client();
  REQUIRE(Call(agent, "POST", "/v1/sessions", ts.admin, {{"id", "w"}}).status == 201);
  Call(agent, "POST", "/v1/sessions/w/events", ts.admin, BashCall("npm install left-pad"));
  bool approve = GENERATE(true, false);

  auto held = std::async(std::launch::async, [&] {
    return Call(agent, "POST", "/v1/sessions/w/events?wait=30", ts.admin, BashCall("git push"));
  });
  HttpClient person = ts.Client();
  std::string id = AwaitPendingApproval(person, ts.approver, "w");
  // A long poll on the approval from a third connection wakes up too.
  auto poll = std::async(std::launch::async, [&] {
    HttpClient watcher = ts.Client();
    return Call(watcher, "GET", "/v1/approvals/" + id + "?wait=30", ts.approver);
  });
  CHECK(held.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
  REQUIRE(Call(person, "POST", "/v1/approvals/" + id, ts.approver,
               {{"approved", approve}, {"note", "checked the diff"}})
              .status == 200);
  auto answer = held.get();
  REQUIRE(answer.status == 200);
  CHECK(answer.json()["verdict"] == (approve ? "allow" : "deny"));
  CHECK(answer.json()["approval_id"] == id);
  CHECK(answer.json()["reason"].get<std::string>().find("checked the diff") != std::string::npos);
  CHECK(poll.get().json()["status"] == (approve ? "approved" : "denied"));
}

TEST_CASE("a held ask whose wait runs out answers ask and stays pending", "[server]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "t"}}).status == 201);
  Call(c, "POST", "/v1/sessions/t/events", ts.admin, BashCall("npm install left-pad"));
  auto r = Call(c, "POST", "/v1/sessions/t/events?wait=1", ts.admin, BashCall("git push")).json();
  CHECK(r["verdict"] == "ask");
  std::string id = r["approval_id"];
  CHECK(Call(c, "GET", "/v1/approvals/" + id, ts.approver).json()["status"] == "pending");
}

TEST_CASE("the stream sends the log so far, then every new record live", "[server]") {
  TestServer ts(kGatePolicies);
  HttpClient c = ts.Client();
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "live"}}).status == 201);
  Call(c, "POST", "/v1/sessions/live/events", ts.admin, BashCall("ls"));

  HttpClient watcher = ts.Client();
  auto head = watcher.OpenStream("/v1/sessions/live/stream", ts.approver);
  REQUIRE(head.ok());
  CHECK(head->status == 200);
  CHECK(head->headers["content-type"] == "text/event-stream");
  std::string seen;
  auto read_until = [&](const std::string& needle) {
    while (seen.find(needle) == std::string::npos) {
      auto chunk = watcher.ReadStream();
      REQUIRE(chunk.ok());
      REQUIRE(!chunk->empty());
      seen += *chunk;
    }
  };
  read_until("\"seq\":2");
  CHECK(seen.find("event: event\n") != std::string::npos);
  Call(c, "POST", "/v1/sessions/live/events", ts.admin, BashCall("npm install left-pad"));
  read_until("left-pad");
  read_until("\"seq\":4");  // the decision record after the event
  CHECK(seen.find("event: decision\n") != std::string::npos);
  CHECK(seen.find("id: 3\n") != std::string::npos);

  // Resuming with Last-Event-ID style ?after skips what was seen.
  HttpClient again = ts.Client();
  auto resumed = again.OpenStream("/v1/sessions/live/stream?after=3", ts.approver);
  REQUIRE(resumed.ok());
  auto first = again.ReadStream();
  REQUIRE(first.ok());
  CHECK(first->rfind("id: 4\n", 0) == 0);
}

TEST_CASE("with every waiter slot taken, a held ask still answers with its approval", "[server]") {
  TestServer ts("server:\n  max_waiters: 0\n" + std::string(kGatePolicies));
  HttpClient c = ts.Client();
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "full"}}).status == 201);
  Call(c, "POST", "/v1/sessions/full/events", ts.admin, BashCall("npm install left-pad"));
  auto r = Call(c, "POST", "/v1/sessions/full/events?wait=5", ts.admin, BashCall("git push"));
  REQUIRE(r.status == 200);
  CHECK(r.json()["verdict"] == "ask");
  CHECK(r.json()["approval_id"] == "full:6");
  CHECK(r.json()["wait_error"].get<std::string>().find("too many waiters") != std::string::npos);
  CHECK(Call(c, "GET", "/v1/approvals/full:6?wait=1", ts.admin).status == 503);
}

TEST_CASE("parallel events of one session lose no state update", "[server]") {
  TestServer ts("policies:\n  cap:\n    use: max_tool_calls_per_session\n    with: {limit: 150}\n");
  HttpClient c = ts.Client();
  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, {{"id", "par"}}).status == 201);
  constexpr int kThreads = 8, kEach = 25;
  std::atomic<int> allowed{0}, denied{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      HttpClient mine = ts.Client();
      for (int i = 0; i < kEach; ++i) {
        auto r = mine.Request("POST", "/v1/sessions/par/events", BashCall("ls").dump(), ts.admin);
        if (!r.ok() || r->status != 200) continue;
        (r->json()["verdict"] == "allow" ? allowed : denied)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  // The cap's counter saw every call: exactly `limit` passed.
  CHECK(allowed == 150);
  CHECK(denied == kThreads * kEach - 150);
  CHECK(Call(c, "GET", "/v1/sessions/par", ts.admin).json()["tool_calls"]["Bash"] ==
        kThreads * kEach);
}

// Found by tests/fuzz (fuzz_http): the error for a body that is not JSON
// quotes its bytes; invalid UTF-8 among them made writing the error throw,
// and the client got a 500 instead of its 400.
TEST_CASE("a body that is not UTF-8 is a 400 with a JSON error", "[server][fuzz]") {
  TestServer ts;
  HttpClient c = ts.Client();
  auto r = c.Request("POST", "/v1/sessions", "{\"id\":\"\xff\xfe demo\"}", ts.admin);
  REQUIRE(r.ok());
  CHECK(r->status == 400);
  INFO(r->body);
  REQUIRE(r->json().is_object());
  CHECK(r->json()["error"]["code"] == "invalid_json");
}

TEST_CASE("fields of the wrong JSON type are a 400 naming the field, never a 500",
          "[server][fuzz]") {
  // "id" and "type" were read with nlohmann's value(), which throws on a
  // number before the check that names the field could run.
  TestServer ts;
  HttpClient c = ts.Client();
  auto r = Call(c, "POST", "/v1/sessions", ts.admin, Json{{"id", 5}});
  CHECK(r.status == 400);
  CHECK(r.json()["error"]["field"] == "id");

  REQUIRE(Call(c, "POST", "/v1/sessions", ts.admin, Json{{"id", "typed"}}).status == 201);
  r = Call(c, "POST", "/v1/sessions/typed/events", ts.admin, Json{{"type", 7}});
  INFO(r.body);
  CHECK(r.status == 400);
  CHECK(r.json()["error"]["field"] == "type");
  size_t before = Call(c, "GET", "/v1/sessions/typed/events", ts.admin).json()["records"].size();
  r = Call(c, "POST", "/v1/sessions/typed/events", ts.admin,
           {{"events", {Ev("request", {{"text", "hi"}}), Json{{"type", {1}}}}}});
  CHECK(r.status == 400);
  // Nothing of a refused batch was recorded.
  CHECK(Call(c, "GET", "/v1/sessions/typed/events", ts.admin).json()["records"].size() == before);
}
