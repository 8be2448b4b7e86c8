// The engine's per-session bookkeeping, shared by engine.cc (Submit) and
// engine_sessions.cc (loading, snapshots, configuration, expiry).
#pragma once

#include "engine/engine.h"

namespace reins {

struct Engine::Slot {
  explicit Slot(std::string id) : state(std::move(id)) {}
  std::mutex mu;
  bool loaded = false;
  SessionState state;
  std::shared_ptr<const PolicySet> policies;  // set by SetSessionPolicies; null: none
  // The resolver's answer, valid while the generation and the session's
  // config record are those it was computed for.
  std::shared_ptr<const PolicySet> resolved;
  uint64_t resolved_generation = 0;
  int64_t resolved_config_seq = -1;
  int64_t snapshot_seq = 0;  // seq of the last snapshot saved or loaded
  uint64_t last_used = 0;    // Engine::use_clock_ when last looked up; guarded by Engine::mu_
};

// Records being built for one session during a Submit: a cursor over the
// session's chain so each new record is sealed onto the previous one.
struct Engine::Pending {
  Pending(const SessionState& s)
      : session(s.id), next_seq(s.last_seq + 1), prev_hash(s.last_hash) {}

  int64_t Add(RecordKind kind, TimeUs ts, Json body) {
    Record r;
    r.session = session;
    r.seq = next_seq++;
    r.kind = kind;
    r.ts = ts;
    r.body = std::move(body);
    r.Seal(prev_hash);
    prev_hash = r.hash;
    records.push_back(std::move(r));
    return records.back().seq;
  }

  std::string session;
  int64_t next_seq;
  std::string prev_hash;
  std::vector<Record> records;
  Json cost;  // the event's priced cost, when it has one
};

}  // namespace reins
