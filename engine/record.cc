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

namespace {

// The canonical form that the hash covers, built by hand in key order to
// avoid copying the body into a new JSON object.
void AppendCanonical(std::string* out, std::string_view body, RecordKind kind, int64_t seq,
                     std::string_view session_json, TimeUs ts) {
  *out += "{\"body\":";
  *out += body;
  *out += ",\"kind\":\"";
  *out += RecordKindName(kind);
  *out += "\",\"seq\":";
  *out += std::to_string(seq);
  *out += ",\"session\":";
  *out += session_json;
  *out += ",\"ts\":\"";
  *out += FormatRfc3339(ts);
  *out += "\"}";
}

}  // namespace

std::string Record::CanonicalForm() const {
  std::string dumped;
  if (body_text.empty()) dumped = CanonicalJson(body);
  std::string out;
  AppendCanonical(&out, body_text.empty() ? dumped : body_text, kind, seq,
                  CanonicalJson(Json(session)), ts);
  return out;
}

std::string ChainHash(std::string_view prev_hash, const Record& record) {
  Sha256 h;
  h.Update(prev_hash);
  h.Update(record.CanonicalForm());
  return h.HexDigest();
}

ChainHasher::ChainHasher(std::string_view session)
    : session_json_(CanonicalJson(Json(std::string(session)))) {}

std::string ChainHasher::Hash(std::string_view prev_hash, int64_t seq, RecordKind kind, TimeUs ts,
                              std::string_view body) {
  buf_.clear();
  AppendCanonical(&buf_, body, kind, seq, session_json_, ts);
  Sha256 h;
  h.Update(prev_hash);
  h.Update(buf_);
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

Result<Record> Record::FromJson(const Json& j) {
  auto bad = [](const std::string& what) {
    return Status::InvalidArgument("a record needs " + what);
  };
  if (!j.is_object()) return bad("to be a JSON object");
  Record r;
  auto text = [&](const char* key, std::string* out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  std::string kind, ts;
  if (!text("session", &r.session)) return bad("'session' (a string)");
  auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_integer()) return bad("'seq' (an integer)");
  r.seq = seq->get<int64_t>();
  if (!text("kind", &kind) || !RecordKindFromName(kind)) return bad("'kind' (a record kind)");
  r.kind = *RecordKindFromName(kind);
  if (!text("ts", &ts)) return bad("'ts' (an RFC 3339 time)");
  auto t = ParseRfc3339(ts);
  if (!t.ok()) return bad("'ts' (an RFC 3339 time): " + t.status().message());
  r.ts = *t;
  auto body = j.find("body");
  if (body == j.end() || !body->is_object()) return bad("'body' (an object)");
  r.body = *body;
  if (!text("hash", &r.hash)) return bad("'hash' (a string)");
  return r;
}

}  // namespace reins
