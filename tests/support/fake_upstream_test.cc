#include "tests/support/fake_upstream.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>

namespace reins::testing {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;

struct Got {
  int status = 0;
  std::string content_type, body;
  int chunks = 0;  // non-empty chunks of a chunked body
};

// One keep-alive client connection, plain or TLS (verifying the server
// against `ca_file` when one is given).
class Client {
 public:
  explicit Client(const FakeUpstream& up, std::optional<std::string> ca_file = std::nullopt) {
    asio::ip::tcp::endpoint at(asio::ip::make_address("127.0.0.1"), up.port());
    if (up.ca_file().empty()) {
      plain_.emplace(ioc_);
      plain_->connect(at);
      return;
    }
    tls_ctx_.set_verify_mode(ssl::verify_peer);
    if (ca_file) tls_ctx_.load_verify_file(*ca_file);
    secure_.emplace(ioc_, tls_ctx_);
    secure_->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(*secure_).connect(at);
    secure_->handshake(ssl::stream_base::client);
  }

  Got Send(http::verb verb, const std::string& target, const std::string& body = "",
           bool stop_after_header = false) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set("X-Api-Key", "sk-test");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    return plain_ ? Exchange(*plain_, req, stop_after_header)
                  : Exchange(*secure_, req, stop_after_header);
  }
  Got Post(const std::string& target, const json& body) {
    return Send(http::verb::post, target, body.dump());
  }
  void Close() {
    beast::error_code ec;
    if (plain_) plain_->socket().close(ec);
    if (secure_) beast::get_lowest_layer(*secure_).socket().close(ec);
  }

 private:
  template <class Stream>
  Got Exchange(Stream& stream, const http::request<http::string_body>& req, bool header_only) {
    http::write(stream, req);
    http::response_parser<http::string_body> parser;
    Got got;
    auto on_chunk = [&](uint64_t size, beast::string_view, beast::error_code&) {
      if (size > 0) ++got.chunks;
    };
    parser.on_chunk_header(on_chunk);
    if (header_only) {
      http::read_header(stream, buffer_, parser);
    } else {
      http::read(stream, buffer_, parser);
      got.body = parser.get().body();
    }
    got.status = parser.get().result_int();
    got.content_type = std::string(parser.get()[http::field::content_type]);
    return got;
  }

  asio::io_context ioc_;
  ssl::context tls_ctx_{ssl::context::tls_client};
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure_;
  beast::flat_buffer buffer_;
};

// The JSON data of each Server-Sent Event ("[DONE]" is skipped).
std::vector<json> Events(const std::string& body) {
  std::vector<json> out;
  for (size_t at = body.find("data: "); at != std::string::npos; at = body.find("data: ", at)) {
    at += 6;
    std::string data = body.substr(at, body.find_first_of("\r\n", at) - at);
    if (data != "[DONE]") out.push_back(json::parse(data));
  }
  return out;
}

FakeUpstream::Script Scripted() {
  FakeUpstream::Script s;
  s.reply_text = "The answer is forty-two, as computed.";
  s.tokens = {100, 20, 30, 5, 4};  // input, output, cache_read, cache_creation, reasoning
  return s;
}

const char* kGemini = "/v1beta/models/gemini-test:generateContent";
const char* kGeminiStream = "/v1beta/models/gemini-test:streamGenerateContent?alt=sse";

TEST_CASE("each API's whole answer reports the scripted usage", "[fake_upstream]") {
  FakeUpstream up(FakeUpstream::Options{GENERATE(false, true)}, Scripted());
  Client client(up, up.ca_file());
  json msg = {{"model", "claude-test"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};

  Got a = client.Post("/v1/messages", msg);
  REQUIRE(a.status == 200);
  json j = json::parse(a.body);
  CHECK(j["model"] == "claude-test");
  CHECK(j["content"][0]["text"] == "The answer is forty-two, as computed.");
  CHECK(j["stop_reason"] == "end_turn");
  CHECK(j["usage"] == json{{"input_tokens", 100},
                           {"output_tokens", 20},
                           {"cache_read_input_tokens", 30},
                           {"cache_creation_input_tokens", 5}});
  CHECK(json::parse(client.Post("/v1/messages/count_tokens", msg).body)["input_tokens"] == 135);

  msg["model"] = "gpt-test";
  j = json::parse(client.Post("/v1/chat/completions", msg).body);
  CHECK(j["object"] == "chat.completion");
  CHECK(j["choices"][0]["message"]["content"] == "The answer is forty-two, as computed.");
  CHECK(j["usage"]["prompt_tokens"] == 130);
  CHECK(j["usage"]["prompt_tokens_details"]["cached_tokens"] == 30);
  CHECK(j["usage"]["completion_tokens"] == 20);
  CHECK(j["usage"]["total_tokens"] == 150);

  j = json::parse(client.Post("/v1/responses", {{"model", "gpt-test"}, {"input", "hi"}}).body);
  CHECK(j["status"] == "completed");
  CHECK(j["output"][0]["content"][0]["text"] == "The answer is forty-two, as computed.");
  CHECK(j["usage"]["input_tokens"] == 130);
  CHECK(j["usage"]["input_tokens_details"]["cached_tokens"] == 30);
  CHECK(j["usage"]["output_tokens_details"]["reasoning_tokens"] == 4);

  j = json::parse(client.Post(kGemini, {{"contents", json::array()}}).body);
  CHECK(j["modelVersion"] == "gemini-test");
  CHECK(j["usageMetadata"] == json{{"promptTokenCount", 130},
                                   {"candidatesTokenCount", 16},
                                   {"thoughtsTokenCount", 4},
                                   {"cachedContentTokenCount", 30},
                                   {"totalTokenCount", 150}});

  std::vector<FakeUpstream::Seen> seen = up.requests();
  REQUIRE(seen.size() == 5);  // all on one keep-alive connection
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == "/v1/messages");
  CHECK(seen[0].headers.at("x-api-key") == "sk-test");
  CHECK(json::parse(seen[0].body)["model"] == "claude-test");
  up.clear_requests();
  CHECK(up.requests().empty());
}

TEST_CASE("each API streams its answer in several events", "[fake_upstream]") {
  FakeUpstream up(FakeUpstream::Options{GENERATE(false, true)}, Scripted());
  Client client(up, up.ca_file());
  const std::string text = "The answer is forty-two, as computed.";
  auto joined = [](const std::vector<json>& events, auto piece) {
    std::string s;
    for (const auto& e : events) s += piece(e);
    return s;
  };

  Got a = client.Post("/v1/messages", {{"model", "m"}, {"stream", true}});
  CHECK(a.content_type == "text/event-stream");
  std::vector<json> ev = Events(a.body);
  CHECK(a.chunks == static_cast<int>(ev.size()));
  REQUIRE(ev.size() > 6);
  CHECK(ev.front()["message"]["usage"]["output_tokens"] == 1);
  CHECK(ev.front()["message"]["usage"]["cache_read_input_tokens"] == 30);
  CHECK(joined(ev, [](const json& e) {
          return e["type"] == "content_block_delta" ? e["delta"]["text"].get<std::string>() : "";
        }) == text);
  CHECK(ev[ev.size() - 2]["usage"]["output_tokens"] == 20);
  CHECK(ev.back()["type"] == "message_stop");

  Got c = client.Post("/v1/chat/completions", {{"model", "m"}, {"stream", true}});
  ev = Events(c.body);
  CHECK(c.chunks == static_cast<int>(ev.size()) + 1);  // and [DONE]
  CHECK(joined(ev, [](const json& e) { return e["choices"][0]["delta"].value("content", ""); }) ==
        text);
  CHECK(ev.back()["choices"][0]["finish_reason"] == "stop");
  CHECK(c.body.find("\"usage\"") == std::string::npos);  // not asked for
  c = client.Post(
      "/v1/chat/completions",
      {{"model", "m"}, {"stream", true}, {"stream_options", {{"include_usage", true}}}});
  ev = Events(c.body);
  CHECK(ev.back()["choices"].empty());
  CHECK(ev.back()["usage"]["prompt_tokens"] == 130);
  CHECK(c.body.substr(c.body.size() - 14) == "data: [DONE]\n\n");

  Got r = client.Post("/v1/responses", {{"model", "m"}, {"stream", true}});
  ev = Events(r.body);
  REQUIRE(ev.size() > 6);
  CHECK(r.chunks == static_cast<int>(ev.size()));
  CHECK(r.body.find("event: response.output_text.delta\n") != std::string::npos);
  CHECK(joined(ev, [](const json& e) {
          return e["type"] == "response.output_text.delta" ? e["delta"].get<std::string>() : "";
        }) == text);
  CHECK(ev.back()["type"] == "response.completed");
  CHECK(ev.back()["response"]["usage"]["total_tokens"] == 150);

  Got g = client.Post(kGeminiStream, {{"contents", json::array()}});
  ev = Events(g.body);
  REQUIRE(ev.size() > 3);
  CHECK(g.chunks == static_cast<int>(ev.size()));
  CHECK(joined(ev, [](const json& e) {
          return e["candidates"][0]["content"]["parts"][0]["text"].get<std::string>();
        }) == text);
  CHECK(ev.front()["usageMetadata"]["candidatesTokenCount"] < 16);
  CHECK(ev.back()["usageMetadata"]["candidatesTokenCount"] == 16);
  CHECK(ev.back()["candidates"][0]["finishReason"] == "STOP");
  CHECK_FALSE(ev.front()["candidates"][0].contains("finishReason"));
}

TEST_CASE("a scripted tool call streams its input in fragments", "[fake_upstream]") {
  FakeUpstream::Script s = Scripted();
  s.tool_call = FakeUpstream::ToolCall{"Bash", {{"command", "ls -la /tmp"}}};
  FakeUpstream up(FakeUpstream::Options{}, s);
  Client client(up);
  std::vector<json> ev =
      Events(client.Post("/v1/messages", {{"model", "m"}, {"stream", true}}).body);
  std::string partial;
  int fragments = 0;
  for (const auto& e : ev) {
    if (e["type"] == "content_block_delta" && e["delta"]["type"] == "input_json_delta") {
      partial += e["delta"]["partial_json"].get<std::string>();
      ++fragments;
    }
  }
  CHECK(fragments > 1);
  CHECK(json::parse(partial) == s.tool_call->input);
  CHECK(ev[ev.size() - 2]["delta"]["stop_reason"] == "tool_use");

  json j = json::parse(client.Post("/v1/chat/completions", {{"model", "m"}}).body);
  CHECK(j["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(json::parse(j["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
                        .get<std::string>()) == s.tool_call->input);
  j = json::parse(client.Post(kGemini, json::object()).body);
  CHECK(j["candidates"][0]["content"]["parts"][1]["functionCall"]["args"] == s.tool_call->input);
}

TEST_CASE("errors, unknown paths and pass-through", "[fake_upstream]") {
  FakeUpstream up;
  CHECK(up.url() == "http://127.0.0.1:" + std::to_string(up.port()));
  CHECK(up.ca_file().empty());
  Client client(up);
  Got missing = client.Send(http::verb::post, "/v1/nowhere", "{}");
  CHECK(missing.status == 404);
  CHECK(json::parse(missing.body).contains("error"));
  Got models = client.Send(http::verb::get, "/v1/models");
  CHECK(models.status == 200);
  CHECK(json::parse(models.body)["data"].size() == 1);

  {  // not HTTP at all
    asio::io_context ioc;
    asio::ip::tcp::socket raw(ioc);
    raw.connect({asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(up.port())});
    asio::write(raw, asio::buffer(std::string("NOT HTTP\r\n\r\n")));
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(raw, buffer, res);
    CHECK(res.result_int() == 400);
    CHECK(res.body().find("malformed request") != std::string::npos);
  }

  FakeUpstream::Script s;
  s.status_override = 529;
  up.set_script(s);
  Got a = client.Post("/v1/messages", {{"model", "m"}});
  CHECK(a.status == 529);
  CHECK(json::parse(a.body)["error"]["type"] == "overloaded_error");
  s.status_override = 500;
  up.set_script(s);
  Got g = client.Post(kGemini, json::object());
  CHECK(g.status == 500);
  CHECK(json::parse(g.body)["error"]["status"] == "INTERNAL");
}

TEST_CASE("a client that leaves mid-stream is counted", "[fake_upstream]") {
  FakeUpstream::Script s = Scripted();
  s.chunk_delay = std::chrono::milliseconds(20);
  FakeUpstream up(FakeUpstream::Options{}, s);
  {
    Client client(up);
    Got head = client.Send(http::verb::post, "/v1/messages", R"({"model":"m","stream":true})",
                           /*stop_after_header=*/true);
    CHECK(head.status == 200);
    client.Close();
  }
  CHECK(up.WaitForStreamsCut(1, std::chrono::seconds(3)));
  CHECK(up.streams_cut() == 1);
  // A stream read to its end is not.
  Client client(up);
  CHECK(Events(client.Post("/v1/messages", {{"model", "m"}, {"stream", true}}).body).size() > 6);
  CHECK(up.streams_cut() == 1);
}

TEST_CASE("stopping closes the connections still open", "[fake_upstream]") {
  FakeUpstream::Script s;
  s.chunk_delay = std::chrono::seconds(60);
  auto up = std::make_unique<FakeUpstream>(FakeUpstream::Options{}, s);
  Client idle(*up);
  Client streaming(*up);
  CHECK(streaming
            .Send(http::verb::post, "/v1/messages", R"({"model":"m","stream":true})",
                  /*stop_after_header=*/true)
            .status == 200);
  auto start = std::chrono::steady_clock::now();
  up.reset();  // would wait a minute per event if the stream were not cut short
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("TLS verifies against ca_file() only", "[fake_upstream]") {
  FakeUpstream up(FakeUpstream::Options{true});
  CHECK(up.url() == "https://127.0.0.1:" + std::to_string(up.port()));
  Client trusted(up, up.ca_file());
  CHECK(trusted.Post("/v1/messages", {{"model", "m"}}).status == 200);
  CHECK_THROWS(Client(up));  // peer verification with no CA
  FakeUpstream other(FakeUpstream::Options{true});
  CHECK_THROWS(Client(up, other.ca_file()));  // another server's certificate
  std::string ca;
  {
    FakeUpstream gone(FakeUpstream::Options{true});
    ca = gone.ca_file();
    CHECK(std::filesystem::exists(ca));
  }
  CHECK_FALSE(std::filesystem::exists(ca));
}

}  // namespace
}  // namespace reins::testing
