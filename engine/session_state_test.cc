#include "engine/session_state.h"

#include <catch2/catch.hpp>

using namespace reins;

namespace {

Record Rec(int64_t seq, RecordKind kind, Json body) {
  Record r;
  r.session = std::string(1, 's');
  r.seq = seq;
  r.kind = kind;
  r.ts = 1000 * seq;
  r.body = std::move(body);
  r.Seal(kGenesisHash);
  return r;
}

Json Update(const char* op, const char* key, Json value = nullptr) {
  Json u = {{"policy", "server:p"}, {"op", op}, {"key", key}};
  if (!value.is_null()) u["value"] = value;
  return u;
}

}  // namespace

TEST_CASE("state updates follow set, increment, delete and append", "[state]") {
  SessionState s("s");
  REQUIRE(s.ApplyUpdate(Update("increment", "n", 1)).ok());
  REQUIRE(s.ApplyUpdate(Update("increment", "n", 2)).ok());
  CHECK(*s.PolicyValue("server:p", "n") == 3);
  CHECK(s.PolicyValue("server:p", "n")->is_number_integer());
  REQUIRE(s.ApplyUpdate(Update("increment", "x", 0.5)).ok());
  CHECK(s.PolicyValue("server:p", "x")->get<double>() == Approx(0.5));
  REQUIRE(s.ApplyUpdate(Update("append", "list", "a")).ok());
  REQUIRE(s.ApplyUpdate(Update("append", "list", Json{{"b", 1}})).ok());
  CHECK(*s.PolicyValue("server:p", "list") == Json::array({"a", {{"b", 1}}}));
  REQUIRE(s.ApplyUpdate(Update("set", "list", "replaced")).ok());
  CHECK(*s.PolicyValue("server:p", "list") == "replaced");
  REQUIRE(s.ApplyUpdate(Update("delete", "list")).ok());
  CHECK(s.PolicyValue("server:p", "list") == nullptr);
  CHECK(s.PolicyValue("agent:p", "n") == nullptr);  // stores are per policy
  CHECK_FALSE(s.ApplyUpdate(Update("increment", "n", "two")).ok());
  CHECK_FALSE(s.ApplyUpdate(Update("rename", "n", 1)).ok());
}

TEST_CASE("the fold tracks identity, model, turns, tools and spend", "[state]") {
  SessionState s("s");
  int64_t seq = 0;
  auto apply = [&](RecordKind kind, Json body) { REQUIRE(s.Apply(Rec(++seq, kind, body)).ok()); };
  apply(RecordKind::kEvent, {{"session", "s"},
                             {"type", "session_start"},
                             {"user", "ann"},
                             {"agent", "coder"},
                             {"model", "m1"}});
  apply(RecordKind::kEvent, {{"session", "s"}, {"type", "request"}, {"text", "go"}});
  apply(RecordKind::kEvent, {{"session", "s"}, {"type", "llm_request"}, {"model", "m2"}});
  apply(RecordKind::kEvent, {{"session", "s"}, {"type", "tool_call"}, {"tool", "Bash"}});
  apply(RecordKind::kDecision,
        {{"event_seq", 4}, {"event_type", "tool_call"}, {"verdict", "deny"}});
  apply(RecordKind::kDecision, {{"event_seq", 3},
                                {"event_type", "llm_response"},
                                {"verdict", "allow"},
                                {"cost",
                                 {{"usd", 0.5},
                                  {"model", "m2"},
                                  {"source", "price_table"},
                                  {"tokens", {{"input", 100}, {"output", 10}}}}}});
  apply(RecordKind::kChildCost,
        {{"child", "c"}, {"model", "m3"}, {"cost_usd", 0.25}, {"tokens", {{"input", 5}}}});
  CHECK(s.user == "ann");
  CHECK(s.agent == "coder");
  CHECK(s.model == "m2");
  CHECK(s.turns == 1);
  CHECK(s.tool_calls["Bash"] == 1);
  CHECK(s.recent_tool_calls.back().verdict == "deny");
  CHECK(s.cost_usd == Approx(0.75));
  CHECK(s.own_cost_usd == Approx(0.5));
  CHECK(s.tokens.input == 105);
  CHECK(s.by_model["m2"].calls == 1);
  CHECK(s.last_seq == 7);
}

TEST_CASE("the fold refuses gaps and unreadable records", "[state]") {
  SessionState s("s");
  auto st = s.Apply(Rec(2, RecordKind::kNote, {{"source", "x"}, {"message", "y"}}));
  CHECK(st.code() == Status::Code::kCorruption);
  CHECK(s.Apply(Rec(1, RecordKind::kApproval, {{"op", "resolved"}, {"id", "nope"}})).code() ==
        Status::Code::kCorruption);
}
