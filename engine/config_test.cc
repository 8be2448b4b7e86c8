#include "engine/config.h"

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "engine/policy_set.h"
#include "engine/testing.h"

using namespace reins;

namespace {

struct Fixture {
  std::unique_ptr<PolicyRegistry> registry = reins::testing::TestRegistry();
  ConfigLoader loader{registry.get()};
  std::vector<ConfigError> errors;

  Result<ServerConfig> Server(const std::string& yaml) {
    errors.clear();
    return loader.ParseServer(yaml, "server.yaml", "/etc/reins", &errors);
  }
  std::string Errors() const {
    std::string out;
    for (const ConfigError& e : errors) out += e.ToString() + "\n";
    return out;
  }
};

}  // namespace

TEST_CASE("a server file loads policies in declaration order with settings", "[config]") {
  Fixture f;
  auto c = f.Server(R"(
engine:
  db: var/reins.db
  durability: full
  ask_timeout: 2h
pricing:
  models:
    house-model: {input: 1.5, output: 6}
policies:
  zeta:
    use: scripted
    with: {verdict: allow}
  alpha:
    use: strict
    with: {limit: 3, mode: DENY}
    on_error: allow
    ask_timeout: 90
    enabled: false
)");
  INFO(f.Errors());
  REQUIRE(c.ok());
  CHECK(c->settings.db_path == "/etc/reins/var/reins.db");
  CHECK(c->settings.durability == Durability::kFull);
  CHECK(c->settings.ask_timeout == 7200LL * 1000000);
  CHECK(c->settings.prices->Find("house-model")->base.input == Approx(1.5e-6));
  REQUIRE(c->policies.entries.size() == 2);
  const PolicyEntry& zeta = c->policies.entries[0];
  const PolicyEntry& alpha = c->policies.entries[1];
  CHECK(zeta.name == "zeta");
  CHECK(zeta.location == "server.yaml:10:3");
  CHECK(alpha.params == Json{{"limit", 3}, {"mode", "deny"}, {"names", Json::array()}});
  CHECK(alpha.on_error == OnError::kAllow);
  CHECK(alpha.ask_timeout == 90LL * 1000000);
  CHECK_FALSE(alpha.enabled);
  CHECK(alpha.state_key() == "server:alpha");
}

TEST_CASE("parameter errors carry file, line, column and the policy name", "[config]") {
  Fixture f;
  auto c = f.Server(R"(policies:
  cap:
    use: strict
    with:
      limit: "3"
      colour: red
  other:
    use: strict
    with: {mode: sometimes}
)");
  REQUIRE_FALSE(c.ok());
  CHECK(
      f.Errors() ==
      "server.yaml:6:7: policy 'cap' (strict): unknown parameter 'colour' (known: limit, mode, "
      "names)\n"
      "server.yaml:5:14: policy 'cap' (strict): parameter 'limit': expected integer, got string\n"
      "server.yaml:9:18: policy 'other' (strict): parameter 'mode': 'sometimes' is not one of: "
      "ask, deny\n"
      "server.yaml:9:11: policy 'other' (strict): missing required parameter 'limit' (integer)\n");
}

TEST_CASE("unknown policies, keys and YAML errors are reported", "[config]") {
  Fixture f;
  CHECK_FALSE(f.Server("policies:\n  x:\n    use: scriptd\n").ok());
  CHECK(f.Errors() ==
        "server.yaml:3:10: policy 'x': unknown policy 'scriptd' (did you mean: scripted?); "
        "`reins policies` lists them\n");

  CHECK_FALSE(f.Server("policies:\n  x:\n    use: scripted\n    condition: {a: b}\n").ok());
  CHECK(f.Errors().find("server.yaml:4:5: policy 'x': 'condition' (a reference-engine option) is "
                        "not supported") == 0);

  CHECK_FALSE(f.Server("policies:\n  x: {use: scripted, lua: a.lua}\n").ok());
  CHECK(f.Errors().find("Lua policies are not available") != std::string::npos);

  CHECK_FALSE(f.Server("polices:\n  x: {use: scripted}\n").ok());
  CHECK(f.Errors().find("server.yaml:1:1: unknown key 'polices' in a server configuration") == 0);

  CHECK_FALSE(f.Server("policies:\n  x: [unclosed\n").ok());
  CHECK(f.Errors().find("server.yaml:3:1: YAML syntax error") == 0);

  CHECK_FALSE(f.Server("policies:\n  x: {use: scripted, on_error: maybe}\n").ok());
  CHECK(f.Errors().find("on_error must be 'deny' or 'allow'") != std::string::npos);

  CHECK_FALSE(
      f.Server("policies:\n  x: {use: strict, with: {limit: 1}, on: [llm_request]}\n").ok());
  CHECK(f.Errors().find("does not handle llm_request events") != std::string::npos);

  CHECK_FALSE(f.Server("policies:\n  x: {use: strict, with: {limit: -1}}\n").ok());
  CHECK(f.Errors().find("server.yaml:2:34: policy 'x' (strict): limit must be >= 0") == 0);
}

TEST_CASE("the reference engine's handler form and list form load unchanged", "[config]") {
  Fixture f;
  auto c = f.Server(R"(
policies:
  legacy:
    type: function
    handler: omnigent.policies.builtins.testing.scripted
    factory_params:
      verdict: ask
  native:
    function:
      path: omnigent.policies.builtins.testing.scripted
      arguments: {verdict: deny}
)");
  INFO(f.Errors());
  REQUIRE(c.ok());
  CHECK(c->policies.entries[0].type == "scripted");
  CHECK(c->policies.entries[0].params["verdict"] == "ask");
  CHECK(c->policies.entries[1].params["verdict"] == "deny");

  auto list =
      f.Server("policies:\n  - name: a\n    use: scripted\n  - name: b\n    use: scripted\n");
  REQUIRE(list.ok());
  CHECK(list->policies.entries[1].name == "b");
}

TEST_CASE("agent specs accept guardrails with a layer-wide ask timeout", "[config]") {
  Fixture f;
  auto a = f.loader.ParseAgent(R"(
name: coder
guardrails:
  ask_timeout: 600
  policies:
    p: {use: scripted}
)",
                               "agent.yaml", "/x", &f.errors);
  INFO(f.Errors());
  REQUIRE(a.ok());
  CHECK(a->name == "coder");
  CHECK(a->policies.layer == Layer::kAgent);
  CHECK(a->policies.entries[0].ask_timeout == 600LL * 1000000);
}

TEST_CASE("composition orders layers and refuses a name used twice", "[config]") {
  Fixture f;
  auto server = f.Server("policies:\n  s1: {use: scripted}\n  shared: {use: scripted}\n");
  auto session =
      f.loader.ParseSession("policies:\n  u1: {use: scripted}\n", "session.yaml", "/x", &f.errors);
  REQUIRE(server.ok());
  REQUIRE(session.ok());
  auto set = PolicySet::Compose(&*session, nullptr, &server->policies);
  REQUIRE(set.ok());
  std::vector<std::string> names;
  for (const PolicyEntry& e : (*set)->entries()) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"u1", "s1", "shared"});
  CHECK((*set)->digest().size() == 64);

  auto clash = f.loader.ParseSession("policies:\n  shared: {use: scripted}\n", "session.yaml", "/x",
                                     &f.errors);
  auto bad = PolicySet::Compose(&*clash, nullptr, &server->policies);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("'shared' is used in the session layer (session.yaml:2:3) "
                                    "and in the server layer (server.yaml:3:3)") !=
        std::string::npos);
}

TEST_CASE("the digest changes with parameters and options, not with file positions", "[config]") {
  Fixture f;
  auto digest = [&](const std::string& yaml) {
    auto c = f.Server(yaml);
    REQUIRE(c.ok());
    return (*PolicySet::Compose(nullptr, nullptr, &c->policies))->digest();
  };
  std::string base = digest("policies:\n  p: {use: strict, with: {limit: 3}}\n");
  CHECK(base == digest("\n\npolicies:\n\n  p:\n    use: strict\n    with: {limit: 3}\n"));
  CHECK(base != digest("policies:\n  p: {use: strict, with: {limit: 4}}\n"));
  CHECK(base != digest("policies:\n  p: {use: strict, with: {limit: 3}, on_error: allow}\n"));
}

TEST_CASE("files load relative to their directory and missing files are named", "[config]") {
  Fixture f;
  reins::testing::TempDir dir;
  std::ofstream(dir.File("server.yaml"))
      << "engine: {db: log.db}\npolicies: {p: {use: scripted}}\n";
  auto c = f.loader.LoadServer(dir.File("server.yaml"), &f.errors);
  REQUIRE(c.ok());
  CHECK(c->settings.db_path == dir.File("log.db"));
  CHECK_FALSE(f.loader.LoadServer(dir.File("missing.yaml"), &f.errors).ok());
  CHECK(f.errors.back().ToString().find("missing.yaml: cannot read") != std::string::npos);
}

TEST_CASE("default policies join the server layer unless it configures their type", "[config]") {
  Fixture f;
  f.registry->AddDefault({"guard", "strict", [](const DefaultContext& dc) {
                            return Json{{"limit", static_cast<int>(dc.config_files.size())}};
                          }});
  auto c = f.Server("policies:\n  p: {use: scripted}\n");
  REQUIRE(c.ok());
  REQUIRE(c->policies.entries.size() == 2);
  CHECK(c->policies.entries[1].name == "guard");
  CHECK(c->policies.entries[1].location == "<default>");
  CHECK(c->policies.entries[1].params["limit"] == 1);  // server.yaml
  // Configuring the type (here: switching it off) replaces the default.
  c = f.Server("policies:\n  mine: {use: strict, with: {limit: 2}, enabled: false}\n");
  REQUIRE(c.ok());
  REQUIRE(c->policies.entries.size() == 1);
  CHECK_FALSE(c->policies.entries[0].enabled);
  // Agent and session layers never get defaults.
  auto a = f.loader.ParseAgent("name: x\n", "agent.yaml", "/", &f.errors);
  REQUIRE(a.ok());
  CHECK(a->policies.entries.empty());
}

TEST_CASE("a server file names agent specs that sessions can use", "[config]") {
  reins::testing::TempDir dir;
  std::ofstream(dir.File("coder.yaml")) << "name: coder\npolicies:\n  cap: {use: strict, with: "
                                           "{limit: 2}}\n";
  std::ofstream(dir.File("dup.yaml")) << "name: coder\n";
  Fixture f;
  auto c = f.loader.ParseServer("agents: [coder.yaml]\n", dir.File("server.yaml"), dir.path(),
                                &f.errors);
  INFO(f.Errors());
  REQUIRE(c.ok());
  REQUIRE(c->agents.count("coder") == 1);
  CHECK(c->agents.at("coder")->policies.entries.at(0).name == "cap");
  CHECK(c->agents.at("coder")->policies.layer == Layer::kAgent);
  CHECK(std::find(c->files.begin(), c->files.end(), dir.File("coder.yaml")) != c->files.end());

  auto twice = f.loader.ParseServer("agents: [coder.yaml, dup.yaml]\n", "server.yaml", dir.path(),
                                    &f.errors);
  CHECK_FALSE(twice.ok());
  INFO(f.Errors());
  CHECK(f.Errors().find("server.yaml:1:22: agent 'coder' is defined twice") != std::string::npos);
}

TEST_CASE("registered sections parse their part of the server file", "[config]") {
  Fixture f;
  f.loader.AddSection("server", [](const YAML::Node& node, const SectionContext& ctx) -> std::any {
    if (!node) return std::string("default");
    if (!node["listen"]) ctx.Error(node, "server.listen is required");
    ctx.Protect(ctx.ResolvePath("tokens.json"));
    return node["listen"] ? node["listen"].as<std::string>() : std::string();
  });
  auto c = f.Server("server: {listen: '127.0.0.1:1'}\n");
  INFO(f.Errors());
  REQUIRE(c.ok());
  CHECK(std::any_cast<std::string>(c->sections.at("server")) == "127.0.0.1:1");

  CHECK(std::any_cast<std::string>(f.Server("")->sections.at("server")) == "default");
  auto bad = f.Server("server: {port: 1}\n");
  CHECK(f.Errors() == "server.yaml:1:9: server.listen is required\n");
  auto unknown = f.Server("servr: {}\n");
  CHECK(f.Errors() ==
        "server.yaml:1:1: unknown key 'servr' in a server configuration (known: engine, pricing, "
        "policies, scripts, agents, server)\n");
}

TEST_CASE("API layers are JSON, name only registered types, and say which field is wrong",
          "[config]") {
  Fixture f;
  auto layer =
      f.loader.ParseApiLayer(Json::parse(R"({"cap": {"use": "strict", "with": {"limit": 4}}})"),
                             Layer::kSession, &f.errors);
  INFO(f.Errors());
  REQUIRE(layer.ok());
  CHECK(layer->layer == Layer::kSession);
  CHECK(layer->entries.at(0).params["limit"] == 4);

  auto bad = f.loader.ParseApiLayer(
      Json::parse(R"({"cap": {"use": "strict", "with": {"limit": "four"}}})"), Layer::kSession,
      &f.errors);
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].field == "policies.cap.with.limit");
  CHECK(f.errors[0].message ==
        "policy 'cap' (strict): parameter 'limit': expected integer, got "
        "string");

  // [fuzz] A whole number too large for an integer parameter was cast
  // (undefined behaviour) instead of refused.
  f.errors.clear();
  auto huge =
      f.loader.ParseApiLayer(Json::parse(R"({"cap": {"use": "strict", "with": {"limit": 2e53}}})"),
                             Layer::kSession, &f.errors);
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].field == "policies.cap.with.limit");
  CHECK(f.errors[0].message ==
        "policy 'cap' (strict): parameter 'limit': expected integer, got 2e+53 (beyond a 64-bit "
        "integer)");

  f.errors.clear();
  auto unknown = f.loader.ParseApiLayer(Json::parse(R"({"x": {"use": "scriptd"}})"), Layer::kServer,
                                        &f.errors);
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].field == "policies.x.use");

  f.errors.clear();
  auto agent = f.loader.ParseApiAgent(
      Json::parse(R"({"name": "a", "policies": {"p": {"use": "scripted", "on_error": "maybe"}}})"),
      &f.errors);
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].field == "policies.p.on_error");
}

// Found by tests/fuzz (fuzz_config_yaml): yaml-cpp passes invalid UTF-8
// through; such a policy name loaded, then `reins eval` aborted writing the
// decision (nlohmann's writer throws on it).
TEST_CASE("YAML that is not UTF-8 is refused with its position", "[config][fuzz]") {
  Fixture f;
  CHECK_FALSE(f.Server("policies:\n  \"n\xaa\":\n    use: scripted\n").ok());
  CHECK(f.Errors() == "server.yaml:2:5: invalid UTF-8 (byte 0xAA)\n");
  // Overlong forms and surrogates are not UTF-8 either; escapes are.
  CHECK_FALSE(f.Server("policies: {}\n# \xc0\xaf\n").ok());
  CHECK(f.Errors() == "server.yaml:2:3: invalid UTF-8 (byte 0xC0)\n");
  CHECK_FALSE(f.Server("# \xed\xa0\x80\n").ok());
  CHECK(f.Errors() == "server.yaml:1:3: invalid UTF-8 (byte 0xED)\n");
  // Escapes and well-formed multi-byte text load, and write out as JSON.
  auto ok = f.Server(
      "# caf\xc3\xa9 \xf0\x9f\x98\x80\npolicies:\n  \"\\xe9t\xc3\xa9\": {use: scripted}\n");
  INFO(f.Errors());
  REQUIRE(ok.ok());
  auto set = PolicySet::Compose(nullptr, nullptr, &ok->policies);
  REQUIRE(set.ok());
  CHECK((*set)->ToJson().dump().find("\xc3\xa9t\xc3\xa9") != std::string::npos);
}
