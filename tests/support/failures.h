// Test support for the failure tests (tests/failure_test.cc,
// tests/failure_config_test.cc): events, a ledger of what a client was told,
// and checks of a log against it and of served state against a fresh fold.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/log_store.h"
#include "server/http_client.h"
#include "tests/support/process.h"

namespace reins::testing {

// The server configuration of the failure tests: a stateful policy (a push
// after an install asks), so a lost update would show in a decision.
inline constexpr const char* kConfig = R"(policies:
  supply_chain:
    use: npm_then_push
)";

inline Json BashCall(const std::string& command) {
  return {{"type", "tool_call"}, {"tool", "Bash"}, {"input", {{"command", command}}}};
}

// POSTs `event` to `session`; status 0 when the server did not answer.
inline HttpResult SendEvent(HttpClient& c, const std::string& token, const std::string& session,
                            const Json& event) {
  auto r = c.Request("POST", "/v1/sessions/" + session + "/events", event.dump(), token);
  return r.ok() ? *r : HttpResult{};
}

inline HttpResult Get(HttpClient& c, const std::string& token, const std::string& target) {
  auto r = c.Request("GET", target, "", token);
  return r.ok() ? *r : HttpResult{};
}

inline size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Waits until `process` has printed `what` at least `n` times.
inline bool WaitForCount(BackgroundProcess& process, const std::string& what, size_t n,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Count(process.Output(), what) < n) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// What the events one client sent were answered: the event each
// acknowledged seq holds, and the events refused with an error.
struct Ledger {
  std::map<int64_t, Json> acknowledged;  // seq -> the event sent
  std::vector<Json> refused;

  // Sends `event`; an answer of 200 is an acknowledgement, anything else a
  // refusal (status 0: no answer, which proves nothing either way).
  HttpResult Send(HttpClient& c, const std::string& token, const std::string& session,
                  const Json& event) {
    HttpResult r = SendEvent(c, token, session, event);
    if (r.status == 200) {
      acknowledged[r.json()["seq"].get<int64_t>()] = event;
    } else if (r.status != 0) {
      refused.push_back(event);
    }
    return r;
  }

  // Every acknowledged event is in `session`'s log at its seq, and no
  // refused one is anywhere in it (events must be told apart by their input).
  void CheckLog(LogStore* store, const std::string& session) const {
    std::map<int64_t, Json> events;
    REQUIRE(store
                ->Scan(session, 0, 0,
                       [&](const Record& r) {
                         if (r.kind == RecordKind::kEvent) events[r.seq] = r.body;
                         return true;
                       })
                .ok());
    for (const auto& [seq, sent] : acknowledged) {
      INFO(session << " acknowledged seq " << seq << ": " << sent.dump());
      REQUIRE(events.count(seq) == 1);
      CHECK(events[seq]["type"] == sent["type"]);
      if (sent.contains("input")) CHECK(events[seq]["input"] == sent["input"]);
      if (sent.contains("text")) CHECK(events[seq]["text"] == sent["text"]);
    }
    std::set<std::string> inputs;
    for (const auto& [seq, body] : events) {
      if (body.contains("input")) inputs.insert(body["input"].dump());
    }
    for (const Json& sent : refused) {
      INFO(session << " refused " << sent.dump());
      if (sent.contains("input")) CHECK(inputs.count(sent["input"].dump()) == 0);
    }
  }
};

// A session's state as the server serves it (GET /v1/sessions/ID without
// the keys that are not state) against a fresh fold of its records, read
// from the SQLite file with the engine's own fold.
inline void CheckStateFolds(HttpClient& c, const std::string& token, const std::string& db,
                            const std::vector<std::string>& sessions) {
  SqliteOptions options;
  options.read_only = true;
  auto store = OpenSqliteLogStore(db, options);
  REQUIRE(store.ok());
  for (const std::string& id : sessions) {
    INFO("session " << id);
    HttpResult served = Get(c, token, "/v1/sessions/" + id);
    REQUIRE(served.status == 200);
    Json state = served.json();
    for (const char* key : {"owner", "policies", "digest", "policies_error"}) state.erase(key);
    auto folded = Engine::Fold(store->get(), id);
    REQUIRE(folded.ok());
    CHECK(state == folded->ToJson());
  }
}

// Runs `reins audit verify --all` on `db`: every chain must verify.
inline void CheckChainsVerify(const std::string& db) {
  auto verify = Run({ReinsBin(), "audit", "verify", "--all", "--db", db});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
  CHECK(verify.out.find("every chain verifies") != std::string::npos);
}

// Starts `reins serve ARGS` in `dir` where it must fail: its exit status
// and output (it is killed, failing the test, if it still runs after 30 s).
inline std::pair<int, std::string> ServeFails(const std::string& dir,
                                              const std::vector<std::string>& args,
                                              const std::string& log = "failed.log") {
  std::vector<std::string> argv = {ReinsBin(),    "serve",       "--listen",
                                   "127.0.0.1:0", "--token-dir", "tokens"};
  argv.insert(argv.end(), args.begin(), args.end());
  BackgroundProcess serve(argv, dir + "/" + log, dir);
  std::optional<int> code = serve.WaitFor(std::chrono::seconds(30));
  INFO(serve.Output());
  CHECK(code.has_value());
  return {code.value_or(-1), serve.Output()};
}

}  // namespace reins::testing
