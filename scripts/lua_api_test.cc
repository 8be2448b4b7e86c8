// The script API through a real engine: verdicts, state updates, the event
// and session views, log queries, notes and the helpers.
#include "scripts/lua_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

struct One {
  explicit One(const std::string& body, const std::string& events = "\"tool_call\"",
               const std::string& extra = "", const std::string& with = "")
      : path(scripts.Write("t.lua", PolicyText(body, events, extra))),
        h(scripts.Entry("t", "t.lua", with)) {}
  LuaScripts scripts;
  std::string path;
  LuaHarness h;
};

}  // namespace

TEST_CASE("verdicts: nil, allow, deny, ask, modify", "[lua][api]") {
  One t(R"lua(
    local c = event.input.command
    if c == "none" then return nil end
    if c == "allow" then return reins.allow("fine") end
    if c == "deny" then return reins.deny("no") end
    if c == "ask" then return reins.ask("sure?") end
    return reins.modify({input = {command = "echo safe"}}, "rewritten")
  )lua");
  Decision d = t.h.Must(BashCall("none"));
  CHECK(d.verdict == Verdict::kAllow);
  CHECK(d.policies.empty());
  d = t.h.Must(BashCall("allow"));
  CHECK(d.verdict == Verdict::kAllow);
  CHECK(d.policies == std::vector<std::string>{"t"});
  d = t.h.Must(BashCall("deny"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason == "no");
  d = t.h.Must(BashCall("ask"));
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason == "t: sure?");
  t.h.Must(ApprovalEvent());
  d = t.h.Must(BashCall("rm -rf /"));
  CHECK(d.verdict == Verdict::kModify);
  CHECK(d.reason == "t: rewritten");
  CHECK(d.patch == Json{{"input", {{"command", "echo safe"}}}});
}

TEST_CASE("state updates chain on every verdict and follow the engine's rules", "[lua][api]") {
  One t(R"lua(
    local c = event.input.command
    if c == "count" then
      return reins.allow():increment("n"):increment("n", 2):set("last", c):append("seen", c)
    elseif c == "deny" then
      return reins.deny("no"):set("denied", true)
    elseif c == "ask" then
      return reins.ask("approve?"):set("approved", true):delete("last")
    elseif c == "plain" then
      return {verdict = "allow", state = {{op = "set", key = "plain", value = {1, 2}}}}
    end
    return reins.modify({input = {command = "true"}}, "m"):set("modified", c)
  )lua");
  t.h.Must(BashCall("count"));
  t.h.Must(BashCall("count"));
  t.h.Must(BashCall("deny"));
  t.h.Must(BashCall("plain"));
  t.h.Must(BashCall("other"));
  Json store = t.h.State().policy_state["server:t"];
  CHECK(store["n"] == 6);
  CHECK(store["last"] == "count");
  CHECK(store["seen"] == Json{"count", "count"});
  CHECK(store["denied"] == true);
  CHECK(store["plain"] == Json{1, 2});
  CHECK(store["modified"] == "other");

  // Withheld on ask; applied when approved, dropped when denied.
  Decision d = t.h.Must(BashCall("ask"));
  REQUIRE(d.verdict == Verdict::kAsk);
  CHECK_FALSE(t.h.State().policy_state["server:t"].contains("approved"));
  t.h.Must(ApprovalEvent(false));
  CHECK_FALSE(t.h.State().policy_state["server:t"].contains("approved"));
  t.h.Must(BashCall("ask"));
  t.h.Must(ApprovalEvent());
  store = t.h.State().policy_state["server:t"];
  CHECK(store["approved"] == true);
  CHECK_FALSE(store.contains("last"));
}

TEST_CASE("the event is a read-only table", "[lua][api]") {
  One t(R"lua(
    local c = event.input.command
    if c == "shape" then
      local keys = {}
      for k in pairs(event) do keys[#keys + 1] = k end
      local args = {}
      for i, a in ipairs(event.input.args) do args[i] = a end
      return reins.deny(table.concat(keys, ",") .. " | " .. type(event) .. " " .. type(event.input)
        .. " " .. #event.input.args .. " " .. table.concat(args, "+") .. " "
        .. tostring(event.input == event.input) .. " " .. reins.json.encode(event.input.args)
        .. " " .. tostring(event.input.missing) .. " " .. event.seq .. " " .. event.ts)
    end
    event.input.command = "changed"
  )lua");
  Decision d = t.h.Must(ToolCall("Bash", {{"command", "shape"}, {"args", {"a", "b"}}}));
  CHECK(d.reason ==
        "input,seq,session,tool,ts,type | table table 2 a+b true [\"a\",\"b\"] nil 1 "
        "2026-11-21T08:45:01.000000Z");
  d = t.h.Must(BashCall("write"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason.find("policy 't' failed: t.lua:") == 0);
  CHECK(d.reason.find("attempt to modify a read-only table") != std::string::npos);
}

TEST_CASE("session fields", "[lua][api]") {
  One t(R"lua(
    local parts = {
      session.id, session.user, session.agent, session.harness, session.model, session.cwd,
      string.format("%.2f", session.cost_usd), session.turns, session.tool_calls(),
      session.tool_calls("Bash"), session:tool_calls("Read"), session.tokens.input,
      session.tokens.output, session.today, math.floor(session.now), tostring(session.state.n),
      string.format("%.2f", session.models["claude-sonnet-4-5"].cost_usd),
      session.models["claude-sonnet-4-5"].calls, type(session), tostring(session.nothing),
    }
    for i, p in ipairs(parts) do parts[i] = tostring(p) end
    return reins.deny(table.concat(parts, " ")):increment("n")
  )lua");
  t.h.Must({{"type", "session_start"},
            {"user", "ann"},
            {"agent", "coder"},
            {"harness", "claude-code"},
            {"model", "claude-sonnet-4-5"},
            {"cwd", "/src"}});
  t.h.Must(UserRequest("fix it"));
  t.h.Must({{"type", "llm_response"},
            {"model", "claude-sonnet-4-5"},
            {"usage", {{"input_tokens", 1000}, {"output_tokens", 200}}},
            {"cost_usd", 0.25}});
  t.h.Must(ToolCall("Read", {{"file_path", "a"}}));
  Decision d = t.h.Must(BashCall("ls"));
  CHECK(d.reason ==
        "s ann coder claude-code claude-sonnet-4-5 /src 0.25 1 1 0 1 1000 200 2026-11-21 "
        "1795250705 1 0.25 1 table nil");
  d = t.h.Must(BashCall("ls"));
  CHECK(d.reason.find(" 0.25 1 2 1 1 1000 200 2026-11-21 1795250706 2 ") != std::string::npos);
}

TEST_CASE("session.state reads this policy's store", "[lua][api]") {
  One t(R"lua(
    local keys = {}
    for k, v in pairs(session.state) do keys[#keys + 1] = k .. "=" .. reins.json.encode(v) end
    if event.input.command == "show" then return reins.deny(table.concat(keys, " ")) end
    return reins.allow():increment("calls"):set("obj", {a = {1, 2}})
  )lua");
  t.h.Must(BashCall("ls"));
  t.h.Must(BashCall("ls"));
  Decision d = t.h.Must(BashCall("show"));
  CHECK(d.reason == "calls=2 obj={\"a\":[1,2]}");
}

TEST_CASE("session.events queries the log", "[lua][api]") {
  One t(R"lua(
    if event.tool ~= "Edit" then return nil end
    local path = event.input.file_path
    for _, e in ipairs(session.events{type = "tool_call", tool = "Read"}) do
      if e.input.file_path == path then return nil end
    end
    local all = session.events{}
    local later = session.events{since = 1, limit = 2}
    return reins.deny(path .. " was not read first (" .. #all .. " events, first " .. all[1].type
      .. "; after seq 1: " .. later[1].seq .. "," .. later[2].seq .. ")")
  )lua");
  t.h.Must(UserRequest("edit a.txt"));
  t.h.Must(ToolCall("Read", {{"file_path", "a.txt"}}));
  CHECK(t.h.Must(ToolCall("Edit", {{"file_path", "a.txt"}})).verdict == Verdict::kAllow);
  Decision d = t.h.Must(ToolCall("Edit", {{"file_path", "b.txt"}}));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason == "b.txt was not read first (3 events, first request; after seq 1: 3,5)");
}

TEST_CASE("session.events rejects bad options", "[lua][api]") {
  for (auto [query, message] : std::vector<std::pair<std::string, std::string>>{
           {"{typ = 'x'}", "unknown option 'typ' (known: type, tool, since, limit)"},
           {"{type = 'tool_cal'}", "unknown event type 'tool_cal'"},
           {"{limit = 0}", "limit must be between 1 and 1000"},
           {"{limit = 5000}", "limit must be between 1 and 1000"},
           {"{since = 'x'}", "number expected, got string"},
       }) {
    One t("return session.events" + query);
    Decision d = t.h.Must(BashCall("ls"));
    INFO(d.reason);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(d.reason.find(message) != std::string::npos);
  }
}

TEST_CASE("reins.log and print become notes in the session log", "[lua][api]") {
  One t(R"lua(
    reins.log("checking " .. event.input.command)
    print("two", 2, nil, true)
    reins.log({})
  )lua");
  t.h.Must(BashCall("ls"));
  auto notes = Notes(t.h);
  REQUIRE(notes.size() == 3);
  CHECK(notes[0] == Json{{"source", "policy:t"}, {"message", "checking ls"}});
  CHECK(notes[1]["message"] == "two\t2\tnil\ttrue");
  CHECK(notes[2]["message"].get<std::string>().rfind("table: ", 0) == 0);
}

TEST_CASE("helpers: re2, glob, json", "[lua][api]") {
  One t(R"lua(
    local r = {}
    local function add(...) local t = table.pack(...)
      for i = 1, t.n do r[#r + 1] = tostring(t[i]) end end
    add(reins.re2.match("(\\w+)@(\\w+)", "mail ann@example now"))
    add(reins.re2.find("b+", "aabbbc"))
    add(reins.re2.match("^x", "abc"))
    add(reins.re2.match("\\d+", "a 42 b"))
    add(reins.re2.find("(a)|(b)", "b"))
    add(reins.glob("src/**/*.py", "src/a/b/c.py"), reins.glob("src/**/*.py", "src/c.py"),
        reins.glob("*.py", "a/c.py"), reins.glob("**/*.py", "c.py"), reins.glob("a?c", "abc"),
        reins.glob("[!a]bc", "abc"), reins.glob("docs/**", "docs/x/y.md"))
    local v = reins.json.decode('{"a": [1, 2.5, "x", null, true], "b": {}, "c": []}')
    add(#v.a, v.a[2], v.a[4] == reins.json.null, reins.json.encode(v))
    add(reins.json.encode({b = 1, a = {x = "y"}}), reins.json.encode(reins.json.array()))
    add(pcall(reins.json.decode, "{bad"))
    add(pcall(reins.json.encode, {f = print}))
    add(pcall(reins.re2.match, "(", "x"))
    return reins.deny(table.concat(r, " "))
  )lua");
  Decision d = t.h.Must(BashCall("ls"));
  CHECK(d.reason ==
        "ann example 3 5 nil 42 1 1 nil b true true false true true false true 5 2.5 true "
        "{\"a\":[1,2.5,\"x\",null,true],\"b\":{},\"c\":[]} {\"a\":{\"x\":\"y\"},\"b\":1} [] "
        "false reins.json.decode: parse error at line 1, column 2: syntax error while parsing "
        "object key - invalid literal; last read: '{b'; expected string literal "
        "false reins.json.encode: f: cannot convert a function to JSON "
        "false reins.re2: invalid pattern: missing ): (");
}

TEST_CASE("what evaluate returns is checked", "[lua][api]") {
  for (auto [ret, message] : std::vector<std::pair<std::string, std::string>>{
           {"42", "evaluate returned a number, expected nil or a verdict"},
           {"true", "evaluate returned a boolean, expected nil or a verdict"},
           {"'allow'", "evaluate returned a string, expected nil or a verdict"},
           {"{verdict = 'maybe'}", "unknown verdict 'maybe' (allow, deny, ask, modify)"},
           {"{verdict = 'allow', reson = 'x'}",
            "unknown field 'reson' (known: verdict, reason, patch, state)"},
           {"{verdict = 'modify'}", "modify needs a non-empty patch table"},
           {"{verdict = 'deny', patch = {a = 1}}", "'patch' is only for modify"},
           {"{verdict = 'allow', state = {{op = 'bump', key = 'k'}}}",
            "state[1]: state update: unknown op 'bump'"},
           {"reins.allow():increment('k', 1/0)", "cannot convert nan or inf to JSON"},
           {"{verdict = 'allow', reason = {}}", "'reason' must be a string"},
           {"{[1] = 'allow', verdict = 'allow'}", "table mixes string keys and array indices"},
       }) {
    One t("return " + ret);
    Decision d = t.h.Must(BashCall("ls"));
    INFO(ret << " -> " << d.reason);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(d.reason.rfind("policy 't' failed: ", 0) == 0);
    CHECK(d.reason.find(message) != std::string::npos);
  }
}

TEST_CASE("parameters: declared defaults and configured values", "[lua][api]") {
  LuaScripts s;
  s.Write("p.lua", R"lua(return {
  name = "p",
  events = { "tool_call" },
  params = {
    tools = { type = "array", items = "string", default = { "WebFetch" } },
    limit = { type = "integer", default = 3 },
    mode = { type = "string", choices = { "ask", "deny" }, default = "ask" },
    extra = { type = "object", default = {} },
    anything = { type = "array" },
  },
  evaluate = function(event, session, params)
    return reins.deny(table.concat(params.tools, ",") .. " " .. params.limit .. " " .. params.mode
      .. " " .. reins.json.encode(params.extra) .. " " .. (params.anything and #params.anything or "none"))
  end,
})lua");
  LuaHarness a(s.Entry("p", "p.lua"));
  CHECK(a.Must(BashCall("ls")).reason == "WebFetch 3 ask {} none");
  LuaHarness b(
      s.Entry("p", "p.lua", "tools: [a, b], limit: 7.0, mode: DENY, extra: {k: 1}, anything: [1]"));
  CHECK(b.Must(BashCall("ls")).reason == "a,b 7 deny {\"k\":1} 1");
}

TEST_CASE("reins.shell.parse exposes the shell analyzer", "[lua][api]") {
  One t(R"lua(
    local a = reins.shell.parse(event.input.command)
    local out = {tostring(a.resolved), #a.commands}
    for _, c in ipairs(a.commands) do
      out[#out + 1] = c.name .. "[" .. table.concat(c.argv, " ") .. "]"
        .. table.concat(c.wrappers, "+") .. ">" .. table.concat(c.written_paths, ",")
    end
    return reins.deny(table.concat(out, " "))
  )lua");
  Decision d =
      t.h.Must(BashCall("cd app && sudo npm install 'left pad' > out.txt; bash -c 'git push'"));
  CHECK(d.reason ==
        "true 4 cd[cd app]> npm[npm install left pad]sudo>out.txt bash[bash -c git push]> "
        "git[git push]>");
  d = t.h.Must(BashCall("echo 'unterminated"));
  CHECK(d.reason.rfind("false 1 echo", 0) == 0);
}

TEST_CASE("user-scoped state: shared by the sessions of one user", "[lua][api]") {
  One t(R"lua(
    local n = session.user_value("runs") or 0
    if n >= 2 then return reins.deny("runs today: " .. n) end
    return reins.allow():increment("runs", 1, {scope = "user"})
  )lua");
  for (const char* s : {"a", "b", "c"}) {
    t.h.Must({{"session", s}, {"type", "session_start"}, {"user", "ann"}});
  }
  auto call = [](const char* session) {
    Json e = BashCall("make");
    e["session"] = session;
    return e;
  };
  CHECK(t.h.Must(call("a")).verdict == Verdict::kAllow);
  CHECK(t.h.Must(call("b")).verdict == Verdict::kAllow);
  Decision d = t.h.Must(call("c"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason == "runs today: 2");
}

TEST_CASE("pairs over reins's tables goes in sorted key order", "[lua][api]") {
  One t(R"lua(
    local out = {}
    local function keys(t)
      local ks = {}
      for k in pairs(t) do ks[#ks + 1] = tostring(k) end
      out[#out + 1] = table.concat(ks, ",")
    end
    keys(params.map)
    keys(params.list)
    keys(event.input)
    local ks, k = {}, nil
    repeat k = next(params.map, k); ks[#ks + 1] = tostring(k) until k == nil
    out[#out + 1] = table.concat(ks, ",")
    local n = 0
    for name in pairs(string) do n = n + 1 end
    out[#out + 1] = tostring(n)
    return reins.deny(table.concat(out, " "))
  )lua",
        "\"tool_call\"",
        "  params = {\n    map = {type = 'object', default = {zeta = 1, alpha = 2, mid = 3, Beta = "
        "4}},\n"
        "    list = {type = 'array', default = {'c', 'a', 'b'}},\n  },\n");
  Decision d = t.h.Must(ToolCall("Bash", {{"z", 1}, {"a", 2}, {"m", 3}}));
  CHECK(d.reason == "Beta,alpha,mid,zeta 1,2,3 a,m,z Beta,alpha,mid,zeta,nil 16");
}
