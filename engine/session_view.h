// SessionView: the read-only view of a session that a policy evaluates against.
//
// It wraps the session's state as it was before the current event, scoped to
// one policy's key-value store, plus queries that need the log (cross-session
// spend, event history) through a QueryContext the engine provides. Time is
// the event's `ts`, never the wall clock.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event.h"
#include "engine/log_store.h"
#include "engine/pricing.h"
#include "engine/record.h"
#include "engine/session_state.h"

namespace reins {

struct EventQuery {
  std::string type;   // event type name; empty: any
  std::string tool;   // tool name; empty: any
  int64_t since = 0;  // only seq > since
  int64_t limit = 0;  // 0: the context's maximum
};

// Log-backed queries, implemented by the engine over its LogStore.
class QueryContext {
 public:
  virtual ~QueryContext() = default;
  // Own spend of `user` across all sessions on the UTC day `day`.
  virtual Result<double> UserSpend(std::string_view user, std::string_view day) const = 0;
  // A user-scoped value of policy `policy` (its state key); null when unset.
  virtual Result<Json> UserValue(std::string_view user, std::string_view policy,
                                 std::string_view key) const = 0;
  // Event records of `session` matching `query`, oldest first, bounded.
  virtual Status Events(std::string_view session, const EventQuery& query,
                        const std::function<bool(const Record&)>& fn) const = 0;
};

// The QueryContext of a LogStore: what the engine hands to policies.
class StoreQueries : public QueryContext {
 public:
  // At most `max_records` records per Events() call.
  StoreQueries(LogStore* store, int64_t max_records) : store_(store), max_records_(max_records) {}
  Result<double> UserSpend(std::string_view user, std::string_view day) const override;
  Result<Json> UserValue(std::string_view user, std::string_view policy,
                         std::string_view key) const override;
  Status Events(std::string_view session, const EventQuery& query,
                const std::function<bool(const Record&)>& fn) const override;

 private:
  LogStore* store_;
  int64_t max_records_;
};

class SessionView {
 public:
  // Notes a policy logs while evaluating (at most kMaxNotes, each cut at
  // kMaxNoteBytes) are recorded in the session log as `note` records.
  static constexpr size_t kMaxNotes = 16;
  static constexpr size_t kMaxNoteBytes = 2048;

  SessionView(const SessionState& state, const Event& event, std::string_view state_key,
              const PriceTable* prices, const QueryContext* queries,
              std::vector<std::string>* notes = nullptr)
      : state_(state),
        event_(event),
        state_key_(state_key),
        prices_(prices),
        queries_(queries),
        notes_(notes) {}

  const SessionState& state() const { return state_; }
  const std::string& id() const { return state_.id; }
  const std::string& user() const { return state_.user; }
  const std::string& agent() const { return state_.agent; }
  const std::string& harness() const { return state_.harness; }

  // The model in effect for this event: its own `model` field if it has
  // one, otherwise the last model the session saw.
  std::string_view model() const {
    std::string_view m = event_.model();
    return m.empty() ? std::string_view(state_.model) : m;
  }

  // Session spend so far in USD, including descendant sessions.
  double cost_usd() const { return state_.cost_usd; }

  // This policy's stored value for `key`; nullptr when unset.
  const Json* Get(std::string_view key) const { return state_.PolicyValue(state_key_, key); }
  double GetNumber(std::string_view key, double fallback = 0) const {
    const Json* v = Get(key);
    return v && v->is_number() ? v->get<double>() : fallback;
  }
  bool GetBool(std::string_view key) const {
    const Json* v = Get(key);
    return v && v->is_boolean() && v->get<bool>();
  }
  // This policy's whole store (a JSON object), or nullptr while it is empty.
  // For extensions that hand the store over as one value (Lua's
  // `session.state`); still scoped to this policy.
  const Json* Store() const {
    auto it = state_.policy_state.find(state_key_);
    return it == state_.policy_state.end() ? nullptr : &it->second;
  }

  // This policy's user-scoped value for `key` (shared by all sessions of the
  // session's user); null when unset. Fails without a QueryContext.
  Result<Json> GetUserValue(std::string_view key) const {
    if (!queries_) return Status::FailedPrecondition("no log to read user state from");
    return queries_->UserValue(state_.user, state_key_, key);
  }

  // The session user's own spend on the UTC day of this event, across all
  // their sessions (this session's included).
  Result<double> UserSpendToday() const {
    if (!queries_) return Status::FailedPrecondition("no log to read user spend from");
    return queries_->UserSpend(state_.user, UtcDay(event_.ts()));
  }

  // The event's time (the engine stamps events that arrive without one).
  TimeUs now() const { return event_.ts(); }

  const PriceTable* prices() const { return prices_; }
  const QueryContext* queries() const { return queries_; }

  // Records an audit note for this evaluation (dropped beyond the limits).
  void Log(std::string message) const {
    if (!notes_ || notes_->size() >= kMaxNotes) return;
    if (message.size() > kMaxNoteBytes) {
      size_t cut = kMaxNoteBytes;
      while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
      message = message.substr(0, cut) + "...";
    }
    notes_->push_back(std::move(message));
  }

 private:
  const SessionState& state_;
  const Event& event_;
  std::string_view state_key_;
  const PriceTable* prices_;
  const QueryContext* queries_;
  std::vector<std::string>* notes_;
};

}  // namespace reins
