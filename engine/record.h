// Records of the session log and the hash chain that links them.
//
// A session's log is a sequence of records numbered 1, 2, 3, ... (`seq`).
// Each record is one of these kinds, with a JSON body:
//
//   event      the canonical event exactly as evaluated (seq and ts stamped)
//   decision   the engine's answer to the event just before it:
//              {"event_seq", "verdict", "reason"?, "policies", "results",
//               "patch"?, "approval_id"?, "digest", "cost"?}
//   state      state updates that took effect:
//              {"cause_seq", "updates": [{"policy", "op", "key", "value"?}]}
//   approval   {"op": "requested", "id", "event_seq", "policies", "reason",
//               "expires_at", "withheld": [updates]}
//              {"op": "resolved", "id", "approved", "by"?, "note"?, "event_seq"}
//              {"op": "expired", "id"}
//   child_cost spend of a descendant session, rolled up into each ancestor:
//              {"child", "model", "cost_usd", "tokens"}
//   note       something worth auditing that changes no state (a policy
//              failure, a script's log line): {"source", "message"}
//   config     a change of policy configuration; each key present replaces
//              the session's value of that key: {"session_policies":
//              {NAME: ENTRY, ...}, "agent_spec": {name, policies}, "by",
//              "change"}. The reserved session "reins:server" holds the
//              server policies managed through the API ("server_policies").
//
// The chain: hash(r) = SHA-256(hex(hash(previous record)) || canonical(r)),
// where the previous hash of record 1 is 64 "0" characters and canonical(r)
// is the canonical JSON (see canonical_json.h) of
//   {"body": ..., "kind": "...", "seq": N, "session": "...", "ts": "RFC 3339"}.
// Hashes are lowercase hex. Changing, removing or reordering any record
// breaks every hash from that record on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/canonical_json.h"
#include "engine/clock.h"

namespace reins {

enum class RecordKind : uint8_t {
  kEvent,
  kDecision,
  kState,
  kApproval,
  kChildCost,
  kNote,
  kConfig
};

std::string_view RecordKindName(RecordKind kind);
std::optional<RecordKind> RecordKindFromName(std::string_view name);

inline const std::string kGenesisHash(64, '0');

struct Record {
  std::string session;
  int64_t seq = 0;
  RecordKind kind = RecordKind::kEvent;
  TimeUs ts = 0;
  Json body;
  // Canonical JSON of `body`, exactly the bytes stored and hashed. Seal fills
  // it; the store fills it when reading, so verification hashes stored bytes.
  std::string body_text;
  std::string hash;  // filled by Seal

  // The canonical JSON that the hash covers.
  std::string CanonicalForm() const;

  // Fills body_text (if empty) and computes `hash` given the previous hash.
  void Seal(std::string_view prev_hash);

  // The whole record as JSON (the form the API and `audit export` show).
  Json ToJson() const;
  // The inverse of ToJson (body_text left empty). InvalidArgument naming the
  // field that is missing or malformed.
  static Result<Record> FromJson(const Json& j);
};

std::string ChainHash(std::string_view prev_hash, const Record& record);

// ChainHash for one session's stored records, one after another: what
// verifying a whole log does millions of times. The session's canonical
// JSON is computed once and one buffer is reused.
class ChainHasher {
 public:
  explicit ChainHasher(std::string_view session);
  // ChainHash(prev_hash, r) for the record r with these fields and
  // body_text `body`.
  std::string Hash(std::string_view prev_hash, int64_t seq, RecordKind kind, TimeUs ts,
                   std::string_view body);

 private:
  std::string session_json_;
  std::string buf_;
};

}  // namespace reins
