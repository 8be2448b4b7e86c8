// Helpers the LLM API readers share (llm_api.cc reads requests,
// llm_response.cc answers): lenient field access on JSON whose shape the
// proxy does not control, and text joining and cutting.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/canonical_json.h"

namespace reins::llm::detail {

inline constexpr size_t kMaxText = 4000;

inline const Json& Field(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

inline std::string Str(const Json& j, const char* key) {
  const Json& v = Field(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

inline int64_t Count(const Json& j, const char* key) {
  const Json& v = Field(j, key);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

inline std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

inline std::vector<std::string> Split(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t at; (at = s.find(sep, pos)) != std::string_view::npos; pos = at + sep.size()) {
    out.emplace_back(s.substr(pos, at - pos));
  }
  out.emplace_back(s.substr(pos));
  return out;
}

// Cuts at kMaxText bytes without splitting a UTF-8 sequence.
inline void Truncate(std::string* text) {
  if (text->size() <= kMaxText) return;
  size_t n = kMaxText;
  while (n > 0 && (static_cast<unsigned char>((*text)[n]) & 0xC0) == 0x80) --n;
  text->resize(n);
}

}  // namespace reins::llm::detail
