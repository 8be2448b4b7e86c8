#include "harness-adapters/llm_classifier.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cstdlib>

#include "harness-adapters/llm_api.h"

namespace reins {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

constexpr const char* kInstructions =
    "You sort prompts sent to a coding assistant by how much model they need. Answer with one "
    "word. trivial: a greeting, a short factual question, a one-line change or lookup that a "
    "small model handles as well as a large one. complex: anything that needs reasoning, "
    "design, debugging, several steps, or reading much code.";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<std::unique_ptr<LlmClassifier>> LlmClassifier::Create(ClassifierOptions options,
                                                             UpstreamPool* pool) {
  auto url = UpstreamUrl::Parse("llm", options.base_url);
  if (!url.ok()) return url.status().WithPrefix("llm.base_url");
  if (options.api != "anthropic" && options.api != "openai") {
    return Status::InvalidArgument("llm.api: '" + options.api + "' is not anthropic or openai");
  }
  if (options.model.empty()) return Status::InvalidArgument("llm.model: name the model to ask");
  std::string key;
  if (!options.api_key_env.empty()) {
    const char* v = std::getenv(options.api_key_env.c_str());
    if (!v || !*v) {
      return Status::InvalidArgument("llm.api_key_env: the environment variable " +
                                     options.api_key_env + " is not set");
    }
    key = v;
  }
  UpstreamUrl u = std::move(url).value();
  return std::unique_ptr<LlmClassifier>(
      new LlmClassifier(std::move(options), std::move(u), std::move(key), pool));
}

size_t LlmClassifier::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

asio::awaitable<Json> LlmClassifier::Classify(std::string prompt) {
  if (prompt.size() > options_.max_prompt_chars) prompt.resize(options_.max_prompt_chars);
  std::string hash = Sha256Hex(prompt);
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto hit = cache_.find(hash);
    if (hit != cache_.end()) {
      co_return Json{{"by", "llm"}, {"label", hit->second}, {"model", options_.model}};
    }
    auto quiet = std::chrono::microseconds(options_.retry_after);
    if (!last_error_.empty() && now - failed_at_ < quiet) {
      co_return Json{{"by", "llm"},
                     {"error", "not asked: the last call failed (" + last_error_ + ")"}};
    }
    ++calls_;
  }
  auto answer = co_await Ask(prompt);
  std::string label;
  std::string error;
  if (!answer.ok()) {
    error = answer.status().message();
  } else {
    std::string said = Lower(*answer);
    bool trivial = said.find("trivial") != std::string::npos;
    bool complex = said.find("complex") != std::string::npos;
    if (trivial != complex) {
      label = trivial ? "trivial" : "complex";
    } else {
      error = "the model answered '" + answer->substr(0, 80) + "', not trivial or complex";
    }
  }
  std::lock_guard lock(mu_);
  if (label.empty()) {
    failed_at_ = std::chrono::steady_clock::now();
    last_error_ = error;
    co_return Json{{"by", "llm"}, {"error", error}};
  }
  last_error_.clear();
  if (cache_.emplace(hash, label).second) {
    order_.push_back(hash);
    if (order_.size() > options_.cache_entries) {
      cache_.erase(order_.front());
      order_.pop_front();
    }
  }
  co_return Json{{"by", "llm"}, {"label", label}, {"model", options_.model}};
}

asio::awaitable<Result<std::string>> LlmClassifier::Ask(const std::string& prompt) {
  bool anthropic = options_.api == "anthropic";
  Json body = {{"model", options_.model}, {"max_tokens", 5}, {"temperature", 0}};
  if (anthropic) {
    body["system"] = kInstructions;
    body["messages"] = {{{"role", "user"}, {"content", prompt}}};
  } else {
    body["messages"] = {{{"role", "system"}, {"content", kInstructions}},
                        {{"role", "user"}, {"content", prompt}}};
  }
  http::request<http::string_body> req{
      http::verb::post, url_.base_path + (anthropic ? "/v1/messages" : "/v1/chat/completions"), 11};
  req.set(http::field::host, url_.HostHeader());
  req.set(http::field::content_type, "application/json");
  if (anthropic) {
    req.set("anthropic-version", "2023-06-01");
    if (!key_.empty()) req.set("x-api-key", key_);
  } else if (!key_.empty()) {
    req.set(http::field::authorization, "Bearer " + key_);
  }
  req.keep_alive(true);
  req.body() = body.dump();
  req.prepare_payload();

  auto timeout = std::chrono::microseconds(options_.timeout);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto conn = co_await pool_->Get(url_, timeout);
  if (!conn.ok()) co_return conn.status();
  UpstreamConn& c = **conn;
  c.tcp().expires_at(deadline);
  http::response<http::string_body> res;
  error_code ec;
  if (c.plain) {
    co_await http::async_write(*c.plain, req, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      co_await http::async_read(*c.plain, c.buffer, res,
                                asio::redirect_error(asio::use_awaitable, ec));
    }
  } else {
    co_await http::async_write(*c.tls, req, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      co_await http::async_read(*c.tls, c.buffer, res,
                                asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  std::string where = (url_.tls ? "https://" : "http://") + url_.HostHeader();
  if (ec == beast::error::timeout) {
    co_return Status::IOError(where + " did not answer within " +
                              std::to_string(options_.timeout / 1000) + " ms");
  }
  if (ec) co_return Status::IOError(where + ": " + ec.message());
  c.tcp().expires_never();
  if (res.keep_alive()) pool_->Put(url_, std::move(conn).value());
  if (res.result_int() != 200) {
    co_return Status::IOError(where + " answered HTTP " + std::to_string(res.result_int()));
  }
  Json answer = Json::parse(res.body(), nullptr, false);
  auto facts =
      llm::ReadResponse(anthropic ? llm::Api::kAnthropicMessages : llm::Api::kOpenAiChat, answer);
  if (!facts.ok()) co_return facts.status().WithPrefix(where);
  co_return facts->text;
}

}  // namespace reins
