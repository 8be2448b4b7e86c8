// Engine: records an event, evaluates it, records the decision, answers.
//
// The data flow of one event (docs/architecture.md):
//   1. lock the session (events of one session are handled strictly in order)
//   2. expire pending approvals whose deadline the event's time has passed
//   3. price it (llm_response usage through the PriceTable; cost events)
//   4. evaluate the session's PolicySet against the state before the event
//   5. build the records: event, decision, state updates or a pending
//      approval, policy-failure notes, and child_cost records for ancestors
//   6. seal them into each session's hash chain and append them in one
//      durable transaction; only then fold them into the in-memory state
//      and return the decision.
// If another process appended to one of the sessions first (Conflict), the
// engine reloads those sessions from the log and starts over at step 2.
//
// Approval events do not go through policies: they resolve the named (or the
// most recent) pending approval, applying its withheld state updates when
// approved, and their decision is the person's.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/clock.h"
#include "engine/evaluator.h"
#include "engine/log_store.h"
#include "engine/policy_set.h"
#include "engine/pricing.h"
#include "engine/session_state.h"

namespace reins {

struct EngineOptions {
  TimeUs default_ask_timeout = kDefaultAskTimeout;
  int max_conflict_retries = 16;
  int max_session_depth = 8;         // parent chain length accepted on session_start
  int64_t max_query_records = 1000;  // bound on one policy log query
  // A session's folded state is saved to the store every this many records
  // (0: never), so loading it reads the snapshot and the records after it.
  int64_t snapshot_every = 1000;
  // Sessions kept in memory beyond those in use; the rest reload on demand.
  size_t max_cached_sessions = 10000;
};

// The answer to one event.
struct Decision {
  std::string session;
  int64_t seq = 0;  // seq of the event record
  EventType type = EventType::kSessionStart;
  Verdict verdict = Verdict::kAllow;
  std::string reason;
  std::vector<std::string> policies;
  std::string approval_id;  // ask: the new approval; approval events: the one resolved
  Json patch;               // modify (or ask with a modify pending): net merge patch
  std::string digest;       // policy-set digest that decided

  // {"seq","session","type","verdict","reason"?,"policies","approval_id"?,
  // "patch"?}: as a JSON value, and as the `reins eval` line with its keys in
  // exactly that order.
  Json ToJson() const;
  std::string ToLine() const;
};

// How long the parts of one Submit took, for metrics only: measured with a
// monotonic clock that never reaches evaluation.
struct SubmitTimings {
  int64_t evaluate_ns = 0;  // policies
  int64_t append_ns = 0;    // the durable append (includes waiting for group commit)
};

// Told about every commit. Calls for one session arrive in log order, made
// while the engine holds that session: an observer must be quick (queue,
// count, notify) and must not call back into the engine for that session.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  // `records` were just committed to `session`'s log. `decision` is the
  // answer to the event among them, or null (config records, expiries, spend
  // rolled up from a child).
  virtual void OnCommitted(const std::string& session, const std::vector<Record>& records,
                           const Decision* decision, const SubmitTimings& timings) = 0;
};

// Computes a session's effective policies from its state: its own layer and
// agent spec (config records), the server's layers. Errors fail closed: the
// event is denied and the failure recorded.
using PolicyResolver =
    std::function<Result<std::shared_ptr<const PolicySet>>(const SessionState& state)>;

class Engine {
 public:
  // `store`, `clock` must outlive the engine. `prices` may be shared.
  Engine(LogStore* store, std::shared_ptr<const PriceTable> prices, Clock* clock,
         EngineOptions options = {});
  ~Engine();

  // Policies for sessions that have none of their own. Replacing them takes
  // effect from the next event; events in flight finish with the old set.
  void SetPolicies(std::shared_ptr<const PolicySet> policies);
  // Policies for one session (its session + agent + server layers composed).
  void SetSessionPolicies(const std::string& session, std::shared_ptr<const PolicySet> policies);
  // Instead of the default, ask `resolver` for each session's policies; its
  // answer is cached per session until the session's configuration changes
  // (a config record) or InvalidatePolicies() is called.
  void SetPolicyResolver(PolicyResolver resolver);
  void InvalidatePolicies();
  // The policies the next event of `session` would be evaluated with.
  Result<std::shared_ptr<const PolicySet>> Policies(const std::string& session);

  // Set once, before the first Submit; must outlive the engine.
  void SetObserver(EngineObserver* observer) { observer_ = observer; }

  // Records and evaluates one event; returns only after the records are
  // durably in the log. InvalidArgument when the event cannot be accepted
  // (an approval with nothing pending, a parent cycle); then nothing is
  // recorded. I/O errors also leave the log without the event.
  Result<Decision> Submit(Event event);

  // Submits `start` (a session_start) only if its session has no log yet,
  // also against other processes appending to the same log. nullopt when
  // the session already existed: nothing is recorded then.
  Result<std::optional<Decision>> StartSession(Event start);

  // Appends a config record to `session` (the time from the engine's clock)
  // and returns its seq. `body` keys replace the session's configuration
  // keys (record.h); the caller validates them first.
  Result<int64_t> Configure(const std::string& session, Json body);
  // Appends a note record (worth auditing, changes no state) to `session`.
  Result<int64_t> Note(const std::string& session, const std::string& source,
                       const std::string& message);

  // Records the expiry of every pending approval whose deadline is at or
  // before `now`, as the next event of its session would. Returns how many.
  Result<int> ExpireDue(TimeUs now);

  // A copy of a session's current state (loaded from the log if needed).
  Result<SessionState> State(const std::string& session);

  // How many sessions' states are in memory now (at most
  // max_cached_sessions beyond those in use).
  size_t CachedSessions();

  // Folds a session's log from an empty state.
  static Result<SessionState> Fold(LogStore* store, const std::string& session);

  LogStore* store() const { return store_; }

 private:
  struct Slot;
  struct Pending;  // records being built for one Submit

  std::shared_ptr<Slot> GetSlot(const std::string& session);
  Status EnsureLoaded(Slot& slot);
  Status LoadFromSnapshot(Slot& slot);
  void MaybeSnapshot(Slot& slot);
  Result<std::shared_ptr<const PolicySet>> PoliciesFor(Slot& slot);
  // Appends `records` built by `p` for `slot` outside Submit (config,
  // expiry), folds them in and tells the observer.
  Status Commit(Slot& slot, Pending& p);
  Result<int64_t> AppendRecord(const std::string& session, RecordKind kind, Json body);
  Result<Decision> TrySubmit(Slot& slot, const Event& event, bool* conflict,
                             std::vector<std::shared_ptr<Slot>>* touched);
  Status ResolveApproval(Slot& slot, const Event& event, Pending* p, Decision* d);
  Status Evaluate(Slot& slot, const Event& event, Pending* p, Decision* d);
  Status DenyUnconfigured(const Event& event, const Status& why, Pending* p, Decision* d);
  Status CollectAncestors(Slot& slot, const Event& event,
                          std::vector<std::shared_ptr<Slot>>* ancestors);

  LogStore* store_;
  std::shared_ptr<const PriceTable> prices_;
  Clock* clock_;
  EngineOptions options_;
  StoreQueries queries_;

  std::mutex mu_;  // guards slots_, default_policies_ and resolver_
  std::unordered_map<std::string, std::shared_ptr<Slot>> slots_;
  uint64_t use_clock_ = 0;  // counts lookups: the slots' recency order
  std::shared_ptr<const PolicySet> default_policies_;
  PolicyResolver resolver_;
  std::atomic<uint64_t> policy_generation_{1};
  EngineObserver* observer_ = nullptr;
};

}  // namespace reins
