// Loading scripts: configuration errors, paths, the compile cache and
// reloads, the policy-set digest, limits, and concurrent evaluation.
#include <atomic>
#include <filesystem>
#include <thread>

#include "engine/policy_set.h"
#include "scripts/lua_testing.h"

using namespace reins;
using namespace reins::testing;
using Catch::Matchers::Contains;

namespace {

const char* kCounter = R"lua(return {
  name = "counter",
  description = "counts tool calls",
  events = { "tool_call" },
  params = { limit = { type = "integer", required = true, description = "calls allowed" } },
  evaluate = function(event, session, params)
    local n = session.state.n or 0
    if n >= params.limit then return reins.deny("limit " .. params.limit) end
    return reins.allow():increment("n")
  end,
}
)lua";

// The error for a script with this text ("" when it loads).
std::string ScriptError(const std::string& text, const std::string& with = "limit: 1") {
  LuaScripts s;
  s.Write("p.lua", text);
  std::string errors = LuaConfigErrors(s.Entry("x", "p.lua", with));
  // Paths in messages are absolute here (the test runs outside the directory).
  for (size_t pos; (pos = errors.find(s.dir() + "/")) != std::string::npos;) {
    errors.erase(pos, s.dir().size() + 1);
  }
  return errors;
}

}  // namespace

TEST_CASE("script errors name the file and the line", "[lua][loader]") {
  CHECK_THAT(
      ScriptError("return {\n  name = 'x',\n  events = {'tool_call'}\n  evaluate = 1,\n}"),
      Contains("policy 'x': p.lua:4: '}' expected (to close '{' at line 1) near 'evaluate'"));
  CHECK_THAT(ScriptError("local x = nope()\nreturn {}"),
             Contains("policy 'x': p.lua:1: attempt to call a nil value (global 'nope')"));
  CHECK_THAT(ScriptError("while true do end"),
             Contains("policy 'x': p.lua: instruction budget of 1000000 exceeded"));
  CHECK_THAT(
      ScriptError("return 42"),
      Contains("p.lua: must return a table with name, events and evaluate (it returned number)"));
  CHECK_THAT(ScriptError("return {name = 'x', events = {'tool_call'}}"),
             Contains("p.lua: 'evaluate' must be a function (it is nil)"));
  CHECK_THAT(ScriptError("return {\n  events = {'tool_call'},\n  evaluate = print,\n}"),
             Contains("p.lua: 'name' must be a non-empty string"));
  CHECK_THAT(
      ScriptError("return {\n  name = 'x',\n  events = {'tool_cal'},\n  evaluate = print,\n}"),
      Contains("p.lua:3: 'events' entry \"tool_cal\" is not an event type (known: "
               "session_start, request,"));
  CHECK_THAT(ScriptError("return {\n  name = 'x',\n  events = {},\n  evaluate = print,\n}"),
             Contains("p.lua:3: 'events' must be a non-empty list of event types"));
  CHECK_THAT(ScriptError("return {\n  name = 'x',\n  events = {'tool_call'},\n  evaluate = print,\n"
                         "  paramz = {},\n}"),
             Contains("p.lua:5: unknown field 'paramz' (known: name, description, events, params, "
                      "evaluate, instruction_limit, memory_limit_mb)"));
  CHECK_THAT(ScriptError("return {\n  name = 'x',\n  events = {'tool_call'},\n  evaluate = print,\n"
                         "  instruction_limit = 1e12,\n}"),
             Contains("p.lua:5: 'instruction_limit' must be an integer from 1000 to 100000000"));
  CHECK_THAT(ScriptError("return {\n  name = 'x',\n  events = {'tool_call'},\n  evaluate = print,\n"
                         "  helper = function() end,\n}"),
             Contains("p.lua: helper: cannot convert a function to JSON"));
}

TEST_CASE("parameter declarations are checked like builtins'", "[lua][loader]") {
  auto declare = [](const std::string& params) {
    return ScriptError("return {\n  name = 'x',\n  events = {'tool_call'},\n  params = {\n" +
                           params + "\n  },\n  evaluate = print,\n}",
                       "");
  };
  CHECK(declare("    limit = {type = 'integer', default = 3},") == "");
  CHECK_THAT(declare("    a = {type = 'string'},\n    limit = {type = 'strnig'},"),
             Contains("p.lua:6: parameter 'limit': 'type' must be one of string, number, integer, "
                      "boolean, array, object, any (got 'strnig')"));
  CHECK_THAT(declare("    limit = {type = 'integer', default = 'three'},"),
             Contains("p.lua:5: parameter 'limit': default: expected integer, got string"));
  CHECK_THAT(declare("    tools = {type = 'array', items = 'string', default = {1}},"),
             Contains("parameter 'tools': default: item 0: expected string, got number"));
  CHECK_THAT(declare("    mode = {type = 'string', choices = {'a', 'b'}, default = 'c'},"),
             Contains("parameter 'mode': default: 'c' is not one of: a, b"));
  CHECK_THAT(declare("    mode = {type = 'integer', choices = {'a'}},"),
             Contains("parameter 'mode': 'choices' goes with type \"string\""));
  CHECK_THAT(declare("    n = {type = 'number', items = 'string'},"),
             Contains("parameter 'n': 'items' goes with type \"array\""));
  CHECK_THAT(declare("    n = {type = 'number', required = true, default = 1},"),
             Contains("parameter 'n': a required parameter cannot have a default"));
  CHECK_THAT(declare("    n = {type = 'number', defualt = 1},"),
             Contains("parameter 'n': unknown field 'defualt' (known: type, items, default, "
                      "required, description, choices)"));
}

TEST_CASE("parameter values are validated at their YAML line, naming the script", "[lua][loader]") {
  CHECK(ScriptError(kCounter) == "");
  std::string error = ScriptError(kCounter, "limit: many");
  CHECK(error.rfind("t.yaml:2:", 0) == 0);
  CHECK_THAT(error,
             Contains(": policy 'x' (p.lua): parameter 'limit': expected integer, got string"));
  CHECK_THAT(ScriptError(kCounter, "limit: 1, lmit: 2"),
             Contains("policy 'x' (p.lua): unknown parameter 'lmit' (known: limit)"));
  CHECK_THAT(ScriptError(kCounter, ""),
             Contains("policy 'x' (p.lua): missing required parameter 'limit' (integer)"));
  LuaScripts s;
  CHECK_THAT(
      LuaConfigErrors(s.Entry("x", "missing.lua")),
      Contains("policy 'x': cannot read " + s.Path("missing.lua") + ": No such file or directory"));
}

TEST_CASE("paths resolve relative to the YAML file, in every layer", "[lua][loader]") {
  LuaScripts s;
  s.Write("counter.lua", kCounter);
  std::filesystem::create_directories(s.dir() + "/conf");
  s.Write("conf/server.yaml", "policies:\n  cap: {lua: ../counter.lua, with: {limit: 2}}\n");
  s.Write("conf/session.yaml", "policies:\n  mine: {lua: ../counter.lua, with: {limit: 1}}\n");
  s.Write(
      "conf/agent.yaml",
      "name: a\nguardrails:\n  policies:\n    theirs: {lua: ../counter.lua, with: {limit: 5}}\n");
  auto registry = LuaRegistry();
  ConfigLoader loader(registry.get());
  std::vector<ConfigError> errors;
  auto server = loader.LoadServer(s.Path("conf/server.yaml"), &errors);
  auto agent = loader.LoadAgent(s.Path("conf/agent.yaml"), &errors);
  auto session = loader.LoadSession(s.Path("conf/session.yaml"), &errors);
  for (const auto& e : errors) FAIL(e.ToString());
  REQUIRE(server.ok());
  CHECK(server->policies.entries[0].type == "lua:" + s.Path("counter.lua"));
  auto set = PolicySet::Compose(&*session, &agent->policies, &server->policies);
  REQUIRE(set.ok());
  CHECK((*set)->entries().size() == 3);
}

TEST_CASE("scripts compile once per content; a reload picks up changes", "[lua][loader]") {
  LuaScripts s;
  std::string path = s.Write("p.lua", kCounter);
  auto cache = std::make_shared<LuaScriptCache>();
  auto registry = LuaRegistry({}, cache);
  ConfigLoader loader(registry.get());
  auto load = [&] {
    std::vector<ConfigError> errors;
    auto c = loader.ParseServer("policies:\n" + s.Entry("p", "p.lua", "limit: 1"), "t.yaml", "/",
                                &errors);
    for (const auto& e : errors) FAIL(e.ToString());
    REQUIRE(c.ok());
    auto set = PolicySet::Compose(nullptr, nullptr, &c->policies);
    REQUIRE(set.ok());
    return *set;
  };
  auto first = load();
  CHECK(cache->compiles() == 1);
  CHECK(first->entries()[0].policy->SourceDigest() == Sha256Hex(kCounter));
  CHECK(first->ToJson()[0]["source_sha256"] == Sha256Hex(kCounter));
  // Unchanged (even rewritten with the same bytes): no compile, same digest.
  s.Write("p.lua", kCounter);
  auto second = load();
  CHECK(cache->compiles() == 1);
  CHECK(second->digest() == first->digest());
  // Changed: compiled again, and the policy-set digest moves with the script.
  std::string changed =
      std::string(kCounter).replace(std::string(kCounter).find("\"limit \""), 8, "\"cap \"");
  s.Write("p.lua", changed);
  auto third = load();
  CHECK(cache->compiles() == 2);
  CHECK(third->entries()[0].policy->SourceDigest() == Sha256Hex(changed));
  CHECK(third->digest() != first->digest());

  // The engine decides with the new script after SetPolicies (what SIGHUP will do).
  LuaHarness h("");
  h.engine->SetPolicies(first);
  h.Must(BashCall("a"));
  CHECK(h.Must(BashCall("b")).reason == "limit 1");
  h.engine->SetPolicies(third);
  CHECK(h.Must(BashCall("c")).reason == "cap 1");
}

TEST_CASE("one policy evaluates concurrently for different sessions", "[lua][loader]") {
  LuaScripts s;
  s.Write("p.lua", R"lua(return {
  name = "busy",
  events = { "tool_call" },
  evaluate = function(event, session, params)
    -- Some work, and a global that must never be seen by another evaluation.
    if mine ~= nil then return reins.deny("leak") end
    mine = event.session
    local acc = 0
    for i = 1, 2000 do acc = acc + i end
    return reins.allow():increment("n"):set("last", event.input.command)
  end,
})lua");
  LuaOptions options;
  options.max_states = 2;  // fewer states than threads: evaluations wait their turn
  LuaHarness h(s.Entry("busy", "p.lua"), options);
  constexpr int kThreads = 4, kEvents = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string session = "s" + std::to_string(t);
      for (int i = 0; i < kEvents; ++i) {
        Json e = BashCall("cmd" + std::to_string(i));
        e["session"] = session;
        auto ev = Event::FromJson(e);
        auto d = h.engine->Submit(std::move(ev).value());
        if (!d.ok() || d->verdict != Verdict::kAllow) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  for (int t = 0; t < kThreads; ++t) {
    Json store = h.State("s" + std::to_string(t)).policy_state["server:busy"];
    CHECK(store["n"] == kEvents);
    CHECK(store["last"] == "cmd" + std::to_string(kEvents - 1));
  }
}

TEST_CASE("scripts: in a server file become policy types every layer and the API can use",
          "[lua][loader]") {
  LuaScripts s;
  s.Write("counter.lua", kCounter);
  s.Write("server.yaml",
          "scripts:\n  counter: counter.lua\npolicies:\n  cap: {use: counter, with: {limit: 2}}\n");
  auto registry = LuaRegistry();
  ConfigLoader loader(registry.get());
  std::vector<ConfigError> errors;
  auto server = loader.LoadServer(s.Path("server.yaml"), &errors);
  for (const auto& e : errors) FAIL(e.ToString());
  REQUIRE(server.ok());
  CHECK(server->policies.entries[0].type == "counter");
  const PolicyType* type = server->registry->Find("counter");
  REQUIRE(type != nullptr);
  CHECK(type->params.at(0).name == "limit");
  CHECK(registry->Find("counter") == nullptr);  // the loader's registry is untouched

  // Through the API, by name; a file reference is refused.
  ConfigLoader api(server->registry.get());
  auto layer = api.ParseApiLayer({{"mine", {{"use", "counter"}, {"with", {{"limit", 1}}}}}},
                                 Layer::kSession, &errors);
  for (const auto& e : errors) FAIL(e.ToString());
  REQUIRE(layer.ok());
  auto file =
      api.ParseApiLayer({{"mine", {{"lua", s.Path("counter.lua")}}}}, Layer::kSession, &errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == "policies.mine.lua");
  CHECK_THAT(errors[0].message, Contains("cannot be loaded through the API"));

  errors.clear();
  s.Write("taken.yaml", "scripts:\n  scripted: counter.lua\n");
  auto taken = loader.LoadServer(s.Path("taken.yaml"), &errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].ToString() ==
        s.Path("taken.yaml") + ":2:3: scripts.scripted: the name is taken by a builtin policy");
}
