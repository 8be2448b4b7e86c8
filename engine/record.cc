#include "engine/record.h"

#include <array>

#include "engine/names.h"

namespace reins {

namespace {
constexpr std::array<std::string_view, 7> kKindNames = {
    "event", "decision", "state", "approval", "child_cost", "note", "config"};
}  // namespace

std::string_view RecordKindName(RecordKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

std::optional<RecordKind> RecordKindFromName(std::string_view name) {
  auto i = IndexOfName(kKindNames, name);
  return i ? std::optional<RecordKind>(static_cast<RecordKind>(*i)) : std::nullopt;
}

std::string Record::CanonicalForm() const {
  // Built by hand in key order to avoid copying the body into a new object.
  std::string out = "{\"body\":";
  out += body_text.empty() ? CanonicalJson(body) : body_text;
  out += ",\"kind\":\"";
  out += RecordKindName(kind);
  out += "\",\"seq\":";
  out += std::to_string(seq);
  out += ",\"session\":";
  out += CanonicalJson(Json(session));
  out += ",\"ts\":\"";
  out += FormatRfc3339(ts);
  out += "\"}";
  return out;
}

std::string ChainHash(std::string_view prev_hash, const Record& record) {
  Sha256 h;
  h.Update(prev_hash);
  h.Update(record.CanonicalForm());
  return h.HexDigest();
}

void Record::Seal(std::string_view prev_hash) {
  if (body_text.empty()) body_text = CanonicalJson(body);
  hash = ChainHash(prev_hash, *this);
}

Json Record::ToJson() const {
  return {{"session", session},      {"seq", seq},   {"kind", RecordKindName(kind)},
          {"ts", FormatRfc3339(ts)}, {"body", body}, {"hash", hash}};
}

}  // namespace reins
