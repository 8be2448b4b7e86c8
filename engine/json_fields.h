// Typed reads of one member of a JSON object that may hold anything (a hook's
// input, a harness transcript, a record that was never validated): a member
// that is missing or of another type reads as the fallback. nlohmann's own
// `value()` throws on a type mismatch, which on outside input turns a wrong
// field into a crash.
#pragma once

#include <cstdint>
#include <string>

#include "engine/canonical_json.h"

namespace reins {

inline std::string JsonString(const Json& obj, const char* key, const std::string& fallback = {}) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : fallback;
}

inline int64_t JsonInt(const Json& obj, const char* key, int64_t fallback = 0) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number() ? it->get<int64_t>() : fallback;
}

inline bool JsonBool(const Json& obj, const char* key, bool fallback = false) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

}  // namespace reins
