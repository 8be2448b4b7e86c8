#include "cli/server_client.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "server/settings.h"

namespace reins {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

std::string ServerAddress(const ClientOptions& o) {
  if (!o.server.empty()) return o.server;
  std::string env = Env("REINS_SERVER");
  return env.empty() ? "http://127.0.0.1:6767" : env;
}

Result<std::string> ClientToken(const ClientOptions& o, const std::string& default_file) {
  std::string token = Env("REINS_TOKEN");
  if (!token.empty()) return token;
  std::string file = !o.token_file.empty()              ? o.token_file
                     : !Env("REINS_TOKEN_FILE").empty() ? Env("REINS_TOKEN_FILE")
                                                        : DefaultTokenDir() + "/" + default_file;
  std::ifstream in(file);
  if (!in || !std::getline(in, token) || token.empty()) {
    return Status::NotFound("no token: set REINS_TOKEN or REINS_TOKEN_FILE, or create " + file);
  }
  return token;
}

std::string PathSegment(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_.~:", c)) {
      out += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

}  // namespace reins
