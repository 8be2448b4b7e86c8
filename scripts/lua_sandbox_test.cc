// Each sandbox rule, by a script that tries to break it. Every attempt must
// end as a policy failure (a deny, fail closed) with a note in the log, and
// the policy must keep working for the next event.
#include "scripts/lua_testing.h"

using namespace reins;
using namespace reins::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// Runs `body` on one tool call; returns the failure message, or a
// description of what happened instead.
std::string Failure(const std::string& body, const std::string& extra = "",
                    LuaOptions options = {}) {
  LuaScripts s;
  s.Write("t.lua",
          PolicyText("if event.input.command == 'ok' then return reins.allow() end\n" + body,
                     "\"tool_call\"", extra));
  LuaHarness h(s.Entry("t", "t.lua"), options);
  Decision d = h.Must(BashCall("attack"));
  const std::string prefix = "policy 't' failed: ";
  if (d.verdict != Verdict::kDeny || d.reason.rfind(prefix, 0) != 0) {
    return "did not fail: " + std::string(VerdictName(d.verdict)) + " " + d.reason;
  }
  // Logged: the engine's note carries the same message.
  bool logged = false;
  for (const Json& note : Notes(h)) {
    logged = logged || (note["source"] == "engine" && note["message"] == d.reason);
  }
  CHECK(logged);
  // And the policy recovers: a fresh state serves the next event.
  CHECK(h.Must(BashCall("ok")).verdict == Verdict::kAllow);
  return d.reason.substr(prefix.size());
}

}  // namespace

TEST_CASE("no os, io, debug, package, require or file loading", "[lua][sandbox]") {
  CHECK_THAT(Failure("os.execute('touch /tmp/reins-pwned')"),
             Contains("attempt to index a nil value (global 'os')"));
  CHECK_THAT(Failure("io.open('/etc/passwd')"), Contains("(global 'io')"));
  CHECK_THAT(Failure("return debug.getinfo(1)"), Contains("(global 'debug')"));
  CHECK_THAT(Failure("return package.loaded"), Contains("(global 'package')"));
  CHECK_THAT(Failure("return require('os')"),
             Contains("attempt to call a nil value (global 'require')"));
  CHECK_THAT(Failure("return dofile('/etc/passwd')"), Contains("(global 'dofile')"));
  CHECK_THAT(Failure("return loadfile('/etc/passwd')"), Contains("(global 'loadfile')"));
  CHECK_THAT(Failure("return coroutine.wrap(print)"), Contains("(global 'coroutine')"));
  CHECK_THAT(Failure("return string.dump(print)"),
             Contains("attempt to call a nil value (field 'dump')"));
  CHECK_THAT(Failure("return math.random()"), Contains("(field 'random')"));
  CHECK_THAT(Failure("collectgarbage('collect')"),
             Contains("collectgarbage: only \"count\" is available"));
  CHECK_THAT(Failure("return getmetatable('').__index"),
             Contains("attempt to index a boolean value"));
  CHECK_THAT(Failure("return warn('x')"), Contains("(global 'warn')"));
}

TEST_CASE("load takes text only", "[lua][sandbox]") {
  // A binary chunk's signature is refused whatever mode is asked for.
  CHECK_THAT(Failure("local f, err = load('\\27LuaT\\0', 'x', 'b') assert(f, err)"),
             Contains("attempt to load a binary chunk (mode is 't')"));
  CHECK_THAT(Failure("return load(function() return 'x' end)"),
             Contains("string expected (the sandbox loads text chunks only)"));
  // Loaded text runs in the evaluation's environment, inside the sandbox.
  CHECK_THAT(Failure("return load('return os')() .x"), Contains("attempt to index a nil value"));
  CHECK_THAT(Failure("x = 5 return reins.deny(tostring(load('return x')()))"),
             StartsWith("did not fail: deny 5"));
}

TEST_CASE("shared tables are read-only and globals never leak", "[lua][sandbox]") {
  CHECK_THAT(Failure("string.upper = nil"), Contains("attempt to modify a read-only table"));
  CHECK_THAT(Failure("rawset(string, 'upper', print)"),
             Contains("attempt to modify a read-only table"));
  CHECK_THAT(Failure("table.insert(math, 1)"), Contains("attempt to modify a read-only table"));
  CHECK_THAT(Failure("reins.allow = reins.deny"), Contains("attempt to modify a read-only table"));
  CHECK_THAT(Failure("setmetatable(string, nil)"), Contains("cannot change a protected metatable"));
  CHECK_THAT(Failure("setmetatable(_ENV, nil)"), Contains("cannot change a protected metatable"));
  CHECK_THAT(Failure("return getmetatable(_ENV).__index"),
             Contains("attempt to index a boolean value"));
  CHECK_THAT(Failure("params.x = 1"), Contains("attempt to modify a read-only table"));
  CHECK_THAT(Failure("session.cost_usd = 0"), Contains("attempt to modify session"));

  // Globals written by one evaluation are gone in the next, and two policies
  // running the same script do not see each other's; a script that kept its
  // top-level _ENV cannot use it as memory either.
  LuaScripts s;
  s.Write("leak.lua", R"lua(
local M = _ENV
helper = function() return "top-level globals stay readable" end
return {
  name = "leak",
  events = { "tool_call" },
  evaluate = function(event, session, params)
    if counter ~= nil or rawget(M, "counter") ~= nil then
      return reins.deny("leaked: " .. tostring(counter))
    end
    counter = 1
    if event.input.command == "mod" then M.counter = 1 end
    if event.input.command == "helper" then return reins.deny(helper()) end
  end,
})lua");
  LuaHarness h(s.Entry("a", "leak.lua") + s.Entry("b", "leak.lua"));
  for (int i = 0; i < 3; ++i) CHECK(h.Must(BashCall("ls")).verdict == Verdict::kAllow);
  CHECK(h.Must(BashCall("helper")).reason == "top-level globals stay readable");
  CHECK_THAT(h.Must(BashCall("mod")).reason, Contains("attempt to modify a read-only table"));
  CHECK(h.Must(BashCall("ls")).verdict == Verdict::kAllow);
}

TEST_CASE("the instruction budget cannot be caught", "[lua][sandbox]") {
  const std::string budget = "instruction budget of 1000000 exceeded";
  CHECK(Failure("while true do end") == budget);
  CHECK(Failure("while true do pcall(function() while true do end end) end") == budget);
  CHECK(Failure("local ok, err = pcall(function() while true do end end)\n"
                "return reins.allow(tostring(err))") == budget);
  CHECK(Failure("xpcall(function() while true do end end, function(e) while true do end end)\n"
                "return reins.allow()") == budget);
  CHECK(Failure("for i = 1, 10 do pcall(error, 'x') end\n"
                "local function f() return pcall(function() while true do end end) end\n"
                "while true do f() end") == budget);
  CHECK(Failure("local t = {} setmetatable(t, {__index = function(t, k) while true do end end})\n"
                "while true do pcall(function() return t.x end) end") == budget);
  CHECK(
      Failure(
          "local t = {} for i = 1, 300 do t[i] = i end\n"
          "table.sort(t, function(a, b) pcall(function() while true do end end) return a < b end)\n"
          "return reins.allow()") == budget);
  // Work no instruction counts is charged too.
  CHECK(Failure("table.move({}, 1, 1e12, 1, {})") == budget);
  CHECK(Failure("local s = string.rep('x', 1e6) for i = 1, 100 do local u = s:upper() end") ==
        budget);
  CHECK_THAT(Failure("return string.rep('x', 100000):byte(1, -1)"),
             Contains("string.byte: too many results (100000; the sandbox allows 10000)"));
  // A script may ask for more (or less).
  CHECK(Failure("while true do end", "  instruction_limit = 5000,\n") ==
        "instruction budget of 5000 exceeded");
}

TEST_CASE("the memory limit cannot be caught", "[lua][sandbox]") {
  const std::string memory = "memory limit of 32 MiB exceeded";
  CHECK(Failure("return string.rep('x', 1e9)") == memory);
  CHECK(Failure("local ok = pcall(string.rep, 'x', 1e9) return reins.allow(tostring(ok))") ==
        memory);
  CHECK(Failure("local s = 'x' while true do s = s .. s end",
                "  instruction_limit = 50000000,\n") == memory);
  CHECK(Failure("local t = {} while true do t[#t + 1] = {} end",
                "  instruction_limit = 50000000,\n") == memory);
  CHECK(Failure("local s = 'x' while true do s = s .. s end",
                "  instruction_limit = 50000000, memory_limit_mb = 4,\n") ==
        "memory limit of 4 MiB exceeded");
}

TEST_CASE("deep recursion ends with an error, not a crash", "[lua][sandbox]") {
  CHECK_THAT(Failure("local function f(n) return 1 + f(n + 1) end return f(1)",
                     "  instruction_limit = 50000000,\n"),
             Contains("stack overflow") || Contains("memory limit"));
  CHECK_THAT(Failure("local t = setmetatable({}, {__index = function(t, k) return t[k] end})\n"
                     "return t.x"),
             Contains("stack overflow"));
  CHECK_THAT(Failure("local function f(s) return (s:gsub('.', f)) end return f('abc')"),
             Contains("stack overflow"));
  CHECK_THAT(Failure("local t = {} t = setmetatable(t, {__tostring = function(x) return "
                     "tostring(x) end}) return tostring(t)"),
             Contains("stack overflow"));
  // Nested pcalls unwind normally.
  CHECK(Failure("local function f() return pcall(f) end f() return reins.deny('done')") ==
        "did not fail: deny done");
}

TEST_CASE("giant and exponential patterns are bounded", "[lua][sandbox]") {
  CHECK(Failure("return string.find(string.rep('a', 40), string.rep('a?', 40) .. "
                "string.rep('a', 40))") == "instruction budget of 1000000 exceeded");
  CHECK(Failure("return string.match(string.rep('a', 2e5), string.rep('.-', 30) .. 'b')") ==
        "instruction budget of 1000000 exceeded");
  CHECK_THAT(Failure("return string.find('x', string.rep('(', 1000))"),
             Contains("too many captures"));
  CHECK_THAT(Failure("return string.find(string.rep('a', 500), string.rep('a?', 400))"),
             Contains("pattern too complex"));
  // RE2 is linear: a large text and pattern are fine.
  CHECK(Failure("return reins.deny(tostring(reins.re2.match(string.rep('a?', 40) .. "
                "string.rep('a', 40), string.rep('a', 40))))") ==
        "did not fail: deny " + std::string(40, 'a'));
}

TEST_CASE("no finalizers or weak tables", "[lua][sandbox]") {
  CHECK_THAT(Failure("setmetatable({}, {__gc = function() reins.log('later') end})"),
             Contains("setmetatable: __gc is not available in the sandbox"));
  CHECK_THAT(Failure("setmetatable({}, {__mode = 'k'})"),
             Contains("setmetatable: __mode is not available in the sandbox"));
}

TEST_CASE("views of one evaluation cannot be read in the next", "[lua][sandbox]") {
  LuaScripts s;
  s.Write("keep.lua", R"lua(
local kept
return {
  name = "keep",
  events = { "tool_call" },
  evaluate = function(event, session, params)
    if kept then return reins.deny(kept.tool) end
    kept = event
  end,
})lua");
  LuaHarness h(s.Entry("keep", "keep.lua"));
  CHECK(h.Must(BashCall("ls")).verdict == Verdict::kAllow);
  Decision d = h.Must(BashCall("ls"));
  CHECK_THAT(d.reason, Contains("used after its evaluation ended"));
}

TEST_CASE("the watchdog stops work no instruction count sees", "[lua][sandbox]") {
  LuaOptions options;
  options.time_limit_ms = 50;
  // Comparing two long equal strings is one instruction each time.
  CHECK(Failure("local a = string.rep('x', 1e6) local b = string.rep('x', 1e6 - 1) .. 'x'\n"
                "while true do local same = (a == b) end",
                "  instruction_limit = 100000000,\n", options) == "time limit of 50 ms exceeded");
}

TEST_CASE("large inputs are bounded", "[lua][sandbox]") {
  LuaOptions options;
  options.input_limit = 1 << 20;
  LuaScripts s;
  s.Write("big.lua", PolicyText(R"lua(
    if event.input.command == "once" then return reins.deny(#event.input.blob .. "") end
    local total = 0
    for i = 1, 3 do total = total + #event.input.blob end
    return reins.deny(total .. " " .. #event.input.other)
  )lua"));
  LuaHarness h(s.Entry("t", "big.lua"), options);
  std::string blob(700 * 1024, 'b');
  // A long string is converted (and counted) once however often it is read.
  Decision d = h.Must(ToolCall("Bash", {{"command", "x"}, {"blob", blob}, {"other", "short"}}));
  CHECK(d.reason == std::to_string(3 * blob.size()) + " 5");
  // Two of them are over the limit.
  d = h.Must(ToolCall("Bash", {{"command", "x"}, {"blob", blob}, {"other", blob}}));
  CHECK_THAT(d.reason, Contains("input limit of 1 MiB exceeded"));
  // JSON nested deeper than 64 levels is refused by decode.
  s.Write("deep.lua", PolicyText("return reins.json.decode(string.rep('[', 100))"));
  LuaHarness deep(s.Entry("t", "deep.lua"));
  CHECK_THAT(deep.Must(BashCall("x")).reason, Contains("nested deeper than 64 levels"));
}

TEST_CASE("on_error: allow turns a failure into no answer, still logged", "[lua][sandbox]") {
  LuaScripts s;
  s.Write("fail.lua", PolicyText("while true do end"));
  LuaHarness h(s.Entry("t", "fail.lua", "", "on_error: allow"));
  Decision d = h.Must(BashCall("ls"));
  CHECK(d.verdict == Verdict::kAllow);
  CHECK(d.policies.empty());
  auto notes = Notes(h);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0]["message"] == "policy 't' failed: instruction budget of 1000000 exceeded");
}
