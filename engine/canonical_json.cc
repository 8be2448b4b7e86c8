#include "engine/canonical_json.h"

// SHA-256 through OpenSSL's direct functions rather than EVP: EVP's first
// use loads the provider machinery (about a millisecond, paid by every
// short-lived `reins hook` process) and allocates a context per hash.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace reins {

std::string CanonicalJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

namespace {
// Thrown from the parser's callback to stop at the first level too deep.
struct TooDeep {};
}  // namespace

Result<Json> ParseJsonBounded(std::string_view text, int max_depth) {
  try {
    Json::parser_callback_t guard = [max_depth](int depth, Json::parse_event_t, Json&) {
      if (depth > max_depth) throw TooDeep{};
      return true;
    };
    return Json::parse(text.begin(), text.end(), guard);
  } catch (const TooDeep&) {
    return Status::InvalidArgument("JSON nests deeper than " + std::to_string(max_depth) +
                                   " levels");
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(std::string("malformed JSON: ") + e.what());
  }
}

Sha256::Sha256() : ctx_(new SHA256_CTX) { SHA256_Init(static_cast<SHA256_CTX*>(ctx_)); }

Sha256::~Sha256() { delete static_cast<SHA256_CTX*>(ctx_); }

void Sha256::Update(std::string_view bytes) {
  SHA256_Update(static_cast<SHA256_CTX*>(ctx_), bytes.data(), bytes.size());
}

std::string Sha256::HexDigest() {
  unsigned char md[SHA256_DIGEST_LENGTH];
  unsigned int len = SHA256_DIGEST_LENGTH;
  SHA256_Final(md, static_cast<SHA256_CTX*>(ctx_));
  static const char kHex[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned i = 0; i < len; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
  return out;
}

std::string Sha256Hex(std::string_view bytes) {
  Sha256 h;
  h.Update(bytes);
  return h.HexDigest();
}

}  // namespace reins
