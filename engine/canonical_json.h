// Canonical JSON and SHA-256: the byte-exact forms that hashes are taken of.
//
// Canonical JSON here is nlohmann::json's compact serialization: object keys
// sorted bytewise (std::map order), no insignificant whitespace, strings in
// UTF-8 with only the escapes JSON requires, numbers in their shortest
// round-trip form. Two processes that hold equal values produce equal bytes,
// which is what the hash chain and the policy-set digest rely on.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace reins {

using Json = nlohmann::json;

std::string CanonicalJson(const Json& value);

// Parses JSON text from outside (a request body, a hook's input, an event)
// that nests objects and arrays at most `max_depth` levels deep. Deeper text
// is refused, not parsed: serializing, hashing and walking a value recurse,
// and a hostile megabyte of '[' would exhaust the stack. Errors are
// InvalidArgument: "malformed JSON: ..." (with the parser's line and column)
// or "JSON nests deeper than N levels".
Result<Json> ParseJsonBounded(std::string_view text, int max_depth);

// Lowercase hex SHA-256 of bytes.
std::string Sha256Hex(std::string_view bytes);

// Incremental SHA-256 for hashing several pieces without concatenating them.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  std::string HexDigest();  // finishes the hash; call once

 private:
  void* ctx_;  // SHA256_CTX*, kept opaque so OpenSSL stays out of this header
};

}  // namespace reins
