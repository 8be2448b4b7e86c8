// deny_trivial_to_expensive_model with `classifier: llm`: the LLM proxy asks
// a (fake) classifier model about each prompt, writes its answer on the
// llm_request event, and the policy decides by it, by the heuristic when the
// model cannot answer; plus the proxy: and llm: configuration sections.
#include "harness-adapters/llm_classifier.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>

#include "builtins/builtins.h"
#include "harness-adapters/adapter_testing.h"
#include "harness-adapters/decision_client.h"
#include "harness-adapters/proxy_config.h"
#include "server/http_client.h"
#include "server/settings.h"
#include "tests/support/fake_upstream.h"

namespace reins::testing {
namespace {

constexpr const char* kRouting = R"(
  routing:
    use: deny_trivial_to_expensive_model
    with: {expensive_models: [opus], cheap_model: claude-haiku-4-5, classifier: llm}
)";

FakeUpstream::Script Says(const std::string& label, int status = 0) {
  FakeUpstream::Script s;
  s.reply_text = label;
  s.status_override = status;
  return s;
}

struct ClassifiedProxy {
  explicit ClassifiedProxy(ClassifierOptions c, FakeUpstream::Script model = Says("complex"))
      : classifier_model(FakeUpstream::Options{}, model),
        h(kRouting, dir.File("log.db"), BuiltinsRegistry()),
        client(h.engine.get(), h.store.get()) {
    ProxyOptions o;
    o.listen = "127.0.0.1:0";
    o.upstreams = {{"anthropic", upstream.url()}};
    if (c.base_url.empty()) c.base_url = classifier_model.url();
    c.model = "claude-haiku-4-5";
    o.classifier = c;
    o.log = [](const std::string&) {};
    auto p = LlmProxy::Start(o, &client, &h.clock);
    INFO(p.status().ToString());
    REQUIRE(p.ok());
    proxy = std::move(p).value();
  }

  // Sends `prompt` to claude-opus-4-1; returns the model that went upstream.
  std::string Send(const std::string& session, const std::string& prompt) {
    Json body = {{"model", "claude-opus-4-1"},
                 {"max_tokens", 50},
                 {"messages", {{{"role", "user"}, {"content", prompt}}}}};
    HttpClient http(proxy->url());
    auto r = http.Request("POST", "/s/" + session + "/v1/messages", body.dump());
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    return Json::parse(upstream.requests().back().body)["model"];
  }

  // The body of the session's last record of `kind` (about an event of `type`).
  Json Last(const std::string& session, RecordKind kind, const std::string& type = "") {
    REQUIRE(proxy->WaitRecorded());
    Json last;
    REQUIRE(h.store
                ->Scan(session, 0, 1000,
                       [&](const Record& r) {
                         std::string t = r.body.value(
                             kind == RecordKind::kDecision ? "event_type" : "type", "");
                         if (r.kind == kind && (type.empty() || t == type)) {
                           last = r.body;
                         }
                         return true;
                       })
                .ok());
    return last;
  }
  Json LastRequestEvent(const std::string& session) {
    return Last(session, RecordKind::kEvent, "llm_request");
  }

  TempDir dir;
  FakeUpstream upstream;
  FakeUpstream classifier_model;
  EngineHarness h;
  EngineDecisionClient client;
  std::unique_ptr<LlmProxy> proxy;
};

TEST_CASE("classifier llm: the model's label decides, is logged on the event, and is cached",
          "[proxy][classifier]") {
  ClassifiedProxy f({});
  // Short and plain: the heuristic would call it trivial; the model says complex.
  CHECK(f.Send("c", "Say hello.") == "claude-opus-4-1");
  Json event = f.LastRequestEvent("c");
  CHECK(event["prompt_class"] ==
        Json({{"by", "llm"}, {"label", "complex"}, {"model", "claude-haiku-4-5"}}));
  // The classifier was asked with the prompt and the configured model.
  REQUIRE(f.classifier_model.requests().size() == 1);
  Json asked = Json::parse(f.classifier_model.requests()[0].body);
  CHECK(asked["model"] == "claude-haiku-4-5");
  CHECK(asked["messages"][0]["content"] == "Say hello.");

  // Long (complex to the heuristic), but the model says trivial: rerouted.
  f.classifier_model.set_script(Says("Trivial."));
  std::string long_prompt(300, 'x');
  CHECK(f.Send("c", long_prompt) == "claude-haiku-4-5");
  auto state = f.h.State("c");
  bool llm_noted = false;
  for (const auto& [key, value] : state.policy_state) {
    llm_noted |= value.dump().find("\"classifier\":\"llm\"") != std::string::npos;
  }
  CHECK(llm_noted);

  // The same prompt again is answered from the cache: the model is not asked.
  CHECK(f.Send("c", "Say hello.") == "claude-opus-4-1");
  CHECK(f.classifier_model.requests().size() == 2);
}

TEST_CASE("classifier llm: when the model fails, the heuristic decides and the log says so",
          "[proxy][classifier]") {
  ClassifiedProxy f({}, Says("", 500));
  CHECK(f.Send("f", "Say hello.") == "claude-haiku-4-5");  // the heuristic: trivial
  Json event = f.LastRequestEvent("f");
  INFO(event.dump());
  CHECK(event["prompt_class"]["error"].get<std::string>().find("HTTP 500") != std::string::npos);
  Json decision = f.Last("f", RecordKind::kDecision, "llm_request");
  INFO(decision.dump());
  CHECK(decision.dump().find("heuristic, as the LLM classifier failed: ") != std::string::npos);

  // Within retry_after the model is not asked again; the event says why.
  f.classifier_model.set_script(Says("complex"));
  CHECK(f.Send("f", "What is 2 + 2?") == "claude-haiku-4-5");
  CHECK(f.classifier_model.requests().size() == 1);
  CHECK(f.LastRequestEvent("f")["prompt_class"]["error"].get<std::string>().find("not asked") !=
        std::string::npos);
}

TEST_CASE("classifier llm: a model that does not answer in time costs one timeout",
          "[proxy][classifier]") {
  // A listener that never accepts: connections queue and nothing is answered.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  ClassifierOptions c;
  c.base_url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  c.timeout = 300 * 1000;  // µs
  ClassifiedProxy f(c);
  CHECK(f.Send("t", "Say hello.") == "claude-haiku-4-5");
  CHECK(f.LastRequestEvent("t")["prompt_class"]["error"] ==
        "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) +
            " did not answer within 300 ms");
}

// Loads a server file's text with the server, proxy and llm sections.
Result<ServerConfig> Load(const std::string& text, std::vector<ConfigError>* errors) {
  static PolicyRegistry* registry = [] {
    auto* r = new PolicyRegistry();
    REQUIRE(RegisterBuiltins(r).ok());
    return r;
  }();
  ConfigLoader loader(registry);
  RegisterServerSection(&loader);
  return loader.ParseServer(text, "server.yaml", "/etc/reins", errors);
}

TEST_CASE("proxy and llm sections: values, defaults and errors with their line", "[proxy]") {
  std::vector<ConfigError> errors;
  auto config = Load(
      "proxy:\n"
      "  listen: 127.0.0.1:9999\n"
      "  upstreams: {anthropic: 'http://gateway:8080/anthropic'}\n"
      "  ca_file: certs/ca.pem\n"
      "  ask_wait: 2m\n"
      "llm: {base_url: 'https://api.anthropic.com', model: claude-haiku-4-5, timeout: 2s}\n",
      &errors);
  REQUIRE(errors.empty());
  REQUIRE(config.ok());
  auto proxy = ProxySectionOf(*config);
  REQUIRE(proxy);
  CHECK(proxy->listen == "127.0.0.1:9999");
  CHECK(proxy->upstreams.at("anthropic") == "http://gateway:8080/anthropic");
  CHECK(proxy->upstreams.at("openai") == "https://api.openai.com");  // a default kept
  CHECK(proxy->ca_file == "/etc/reins/certs/ca.pem");
  CHECK(proxy->ask_wait == 120 * kSecond);
  REQUIRE(proxy->classifier);
  CHECK(proxy->classifier->timeout == 2 * kSecond);
  CHECK(ClassifierWarning(*config).empty());

  // No proxy: section: serve runs no proxy; `reins proxy` uses the defaults.
  errors.clear();
  auto bare = Load(
      "policies:\n  r: {use: deny_trivial_to_expensive_model, with: {expensive_models: [opus], "
      "cheap_model: haiku, classifier: llm}}\n",
      &errors);
  REQUIRE(bare.ok());
  CHECK_FALSE(ProxySectionOf(*bare));
  CHECK(ProxyOptionsOf(*bare).listen == "127.0.0.1:8788");
  CHECK(ClassifierWarning(*bare).find("policies r use classifier: llm") != std::string::npos);

  errors.clear();
  auto bad = Load(
      "proxy:\n"
      "  listen: 127.0.0.1:9999\n"
      "  upstreams: {mistral: 'https://api.mistral.ai', openai: 'ftp://x'}\n"
      "  threads: 0\n"
      "  colour: blue\n"
      "llm: {base_url: 'https://api.anthropic.com'}\n",
      &errors);
  CHECK_FALSE(bad.ok());
  std::string all;
  for (const ConfigError& e : errors) all += e.ToString() + "\n";
  INFO(all);
  CHECK(all.find("server.yaml:3:15: proxy.upstreams: unknown provider 'mistral'") !=
        std::string::npos);
  CHECK(all.find("proxy.upstreams.openai: upstream 'openai': 'ftp://x' is not an http") !=
        std::string::npos);
  CHECK(all.find("server.yaml:4:12: proxy.threads must be an integer from 1 to 64") !=
        std::string::npos);
  CHECK(all.find("server.yaml:5:3: unknown key 'colour' in 'proxy'") != std::string::npos);
  CHECK(all.find("llm.model is required") != std::string::npos);
}

}  // namespace
}  // namespace reins::testing
