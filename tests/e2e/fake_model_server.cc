#include "tests/e2e/fake_model_server.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>

namespace reins::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

std::string Sse(const std::vector<std::pair<std::string, json>>& events) {
  std::string out;
  for (const auto& [name, data] : events) {
    if (!name.empty()) out += "event: " + name + "\n";
    out += "data: " + data.dump() + "\n\n";
  }
  return out;
}

// j[key] when it is a string, else "" (tool schemas nest objects named
// "name" and "type" arrays).
std::string StrOf(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Counts the objects anywhere in `j` that have `key` (tool results of each
// dialect: "tool_result" blocks, "function_call_output" items,
// "functionResponse" parts).
int CountWhere(const json& j, const std::function<bool(const json&)>& match) {
  int n = 0;
  if (j.is_object()) {
    if (match(j)) ++n;
    for (const auto& [k, v] : j.items()) n += CountWhere(v, match);
  } else if (j.is_array()) {
    for (const auto& v : j) n += CountWhere(v, match);
  }
  return n;
}

// One HTTP/1.1 keep-alive connection, answered on the server's one thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Handler = std::function<FakeModelServer::Reply(const std::string& path,
                                                       const std::string& api_key, const json&)>;
  Connection(tcp::socket socket, Handler handler)
      : stream_(std::move(socket)), handler_(std::move(handler)) {}

  void Read() {
    request_ = {};
    parser_.emplace();
    parser_->body_limit(64 * 1024 * 1024);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->Respond();
                     });
  }

 private:
  void Respond() {
    request_ = parser_->release();
    auto res =
        std::make_shared<http::response<http::string_body>>(http::status::ok, request_.version());
    res->keep_alive(request_.keep_alive());
    std::string path(request_.target());
    json body = json::parse(request_.body(), nullptr, false);
    if (request_.method() != http::verb::post || body.is_discarded()) {
      res->result(http::status::not_found);
      res->set(http::field::content_type, "application/json");
      res->body() = R"({"error":{"message":"the fake model server only answers model calls"}})";
    } else {
      FakeModelServer::Reply reply = handler_(path, std::string(request_["x-api-key"]), body);
      res->set(http::field::content_type, reply.content_type);
      res->body() = std::move(reply.body);
    }
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (!ec && res->keep_alive()) self->Read();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  Handler handler_;
};

}  // namespace

struct FakeModelServer::Impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  int port = 0;
};

FakeModelServer::FakeModelServer(ModelScript script)
    : script_(std::move(script)), impl_(std::make_unique<Impl>()) {
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  Serve();
  thread_ = std::thread([this] { impl_->ioc.run(); });
}

FakeModelServer::~FakeModelServer() {
  impl_->ioc.stop();
  thread_.join();
}

std::string FakeModelServer::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

std::vector<json> FakeModelServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

int FakeModelServer::tool_calls_answered() const {
  std::lock_guard lock(mu_);
  return tool_calls_;
}

void FakeModelServer::Serve() {
  impl_->acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    std::make_shared<Connection>(std::move(socket), [this](const std::string& path,
                                                           const std::string& api_key,
                                                           const json& body) {
      return Answer(path, api_key, body);
    })->Read();
    Serve();
  });
}

FakeModelServer::Reply FakeModelServer::Answer(const std::string& path, const std::string& api_key,
                                               const json& req) {
  std::lock_guard lock(mu_);
  int id = ++next_id_;
  std::string model = StrOf(req, "model");
  if (auto m = path.find("/models/"); m != std::string::npos) {
    model = path.substr(m + 8, path.find(':', m) - m - 8);
  }
  requests_.push_back({{"path", path}, {"model", model}, {"body", req}, {"api_key", api_key}});
  auto offers = [&](const std::string& name) {
    return CountWhere(req.value("tools", json::array()),
                      [&](const json& t) { return StrOf(t, "name") == name; }) > 0;
  };
  auto next_command = [&](int results) -> const std::string* {
    if (results >= static_cast<int>(script_.commands.size())) return nullptr;
    ++tool_calls_;
    return &script_.commands[results];
  };
  long in = script_.input_tokens, out = script_.output_tokens;

  if (Contains(path, "/messages")) {  // Anthropic
    const std::string* command = nullptr;
    if (offers("Bash")) {
      command = next_command(CountWhere(req.value("messages", json::array()), [](const json& b) {
        return StrOf(b, "type") == "tool_result";
      }));
    }
    std::string msg_id = "msg_fake_" + std::to_string(id);
    json block = command ? json{{"type", "tool_use"},
                                {"id", "toolu_fake_" + std::to_string(id)},
                                {"name", "Bash"},
                                {"input", {{"command", *command}, {"description", "run"}}}}
                         : json{{"type", "text"}, {"text", script_.final_text}};
    std::string stop = command ? "tool_use" : "end_turn";
    json usage = {{"input_tokens", in},
                  {"output_tokens", out},
                  {"cache_read_input_tokens", script_.cache_read_tokens},
                  {"cache_creation_input_tokens", script_.cache_write_tokens}};
    if (!req.value("stream", false)) {
      return {"application/json", json{{"id", msg_id},
                                       {"type", "message"},
                                       {"role", "assistant"},
                                       {"model", model},
                                       {"content", {block}},
                                       {"stop_reason", stop},
                                       {"usage", usage}}
                                      .dump()};
    }
    json start_usage = usage;
    start_usage["output_tokens"] = 1;
    json empty_block = block;
    json delta;
    if (command) {
      empty_block["input"] = json::object();
      delta = {{"type", "input_json_delta"}, {"partial_json", block["input"].dump()}};
    } else {
      empty_block["text"] = "";
      delta = {{"type", "text_delta"}, {"text", script_.final_text}};
    }
    return {"text/event-stream",
            Sse({{"message_start",
                  {{"type", "message_start"},
                   {"message",
                    {{"id", msg_id},
                     {"type", "message"},
                     {"role", "assistant"},
                     {"model", model},
                     {"content", json::array()},
                     {"stop_reason", nullptr},
                     {"usage", start_usage}}}}},
                 {"content_block_start",
                  {{"type", "content_block_start"}, {"index", 0}, {"content_block", empty_block}}},
                 {"content_block_delta",
                  {{"type", "content_block_delta"}, {"index", 0}, {"delta", delta}}},
                 {"content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}},
                 {"message_delta",
                  {{"type", "message_delta"},
                   {"delta", {{"stop_reason", stop}, {"stop_sequence", nullptr}}},
                   {"usage", {{"output_tokens", out}}}}},
                 {"message_stop", {{"type", "message_stop"}}}})};
  }

  if (Contains(path, "/responses")) {  // OpenAI Responses (Codex)
    const std::string* command = nullptr;
    if (offers("exec_command")) {
      command = next_command(CountWhere(req.value("input", json::array()), [](const json& i) {
        return StrOf(i, "type") == "function_call_output";
      }));
    }
    std::string resp_id = "resp_fake_" + std::to_string(id);
    json item = command ? json{{"type", "function_call"},
                               {"id", "fc_fake_" + std::to_string(id)},
                               {"call_id", "call_fake_" + std::to_string(id)},
                               {"name", "exec_command"},
                               // Not a login shell: that would reset PATH,
                               // and the tests' stand-ins are found on it.
                               {"arguments", json{{"cmd", *command}, {"login", false}}.dump()},
                               {"status", "completed"}}
                        : json{{"type", "message"},
                               {"id", "msg_fake_" + std::to_string(id)},
                               {"role", "assistant"},
                               {"status", "completed"},
                               {"content",
                                {{{"type", "output_text"},
                                  {"text", script_.final_text},
                                  {"annotations", json::array()}}}}};
    json response = {{"id", resp_id}, {"object", "response"}, {"model", model}};
    json completed = response;
    completed["status"] = "completed";
    completed["output"] = {item};
    completed["usage"] = {{"input_tokens", in},
                          {"input_tokens_details", {{"cached_tokens", 0}}},
                          {"output_tokens", out},
                          {"output_tokens_details", {{"reasoning_tokens", 0}}},
                          {"total_tokens", in + out}};
    return {
        "text/event-stream",
        Sse({{"response.created", {{"type", "response.created"}, {"response", response}}},
             {"response.output_item.done",
              {{"type", "response.output_item.done"}, {"output_index", 0}, {"item", item}}},
             {"response.completed", {{"type", "response.completed"}, {"response", completed}}}})};
  }

  // Gemini: generateContent or streamGenerateContent.
  const std::string* command = nullptr;
  if (offers("run_shell_command")) {
    command = next_command(CountWhere(req.value("contents", json::array()), [](const json& p) {
      return p.contains("functionResponse");
    }));
  }
  json part = command ? json{{"functionCall",
                              {{"name", "run_shell_command"}, {"args", {{"command", *command}}}}}}
                      : json{{"text", script_.final_text}};
  json chunk = {
      {"candidates",
       {{{"content", {{"role", "model"}, {"parts", {part}}}},
         {"finishReason", "STOP"},
         {"index", 0}}}},
      {"usageMetadata",
       {{"promptTokenCount", in}, {"candidatesTokenCount", out}, {"totalTokenCount", in + out}}},
      {"modelVersion", model},
      {"responseId", "fake_" + std::to_string(id)}};
  if (Contains(path, "streamGenerateContent")) return {"text/event-stream", Sse({{"", chunk}})};
  return {"application/json", chunk.dump()};
}

}  // namespace reins::testing
