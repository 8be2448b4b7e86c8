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

  // Records and evaluates one event; returns only after the records are
  // durably in the log. InvalidArgument when the event cannot be accepted
  // (an approval with nothing pending, a parent cycle); then nothing is
  // recorded. I/O errors also leave the log without the event.
  Result<Decision> Submit(Event event);

  // A copy of a session's current state (loaded from the log if needed).
  Result<SessionState> State(const std::string& session);

  // Folds a session's log from an empty state.
  static Result<SessionState> Fold(LogStore* store, const std::string& session);

  LogStore* store() const { return store_; }

 private:
  struct Slot;
  struct Pending;  // records being built for one Submit

  std::shared_ptr<Slot> GetSlot(const std::string& session);
  Status EnsureLoaded(Slot& slot);
  Result<Decision> TrySubmit(Slot& slot, const Event& event, bool* conflict,
                             std::vector<std::shared_ptr<Slot>>* touched);
  Status ResolveApproval(Slot& slot, const Event& event, Pending* p, Decision* d);
  Status Evaluate(Slot& slot, const Event& event, Pending* p, Decision* d);
  Status CollectAncestors(Slot& slot, const Event& event,
                          std::vector<std::shared_ptr<Slot>>* ancestors);

  LogStore* store_;
  std::shared_ptr<const PriceTable> prices_;
  Clock* clock_;
  EngineOptions options_;
  StoreQueries queries_;

  std::mutex mu_;  // guards slots_ and default_policies_
  std::unordered_map<std::string, std::shared_ptr<Slot>> slots_;
  std::shared_ptr<const PolicySet> default_policies_;
};

}  // namespace reins
