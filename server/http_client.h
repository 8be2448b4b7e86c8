// HttpClient: a small blocking HTTP/1.1 client with keep-alive, over TCP or
// a Unix domain socket. The CLI's server commands, the tests and the load
// benchmark use it to talk to a reins server.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "engine/canonical_json.h"
#include "engine/status.h"

namespace reins {

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lowercase
  // The body as JSON (null when it is not JSON).
  Json json() const;
};

class HttpClient {
 public:
  // `address` is "http://HOST:PORT" or "unix:/path/to.sock". Connects lazily
  // and again after the server closes a connection.
  explicit HttpClient(std::string address,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;

  // Sends one request (a JSON body when `body` is not empty) and reads the
  // response. `token` becomes "Authorization: Bearer TOKEN".
  Result<HttpResult> Request(const std::string& method, const std::string& target,
                             const std::string& body = "", const std::string& token = "");

  // Starts a streamed GET (Server-Sent Events): returns the response head;
  // then ReadStream() returns the body as it arrives ("" at its end).
  Result<HttpResult> OpenStream(const std::string& target, const std::string& token = "");
  Result<std::string> ReadStream();

  // Sends raw bytes and reads what comes back until the server closes or
  // `timeout` (for tests of malformed and oversized requests).
  Result<std::string> Raw(const std::string& bytes);

  struct Conn;

 private:
  Status Connect();
  std::string address_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Conn> conn_;
};

}  // namespace reins
