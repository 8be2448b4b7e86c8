// How the commands that talk to a running server find it and authenticate.
#pragma once

#include <string>

#include "engine/status.h"

namespace reins {

struct ClientOptions {
  std::string server, token_file;
};

// --server, else $REINS_SERVER, else http://127.0.0.1:6767.
std::string ServerAddress(const ClientOptions& o);

// `text` made safe as one segment of a URL path (RFC 3986 percent-encoding
// of everything but unreserved characters and ':').
std::string PathSegment(const std::string& text);

// $REINS_TOKEN, else the first line of the token file: --token-file, else
// $REINS_TOKEN_FILE, else `default_file` in the default token directory.
Result<std::string> ClientToken(const ClientOptions& o, const std::string& default_file);

}  // namespace reins
