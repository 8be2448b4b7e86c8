// The LLM proxy against fake providers on loopback (plain HTTP and TLS),
// over a real engine and SQLite log.
#include "harness-adapters/llm_proxy.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <thread>

#include "harness-adapters/adapter_testing.h"
#include "harness-adapters/decision_client.h"
#include "server/http_client.h"
#include "tests/support/fake_upstream.h"

namespace reins::testing {
namespace {

// Prices: claude-sonnet-4-5 $3/$15 per million tokens in/out, so a call of
// 100,000 input and 20 output tokens costs $0.3003.
constexpr const char* kPolicies = R"(
  budget:
    use: cost_budget
    with: {max_cost_usd: 0.25}
  routing:
    use: deny_trivial_to_expensive_model
    with: {expensive_models: [opus], cheap_model: claude-haiku-4-5}
  pii:
    use: deny_pii_in_llm_request
    with: {action: redact}
)";

struct ProxyFixture {
  explicit ProxyFixture(bool tls = false, FakeUpstream::Script script = {})
      : upstream(FakeUpstream::Options{tls}, script),
        h(kPolicies, dir.File("log.db"), BuiltinsRegistry()),
        client(h.engine.get(), h.store.get()) {
    ProxyOptions o;
    o.listen = "127.0.0.1:0";
    o.upstreams = {
        {"anthropic", upstream.url()}, {"openai", upstream.url()}, {"gemini", upstream.url()}};
    o.ca_file = upstream.ca_file();
    o.ask_wait = 2 * kSecond;
    auto p = LlmProxy::Start(o, &client, &h.clock);
    INFO(p.status().ToString());
    REQUIRE(p.ok());
    proxy = std::move(p).value();
  }

  // POSTs `body` through the proxy for `session` at `path`.
  HttpResult Post(const std::string& session, const std::string& path, const Json& body) {
    HttpClient http(proxy->url());
    auto r = http.Request("POST", "/s/" + session + path, body.dump());
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    return *r;
  }

  // The session's events of `type`, oldest first.
  std::vector<Json> Events(const std::string& session, const std::string& type) {
    REQUIRE(proxy->WaitRecorded());
    std::vector<Json> out;
    REQUIRE(h.store
                ->Scan(session, 0, 1000,
                       [&](const Record& r) {
                         if (r.kind == RecordKind::kEvent && r.body.value("type", "") == type) {
                           out.push_back(r.body);
                         }
                         return true;
                       })
                .ok());
    return out;
  }

  TempDir dir;
  FakeUpstream upstream;
  EngineHarness h;
  EngineDecisionClient client;
  std::unique_ptr<LlmProxy> proxy;
};

struct Shape {
  std::string name, path;
  Json body;
};

std::vector<Shape> Shapes(const std::string& model, bool stream) {
  Json anthropic = {{"model", model},
                    {"max_tokens", 100},
                    {"system", "Be brief."},
                    {"messages", {{{"role", "user"}, {"content", "Say hello."}}}}};
  Json chat = {{"model", model},
               {"messages",
                {{{"role", "system"}, {"content", "Be brief."}},
                 {{"role", "user"}, {"content", "Say hello."}}}}};
  Json responses = {{"model", model}, {"instructions", "Be brief."}, {"input", "Say hello."}};
  Json gemini = {{"contents", {{{"role", "user"}, {"parts", {{{"text", "Say hello."}}}}}}}};
  if (stream) anthropic["stream"] = chat["stream"] = responses["stream"] = true;
  std::string g =
      "/v1beta/models/" + model + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
  return {{"anthropic", "/v1/messages", anthropic},
          {"openai chat", "/v1/chat/completions", chat},
          {"openai responses", "/v1/responses", responses},
          {"gemini", g, gemini}};
}

TEST_CASE("proxy: each API's answer is relayed and its usage recorded and priced", "[proxy]") {
  FakeUpstream::Script script;
  script.tokens = {1000, 50, 200, 0, 0};
  ProxyFixture f(false, script);
  for (bool stream : {false, true}) {
    int i = 0;
    for (const Shape& s : Shapes("claude-sonnet-4-5", stream)) {
      std::string session = std::string(stream ? "stream-" : "whole-") + std::to_string(i++);
      INFO(s.name << (stream ? " streaming" : ""));
      HttpResult r = f.Post(session, s.path, s.body);
      CHECK(r.status == 200);
      CHECK(r.body.find("Hello") != std::string::npos);
      // The client sees no usage chunk it did not ask for.
      if (s.name == "openai chat" && stream) {
        CHECK(r.body.find("\"choices\":[]") == std::string::npos);
      }
      auto requests = f.Events(session, "llm_request");
      REQUIRE(requests.size() == 1);
      CHECK(requests[0]["text"] == "Say hello.");
      CHECK(requests[0]["model"] == "claude-sonnet-4-5");
      auto responses = f.Events(session, "llm_response");
      REQUIRE(responses.size() == 1);
      INFO(responses[0].dump());
      CHECK(responses[0]["usage"]["input_tokens"] == 1000);
      CHECK(responses[0]["usage"]["cache_read_input_tokens"] == 200);
      CHECK(responses[0]["usage"]["output_tokens"] == 50);
      CHECK(f.h.State(session).cost_usd > 0);
    }
  }
  // API keys pass through to the provider and never reach the log.
  HttpClient http(f.proxy->url());
  auto r = http.Request("POST", "/s/keys/v1/messages",
                        Shapes("claude-sonnet-4-5", false)[0].body.dump(), "sk-secret-key-1234");
  REQUIRE(r.ok());
  CHECK(f.upstream.requests().back().headers["authorization"] == "Bearer sk-secret-key-1234");
  REQUIRE(f.proxy->WaitRecorded());
  bool leaked = false;
  REQUIRE(f.h.store
              ->Scan("keys", 0, 1000,
                     [&](const Record& rec) {
                       leaked |= rec.body.dump().find("sk-secret") != std::string::npos;
                       return true;
                     })
              .ok());
  CHECK_FALSE(leaked);
}

TEST_CASE("proxy: a budget stops the next call with the provider's error", "[proxy]") {
  FakeUpstream::Script script;
  script.tokens = {100000, 20, 0, 0, 0};  // $0.3003 a call, over the $0.25 cap
  ProxyFixture f(false, script);
  Json body = Shapes("claude-sonnet-4-5", false)[0].body;
  CHECK(f.Post("b", "/v1/messages", body).status == 200);
  HttpResult second = f.Post("b", "/v1/messages", body);
  CHECK(second.status == 403);
  Json err = Json::parse(second.body);
  CHECK(err["type"] == "error");
  CHECK(err["error"]["message"].get<std::string>().find("reins") != std::string::npos);
  CHECK(f.upstream.requests().size() == 1);  // the second never left
}

TEST_CASE("proxy: a body nested too deep is refused in the provider's format", "[proxy]") {
  ProxyFixture f;
  // Half a megabyte of nesting, which the recursive walks that redact and
  // serialize a body would not survive.
  std::string deep = R"({"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user",)"
                     R"("content":"hi"}],"metadata":)" +
                     std::string(250000, '[') + std::string(250000, ']') + "}";
  HttpClient http(f.proxy->url());
  auto r = http.Request("POST", "/s/deep/v1/messages", deep);
  REQUIRE(r.ok());
  CHECK(r->status == 400);
  Json err = Json::parse(r->body);
  CHECK(err["type"] == "error");
  CHECK(err["error"]["message"].get<std::string>().find("nests deeper than 256 levels") !=
        std::string::npos);
  CHECK(f.upstream.requests().empty());
}

TEST_CASE("proxy: a message whose role is not a string is relayed, not a server error", "[proxy]") {
  // The prompt finder read "role" with nlohmann's value(), which throws on
  // a number: the client got a 500 instead of the provider's answer.
  ProxyFixture f;
  for (const Shape& s : Shapes("claude-sonnet-4-5", false)) {
    INFO(s.name);
    Json body = s.body;
    const char* list = s.name == "gemini" ? "contents" : "messages";
    if (!body.contains(list)) continue;  // Responses takes its input as a string here
    body[list].push_back(Json{{"role", 5}, {"content", "odd"}});  // read first
    std::string session = "role-" + std::to_string(s.name.size());
    CHECK(f.Post(session, s.path, body).status == 200);
    CHECK(f.Events(session, "llm_response").size() == 1);
  }
}

TEST_CASE("proxy: a trivial prompt to an expensive model goes upstream with the cheap one",
          "[proxy]") {
  ProxyFixture f;
  for (const Shape& s : Shapes("claude-opus-4-1", false)) {
    INFO(s.name);
    f.upstream.clear_requests();
    std::string session =
        "route-" + s.name.substr(0, s.name.find(' ')) + std::to_string(s.name.size());
    CHECK(f.Post(session, s.path, s.body).status == 200);
    REQUIRE(f.upstream.requests().size() == 1);
    auto seen = f.upstream.requests()[0];
    if (s.name == "gemini") {
      CHECK(seen.target.find("/models/claude-haiku-4-5:generateContent") != std::string::npos);
    } else {
      CHECK(Json::parse(seen.body)["model"] == "claude-haiku-4-5");
    }
  }
}

TEST_CASE("proxy: a secret is redacted everywhere in the request before it leaves", "[proxy]") {
  ProxyFixture f;
  std::string key = "AKIAIOSFODNN7EXAMPLE";
  Json body = {{"model", "claude-sonnet-4-5"},
               {"max_tokens", 100},
               {"messages",
                {{{"role", "user"}, {"content", "My key is " + key + ", remember it."}},
                 {{"role", "assistant"}, {"content", "Noted."}},
                 {{"role", "user"}, {"content", "Now use " + key + " to list buckets."}}}}};
  CHECK(f.Post("pii", "/v1/messages", body).status == 200);
  REQUIRE(f.upstream.requests().size() == 1);
  std::string sent = f.upstream.requests()[0].body;  // requests() is a copy
  CHECK(sent.find(key) == std::string::npos);
  CHECK(sent.find("REDACTED") != std::string::npos);
  CHECK(sent.find("remember it.") != std::string::npos);
}

TEST_CASE("proxy: TLS upstreams are verified", "[proxy]") {
  ProxyFixture f(true);
  CHECK(f.upstream.url().rfind("https://", 0) == 0);
  CHECK(f.Post("tls", "/v1/messages", Shapes("claude-sonnet-4-5", true)[0].body).status == 200);
  CHECK(f.Events("tls", "llm_response").size() == 1);

  // Without the test CA the certificate is refused and nothing is relayed.
  ProxyOptions o;
  o.listen = "127.0.0.1:0";
  o.upstreams = {{"anthropic", f.upstream.url()}};
  auto untrusting = LlmProxy::Start(o, &f.client, &f.h.clock);
  REQUIRE(untrusting.ok());
  HttpClient http((*untrusting)->url());
  auto r = http.Request("POST", "/s/tls2/v1/messages",
                        Shapes("claude-sonnet-4-5", false)[0].body.dump());
  REQUIRE(r.ok());
  CHECK(r->status == 502);
  CHECK(r->body.find("certificate") != std::string::npos);
}

TEST_CASE("proxy: count_tokens is governed but free; other paths pass untouched", "[proxy]") {
  FakeUpstream::Script script;
  script.tokens = {700, 20, 0, 0, 0};
  ProxyFixture f(false, script);
  std::string key = "AKIAIOSFODNN7EXAMPLE";
  Json body = {{"model", "claude-sonnet-4-5"},
               {"messages", {{{"role", "user"}, {"content", "How long is " + key + "?"}}}}};
  HttpResult counted = f.Post("count", "/v1/messages/count_tokens", body);
  CHECK(counted.status == 200);
  CHECK(Json::parse(counted.body)["input_tokens"] == 700);
  // The prompt leaves the machine here too, so the PII policy redacted it.
  REQUIRE(f.upstream.requests().size() == 1);
  CHECK(f.upstream.requests()[0].target == "/v1/messages/count_tokens");
  CHECK(f.upstream.requests()[0].body.find(key) == std::string::npos);
  CHECK(f.Events("count", "llm_request").size() == 1);
  CHECK(f.h.State("count").cost_usd == 0);

  // A path the proxy does not govern: forwarded as it came (query and
  // headers), answered as the upstream answered, and nothing recorded.
  HttpClient http(f.proxy->url());
  auto listed = http.Request("GET", "/s/other/v1/models?limit=5", "", "sk-list-key");
  REQUIRE(listed.ok());
  CHECK(listed->status == 200);
  CHECK(Json::parse(listed->body)["data"][0]["id"] == "fake-model-1");
  FakeUpstream::Seen seen = f.upstream.requests().back();
  CHECK(seen.method == "GET");
  CHECK(seen.target == "/v1/models?limit=5");
  CHECK(seen.headers["authorization"] == "Bearer sk-list-key");
  CHECK(f.Events("other", "llm_request").empty());
  // An upstream error passes through with its status and body.
  auto missing = http.Request("GET", "/v1/nothing-here");
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);
  CHECK(missing->body.find("fake upstream: no route") != std::string::npos);
}

TEST_CASE("proxy: a client that leaves mid-stream leaves a consistent log", "[proxy]") {
  FakeUpstream::Script script;
  script.reply_text.clear();
  for (int i = 0; i < 40; ++i) script.reply_text += "word" + std::to_string(i) + " ";
  script.chunk_delay = std::chrono::milliseconds(25);
  script.tokens = {1000, 50, 0, 0, 0};
  ProxyFixture f(false, script);

  // A client that reads the answer's first text and hangs up.
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  asio::ip::tcp::endpoint at(asio::ip::make_address("127.0.0.1"),
                             static_cast<unsigned short>(f.proxy->port()));
  sock.connect(at);
  std::string body = Shapes("claude-sonnet-4-5", true)[0].body.dump();
  std::string req =
      "POST /s/cut/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  asio::write(sock, asio::buffer(req));
  std::string seen;
  char buf[4096];
  while (seen.find("content_block_delta") == std::string::npos) {
    boost::system::error_code ec;
    size_t n = sock.read_some(asio::buffer(buf), ec);
    REQUIRE_FALSE(ec);
    seen.append(buf, n);
  }
  sock.close();

  // The proxy notices at its next writes, stops reading and drops the
  // upstream connection, and records what the answer had reported so far.
  CHECK(f.upstream.WaitForStreamsCut(1, std::chrono::seconds(5)));
  std::vector<Json> responses;
  for (int i = 0; i < 200 && responses.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    responses = f.Events("cut", "llm_response");
  }
  REQUIRE(responses.size() == 1);
  INFO(responses[0].dump());
  CHECK(responses[0]["labels"].contains("incomplete"));
  CHECK(responses[0]["usage"]["input_tokens"] == 1000);  // message_start came through
  CHECK(f.h.State("cut").cost_usd > 0);
  auto report = f.h.store->Verify("cut");
  REQUIRE(report.ok());
  CHECK(report->ok());

  // The session goes on: the next call is governed and relayed as usual.
  script.chunk_delay = std::chrono::milliseconds(0);
  f.upstream.set_script(script);
  CHECK(f.Post("cut", "/v1/messages", Shapes("claude-sonnet-4-5", true)[0].body).status == 200);
  CHECK(f.Events("cut", "llm_request").size() == 2);
  CHECK(f.Events("cut", "llm_response").size() == 2);
}

}  // namespace
}  // namespace reins::testing
