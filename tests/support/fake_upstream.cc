#include "tests/support/fake_upstream.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace reins::testing {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;                 // when not streamed
  std::vector<std::string> events;  // when streamed: each one chunk, written on its own
  bool streamed = false;
};

// What one answer is built from.
struct Call {
  const FakeUpstream::Script& s;
  const json& req;
  std::string model;
  std::string n;  // the request's number, for ids
  bool stream;
};

[[noreturn]] void Fail(const std::string& what) {
  throw std::runtime_error("fake upstream: " + what);
}

// A self-signed server certificate and its key, both PEM.
std::pair<std::string, std::string> MakeCertificate() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  if (!key || !x) Fail("cannot make a key and certificate");
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  // A positive, non-zero serial: strict verifiers (Python 3.13) refuse others.
  serial = (serial >> 2) | 1;
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 23 * 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  // An end-entity certificate (CA:FALSE, no keyUsage): OpenSSL takes a
  // self-signed leaf in its trust store as the anchor, and webpki (rustls)
  // refuses a CA certificate used as a server's.
  const std::pair<int, const char*> extensions[] = {
      {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"}};
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext || !X509_add_ext(x.get(), ext, -1)) Fail(std::string("cannot add ") + value);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(x.get(), key.get(), EVP_sha256())) Fail("cannot sign the certificate");
  auto pem = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (!bio || !write(bio.get())) Fail("cannot write PEM");
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, size);
  };
  return {pem([&](BIO* b) { return PEM_write_bio_X509(b, x.get()); }), pem([&](BIO* b) {
            return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
          })};
}

bool IsTrue(const json& obj, const char* key) {
  return obj.is_object() && obj.contains(key) && obj[key] == true;
}

// The text in word-sized pieces (each word with the spaces after it), as a
// model streams tokens.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    size_t j = text.find_first_of(" \n", text.find_first_not_of(" \n", i));
    j = j == std::string::npos ? text.size() : text.find_first_not_of(" \n", j);
    j = j == std::string::npos ? text.size() : j;
    out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

// `s` in about three pieces, cut between UTF-8 characters (each piece goes
// into a JSON string, which must stay valid UTF-8).
std::vector<std::string> Fragments(const std::string& s) {
  std::vector<std::string> out;
  size_t step = std::max<size_t>(1, (s.size() + 2) / 3);
  for (size_t i = 0; i < s.size();) {
    size_t j = std::min(s.size(), i + step);
    while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string Sse(const std::string& event, const json& data) {
  return (event.empty() ? "" : "event: " + event + "\n") + "data: " + data.dump() + "\n\n";
}

Reply JsonReply(const json& body, int status = 200) {
  return {status, "application/json", body.dump(), {}, false};
}

Reply Stream(std::vector<std::string> events, std::string type = "text/event-stream") {
  return {200, std::move(type), "", std::move(events), true};
}

// Text first (when there is some, or nothing else), then the tool call.
bool HasText(const FakeUpstream::Script& s) { return !s.reply_text.empty() || !s.tool_call; }

Reply Anthropic(const Call& c) {
  const auto& t = c.s.tokens;
  json usage = {{"input_tokens", t.input},
                {"output_tokens", t.output},
                {"cache_creation_input_tokens", t.cache_creation},
                {"cache_read_input_tokens", t.cache_read}};
  json message = {{"id", "msg_fake_" + c.n},
                  {"type", "message"},
                  {"role", "assistant"},
                  {"model", c.model},
                  {"content", json::array()}};
  json tool;
  if (c.s.tool_call) {
    tool = {{"type", "tool_use"},
            {"id", "toolu_fake_" + c.n},
            {"name", c.s.tool_call->name},
            {"input", c.s.tool_call->input}};
  }
  std::string stop = c.s.tool_call ? "tool_use" : "end_turn";
  if (!c.stream) {
    if (HasText(c.s)) message["content"].push_back({{"type", "text"}, {"text", c.s.reply_text}});
    if (c.s.tool_call) message["content"].push_back(tool);
    message.update({{"stop_reason", stop}, {"stop_sequence", nullptr}, {"usage", usage}});
    return JsonReply(message);
  }
  json start_usage = usage;
  start_usage["output_tokens"] = 1;
  message.update({{"stop_reason", nullptr}, {"stop_sequence", nullptr}, {"usage", start_usage}});
  std::vector<std::string> ev = {
      Sse("message_start", {{"type", "message_start"}, {"message", message}})};
  int index = 0;
  auto block = [&](const json& start, const char* delta_type, const char* field,
                   const std::vector<std::string>& pieces) {
    ev.push_back(
        Sse("content_block_start",
            {{"type", "content_block_start"}, {"index", index}, {"content_block", start}}));
    if (index == 0) ev.push_back(Sse("ping", {{"type", "ping"}}));
    for (const auto& p : pieces) {
      ev.push_back(Sse("content_block_delta", {{"type", "content_block_delta"},
                                               {"index", index},
                                               {"delta", {{"type", delta_type}, {field, p}}}}));
    }
    ev.push_back(Sse("content_block_stop", {{"type", "content_block_stop"}, {"index", index++}}));
  };
  if (HasText(c.s)) {
    block({{"type", "text"}, {"text", ""}}, "text_delta", "text", Words(c.s.reply_text));
  }
  if (c.s.tool_call) {
    json start = tool;
    start["input"] = json::object();
    block(start, "input_json_delta", "partial_json", Fragments(tool["input"].dump()));
  }
  ev.push_back(Sse("message_delta", {{"type", "message_delta"},
                                     {"delta", {{"stop_reason", stop}, {"stop_sequence", nullptr}}},
                                     {"usage", {{"output_tokens", t.output}}}}));
  ev.push_back(Sse("message_stop", {{"type", "message_stop"}}));
  return Stream(std::move(ev));
}

Reply OpenAiChat(const Call& c) {
  const auto& t = c.s.tokens;
  json usage = {{"prompt_tokens", t.input + t.cache_read},
                {"completion_tokens", t.output},
                {"total_tokens", t.input + t.cache_read + t.output},
                {"prompt_tokens_details", {{"cached_tokens", t.cache_read}}},
                {"completion_tokens_details", {{"reasoning_tokens", t.reasoning}}}};
  json head = {{"id", "chatcmpl-fake" + c.n}, {"created", std::time(nullptr)}, {"model", c.model}};
  std::string call_id = "call_fake_" + c.n;
  std::string args = c.s.tool_call ? c.s.tool_call->input.dump() : "";
  std::string finish = c.s.tool_call ? "tool_calls" : "stop";
  if (!c.stream) {
    json message = {{"role", "assistant"},
                    {"content", c.s.reply_text.empty() ? json() : json(c.s.reply_text)}};
    if (c.s.tool_call) {
      message["tool_calls"] = {
          {{"id", call_id},
           {"type", "function"},
           {"function", {{"name", c.s.tool_call->name}, {"arguments", args}}}}};
    }
    json body = head;
    body.update(
        {{"object", "chat.completion"},
         {"choices",
          {{{"index", 0}, {"message", message}, {"finish_reason", finish}, {"logprobs", nullptr}}}},
         {"usage", usage}});
    return JsonReply(body);
  }
  bool include_usage =
      c.req.contains("stream_options") && IsTrue(c.req["stream_options"], "include_usage");
  head["object"] = "chat.completion.chunk";
  // With include_usage every chunk carries "usage": null but the last.
  if (include_usage) head["usage"] = nullptr;
  std::vector<std::string> ev;
  auto chunk = [&](const json& delta, const json& finish_reason) {
    json j = head;
    j["choices"] = {{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}}};
    ev.push_back(Sse("", j));
  };
  chunk({{"role", "assistant"}, {"content", ""}}, nullptr);
  for (const auto& w : Words(c.s.reply_text)) chunk({{"content", w}}, nullptr);
  if (c.s.tool_call) {
    chunk({{"tool_calls",
            {{{"index", 0},
              {"id", call_id},
              {"type", "function"},
              {"function", {{"name", c.s.tool_call->name}, {"arguments", ""}}}}}}},
          nullptr);
    for (const auto& f : Fragments(args)) {
      chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", f}}}}}}}, nullptr);
    }
  }
  chunk(json::object(), finish);
  if (include_usage) {
    json j = head;
    j.update({{"choices", json::array()}, {"usage", usage}});
    ev.push_back(Sse("", j));
  }
  ev.push_back("data: [DONE]\n\n");
  return Stream(std::move(ev));
}

Reply OpenAiResponses(const Call& c) {
  const auto& t = c.s.tokens;
  std::string msg_id = "msg_fake_" + c.n, fc_id = "fc_fake_" + c.n;
  json part = {{"type", "output_text"}, {"text", c.s.reply_text}, {"annotations", json::array()}};
  json message = {{"type", "message"},
                  {"id", msg_id},
                  {"status", "completed"},
                  {"role", "assistant"},
                  {"content", {part}}};
  json call;
  if (c.s.tool_call) {
    call = {{"type", "function_call"},
            {"id", fc_id},
            {"call_id", "call_fake_" + c.n},
            {"name", c.s.tool_call->name},
            {"arguments", c.s.tool_call->input.dump()},
            {"status", "completed"}};
  }
  json response = {
      {"id", "resp_fake_" + c.n}, {"object", "response"},  {"created_at", std::time(nullptr)},
      {"model", c.model},         {"status", "completed"}, {"output", json::array()}};
  if (HasText(c.s)) response["output"].push_back(message);
  if (c.s.tool_call) response["output"].push_back(call);
  response["usage"] = {{"input_tokens", t.input + t.cache_read},
                       {"input_tokens_details", {{"cached_tokens", t.cache_read}}},
                       {"output_tokens", t.output},
                       {"output_tokens_details", {{"reasoning_tokens", t.reasoning}}},
                       {"total_tokens", t.input + t.cache_read + t.output}};
  if (!c.stream) return JsonReply(response);

  std::vector<std::string> ev;
  int seq = 0;
  auto event = [&](const std::string& type, json data) {
    data["type"] = type;
    data["sequence_number"] = seq++;
    ev.push_back(Sse(type, data));
  };
  json pending = response;
  pending.update({{"status", "in_progress"}, {"output", json::array()}, {"usage", nullptr}});
  event("response.created", {{"response", pending}});
  event("response.in_progress", {{"response", pending}});
  int index = 0;
  if (HasText(c.s)) {
    json at = {{"item_id", msg_id}, {"output_index", index}, {"content_index", 0}};
    json empty = message;
    empty.update({{"status", "in_progress"}, {"content", json::array()}});
    event("response.output_item.added", {{"output_index", index}, {"item", empty}});
    json empty_part = part;
    empty_part["text"] = "";
    json added = at;
    added["part"] = empty_part;
    event("response.content_part.added", added);
    for (const auto& w : Words(c.s.reply_text)) {
      json d = at;
      d["delta"] = w;
      event("response.output_text.delta", d);
    }
    json done = at;
    done["text"] = c.s.reply_text;
    event("response.output_text.done", done);
    done.erase("text");
    done["part"] = part;
    event("response.content_part.done", done);
    event("response.output_item.done", {{"output_index", index++}, {"item", message}});
  }
  if (c.s.tool_call) {
    json empty = call;
    empty.update({{"arguments", ""}, {"status", "in_progress"}});
    event("response.output_item.added", {{"output_index", index}, {"item", empty}});
    for (const auto& f : Fragments(call["arguments"])) {
      event("response.function_call_arguments.delta",
            {{"item_id", fc_id}, {"output_index", index}, {"delta", f}});
    }
    event("response.function_call_arguments.done",
          {{"item_id", fc_id}, {"output_index", index}, {"arguments", call["arguments"]}});
    event("response.output_item.done", {{"output_index", index}, {"item", call}});
  }
  event("response.completed", {{"response", response}});
  return Stream(std::move(ev));
}

Reply Gemini(const Call& c, bool sse) {
  const auto& t = c.s.tokens;
  int64_t prompt = t.input + t.cache_read, thoughts = t.reasoning;
  int64_t candidates = std::max<int64_t>(0, t.output - t.reasoning);
  auto usage = [&](int64_t cand) {
    return json{{"promptTokenCount", prompt},
                {"candidatesTokenCount", cand},
                {"totalTokenCount", prompt + cand + thoughts},
                {"cachedContentTokenCount", t.cache_read},
                {"thoughtsTokenCount", thoughts}};
  };
  json call;
  if (c.s.tool_call) {
    call = {{"functionCall", {{"name", c.s.tool_call->name}, {"args", c.s.tool_call->input}}}};
  }
  auto answer = [&](json parts, int64_t cand, bool last) {
    json candidate = {{"content", {{"role", "model"}, {"parts", std::move(parts)}}}, {"index", 0}};
    if (last) candidate["finishReason"] = "STOP";
    return json{{"candidates", {candidate}},
                {"usageMetadata", usage(cand)},
                {"modelVersion", c.model},
                {"responseId", "fake-" + c.n}};
  };
  if (!c.stream) {
    json parts = json::array();
    if (HasText(c.s)) parts.push_back({{"text", c.s.reply_text}});
    if (c.s.tool_call) parts.push_back(call);
    return JsonReply(answer(parts, candidates, true));
  }
  // One chunk per word, the function call (Gemini sends it whole) last.
  std::vector<json> parts;
  for (const auto& w : Words(c.s.reply_text)) parts.push_back({{"text", w}});
  if (HasText(c.s) && parts.empty()) parts.push_back({{"text", ""}});
  if (c.s.tool_call) parts.push_back(call);
  std::vector<std::string> ev;
  int64_t n = static_cast<int64_t>(parts.size());
  for (int64_t i = 0; i < n; ++i) {
    std::string data = answer(json::array({parts[i]}), candidates * (i + 1) / n, i + 1 == n).dump();
    if (sse) {
      ev.push_back("data: " + data + "\r\n\r\n");
    } else {
      ev.push_back((i == 0 ? "[" : ",\r\n") + data + (i + 1 == n ? "]" : ""));
    }
  }
  return Stream(std::move(ev), sse ? "text/event-stream" : "application/json");
}

enum class Dialect { kAnthropic, kOpenAi, kGemini };

// The provider's own error body for `status`.
Reply ProviderError(Dialect d, int status, const std::string& message) {
  // Each provider's error type for a status; the first row for any other
  // 4xx, the row of 500 for any other 5xx.
  static const struct {
    int status;
    const char *anthropic, *openai, *google;
  } kTypes[] = {{400, "invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"},
                {401, "authentication_error", "invalid_request_error", "UNAUTHENTICATED"},
                {403, "permission_error", "invalid_request_error", "PERMISSION_DENIED"},
                {404, "not_found_error", "invalid_request_error", "NOT_FOUND"},
                {429, "rate_limit_error", "rate_limit_exceeded", "RESOURCE_EXHAUSTED"},
                {500, "api_error", "server_error", "INTERNAL"},
                {503, "overloaded_error", "server_error", "UNAVAILABLE"},
                {529, "overloaded_error", "server_error", "UNAVAILABLE"}};
  const auto* type = status < 500 ? &kTypes[0] : &kTypes[5];
  for (const auto& t : kTypes) {
    if (t.status == status) type = &t;
  }
  json body;
  if (d == Dialect::kAnthropic) {
    body = {{"type", "error"}, {"error", {{"type", type->anthropic}, {"message", message}}}};
  } else if (d == Dialect::kOpenAi) {
    body = {
        {"error",
         {{"message", message}, {"type", type->openai}, {"param", nullptr}, {"code", nullptr}}}};
  } else {
    body = {{"error", {{"code", status}, {"message", message}, {"status", type->google}}}};
  }
  return JsonReply(body, status);
}

bool EndsWith(const std::string& s, const std::string& end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

Reply Answer(const FakeUpstream::Seen& seen, const FakeUpstream::Script& s, uint64_t number) {
  std::string path = seen.target.substr(0, seen.target.find('?'));
  std::string query = seen.target.size() > path.size() ? seen.target.substr(path.size()) : "";
  size_t models = path.find("/models/");
  bool gemini = models != std::string::npos &&
                (EndsWith(path, ":generateContent") || EndsWith(path, ":streamGenerateContent"));
  Dialect dialect = gemini                                        ? Dialect::kGemini
                    : path.find("/messages") != std::string::npos ? Dialect::kAnthropic
                                                                  : Dialect::kOpenAi;
  bool post = seen.method == "POST";
  bool known =
      post && (gemini || EndsWith(path, "/messages") || EndsWith(path, "/messages/count_tokens") ||
               EndsWith(path, "/chat/completions") || EndsWith(path, "/responses"));
  if (!known && !(seen.method == "GET" && EndsWith(path, "/models"))) {
    return ProviderError(dialect, 404, "fake upstream: no route for " + seen.method + " " + path);
  }
  if (s.status_override != 0) {
    return ProviderError(dialect, s.status_override, "fake upstream: scripted error");
  }
  if (!post) {
    json m = {{"id", "fake-model-1"},
              {"object", "model"},
              {"type", "model"},
              {"display_name", "Fake Model 1"},
              {"owned_by", "reins-fake-upstream"}};
    return JsonReply({{"object", "list"}, {"data", {m}}, {"has_more", false}});
  }
  json req = json::parse(seen.body, nullptr, false);
  if (!req.is_object())
    return ProviderError(dialect, 400, "fake upstream: the body is not a JSON object");
  std::string model =
      req.contains("model") && req["model"].is_string() ? req["model"].get<std::string>() : "";
  if (gemini) {
    size_t colon = path.rfind(':');
    model = path.substr(models + 8, colon - models - 8);
  }
  Call c{s, req, model, std::to_string(number), IsTrue(req, "stream")};
  if (gemini) {
    c.stream = EndsWith(path, ":streamGenerateContent");
    return Gemini(c, query.find("alt=sse") != std::string::npos);
  }
  if (EndsWith(path, "/count_tokens")) {
    const auto& t = s.tokens;
    return JsonReply({{"input_tokens", t.input + t.cache_read + t.cache_creation}});
  }
  if (dialect == Dialect::kAnthropic) return Anthropic(c);
  if (EndsWith(path, "/chat/completions")) return OpenAiChat(c);
  return OpenAiResponses(c);
}

}  // namespace

struct FakeUpstream::Impl {
  // Sockets need an io_context, but nobody runs it: every call blocks, on the
  // acceptor's thread or its connection's own.
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<ssl::context> tls;
  int port = 0;
  std::string ca_file;

  mutable std::mutex mu;
  mutable std::condition_variable cv;  // stopping, streams_cut
  bool stopping = false;
  Script script;
  std::vector<Seen> requests;
  uint64_t answered = 0;
  int streams_cut = 0;
  // Connections still open: their descriptors, shut down to stop them.
  std::map<uint64_t, int> fds;
  std::map<uint64_t, std::thread> threads;
  std::vector<uint64_t> finished;  // threads that returned, to join
  std::thread acceptor_thread;

  void AcceptLoop();
  void Serve(uint64_t id, tcp::socket socket);
  template <class Stream>
  void Converse(Stream& stream, int fd);
  template <class Stream>
  bool WriteStream(Stream& stream, int fd, const http::request<http::string_body>& req,
                   const Reply& reply, std::chrono::milliseconds delay);
  bool Cut() {
    std::lock_guard lock(mu);
    ++streams_cut;
    cv.notify_all();
    return false;
  }
};

void FakeUpstream::Impl::AcceptLoop() {
  for (uint64_t next = 1;; ++next) {
    tcp::socket socket(ioc);
    beast::error_code ec;
    acceptor.accept(socket, ec);
    std::unique_lock lock(mu);
    for (uint64_t id : finished) {
      threads[id].join();
      threads.erase(id);
    }
    finished.clear();
    if (stopping) return;
    if (ec) {  // out of descriptors, say: wait for connections to end
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    fds[next] = socket.native_handle();
    threads[next] =
        std::thread([this, next, s = std::move(socket)]() mutable { Serve(next, std::move(s)); });
  }
}

void FakeUpstream::Impl::Serve(uint64_t id, tcp::socket socket) {
  beast::error_code ec;
  // Events are small writes; Nagle would hold each until the last is acked.
  socket.set_option(tcp::no_delay(true), ec);
  int fd = socket.native_handle();
  if (tls) {
    beast::ssl_stream<tcp::socket&> stream(socket, *tls);
    stream.handshake(ssl::stream_base::server, ec);
    if (!ec) Converse(stream, fd);
  } else {
    Converse(socket, fd);
  }
  // Forgotten before it closes: the descriptor's number may be reused at once.
  std::lock_guard lock(mu);
  fds.erase(id);
  socket.close(ec);
  finished.push_back(id);
}

template <class Stream>
void FakeUpstream::Impl::Converse(Stream& stream, int fd) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(1 << 20);
    parser.body_limit(uint64_t{1} << 30);
    beast::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec) {
      // A malformed request gets a 400 naming its fault, as a real server
      // sends; a client that left (end of stream, a reset) gets nothing.
      if (ec != http::error::end_of_stream &&
          ec.category() == http::make_error_code(http::error::bad_target).category()) {
        http::response<http::string_body> res{http::status::bad_request, 11};
        res.set(http::field::content_type, "application/json");
        res.keep_alive(false);
        res.body() =
            json{{"error", {{"message", "fake upstream: malformed request: " + ec.message()}}}}
                .dump();
        res.prepare_payload();
        http::write(stream, res, ec);
      }
      return;
    }
    http::request<http::string_body> req = parser.release();
    Seen seen{std::string(req.method_string()), std::string(req.target()), {}, req.body()};
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string& value = seen.headers[name];
      value += (value.empty() ? "" : ", ") + std::string(field.value());
    }
    Script now;
    uint64_t number = 0;
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      requests.push_back(seen);
      now = script;
      number = ++answered;
    }
    Reply reply;
    try {
      reply = Answer(seen, now, number);
    } catch (const std::exception& e) {  // a script JSON cannot carry, say
      reply = JsonReply({{"error", {{"message", std::string("fake upstream: ") + e.what()}}}}, 500);
    }
    if (reply.streamed) {
      if (!WriteStream(stream, fd, req, reply, now.chunk_delay)) return;
    } else {
      http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
      res.set(http::field::content_type, reply.content_type);
      res.keep_alive(req.keep_alive());
      res.body() = std::move(reply.body);
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec) return;
    }
    if (!req.keep_alive()) return;
  }
}

// Writes the events as chunks, one write each; false when the connection
// cannot go on (the client left, the server stops).
template <class Stream>
bool FakeUpstream::Impl::WriteStream(Stream& stream, int fd,
                                     const http::request<http::string_body>& req,
                                     const Reply& reply, std::chrono::milliseconds delay) {
  http::response<http::empty_body> res{static_cast<http::status>(reply.status), req.version()};
  res.set(http::field::content_type, reply.content_type);
  res.set(http::field::cache_control, "no-cache");
  res.keep_alive(req.keep_alive());
  res.chunked(true);
  http::response_serializer<http::empty_body> serializer{res};
  beast::error_code ec;
  http::write_header(stream, serializer, ec);
  if (ec) return Cut();
  for (size_t i = 0; i < reply.events.size(); ++i) {
    if (i > 0 && delay.count() > 0) {
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, delay, [&] { return stopping; })) {
        lock.unlock();
        return Cut();
      }
    }
    // A write after the peer closed still succeeds once (the kernel takes
    // it; the peer's reset comes later), so look for its end of file first.
    char probe;
    ssize_t peek = ::recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peek == 0 || (peek < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return Cut();
    asio::write(stream, http::make_chunk(asio::buffer(reply.events[i])), ec);
    if (ec) return Cut();
  }
  asio::write(stream, http::make_chunk_last(), ec);
  return !ec;
}

FakeUpstream::FakeUpstream() : FakeUpstream(Options{}, Script{}) {}

FakeUpstream::FakeUpstream(Options options) : FakeUpstream(options, Script{}) {}

FakeUpstream::FakeUpstream(Options options, Script script) : impl_(std::make_unique<Impl>()) {
  impl_->script = std::move(script);
  if (options.tls) {
    auto [cert, key] = MakeCertificate();
    impl_->tls.emplace(ssl::context::tls_server);
    impl_->tls->use_certificate(asio::buffer(cert), ssl::context::pem);
    impl_->tls->use_private_key(asio::buffer(key), ssl::context::pem);
    std::string path = (std::filesystem::temp_directory_path() / "reins-fake-upstream-XXXXXX.pem");
    int fd = ::mkstemps(path.data(), 4);
    if (fd < 0) Fail("cannot create " + path);
    bool written = ::write(fd, cert.data(), cert.size()) == static_cast<ssize_t>(cert.size());
    ::close(fd);
    impl_->ca_file = path;
    if (!written) Fail("cannot write " + path);
  }
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->acceptor_thread = std::thread([this] { impl_->AcceptLoop(); });
}

FakeUpstream::~FakeUpstream() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    for (const auto& [id, fd] : impl_->fds) ::shutdown(fd, SHUT_RDWR);
    impl_->cv.notify_all();
  }
  // On Linux this wakes the accept() blocked on the listening socket.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->acceptor_thread.join();
  std::map<uint64_t, std::thread> threads;
  {
    std::lock_guard lock(impl_->mu);
    threads.swap(impl_->threads);
  }
  for (auto& [id, thread] : threads) thread.join();
  if (!impl_->ca_file.empty()) std::remove(impl_->ca_file.c_str());
}

std::string FakeUpstream::url() const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port);
}

int FakeUpstream::port() const { return impl_->port; }

const std::string& FakeUpstream::ca_file() const { return impl_->ca_file; }

void FakeUpstream::set_script(Script script) {
  std::lock_guard lock(impl_->mu);
  impl_->script = std::move(script);
}

FakeUpstream::Script FakeUpstream::script() const {
  std::lock_guard lock(impl_->mu);
  return impl_->script;
}

std::vector<FakeUpstream::Seen> FakeUpstream::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

void FakeUpstream::clear_requests() {
  std::lock_guard lock(impl_->mu);
  impl_->requests.clear();
}

int FakeUpstream::streams_cut() const {
  std::lock_guard lock(impl_->mu);
  return impl_->streams_cut;
}

bool FakeUpstream::WaitForStreamsCut(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->streams_cut >= n; });
}

}  // namespace reins::testing
