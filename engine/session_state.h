// SessionState: the projection of one session's log that policies read.
//
// It is a pure fold: starting from an empty state and applying every record
// of the log in seq order (Apply) yields the state. The engine keeps it
// incrementally in memory by applying the records it appends; a fresh fold of
// the stored log must produce an equal state (ToJson() compares equal), which
// the property tests check.
//
// Policies see the state as it was before the event they evaluate: effects of
// an event (its cost, its tool-call count) appear from the next event on.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/canonical_json.h"
#include "engine/clock.h"
#include "engine/record.h"
#include "engine/status.h"

namespace reins {

struct TokenCounts {
  int64_t input = 0;
  int64_t output = 0;  // includes reasoning tokens, as providers bill them
  int64_t cache_read = 0;
  int64_t cache_creation = 0;
  int64_t reasoning = 0;  // informational subset of output

  // From an llm_response `usage` object (missing counts are 0).
  static TokenCounts FromUsage(const Json& usage);
  static TokenCounts FromJson(const Json& j);  // inverse of ToJson
  void Add(const TokenCounts& other);
  int64_t total() const { return input + output + cache_read + cache_creation; }
  bool empty() const { return total() == 0 && reasoning == 0; }
  Json ToJson() const;
};

struct ModelTotals {
  double cost_usd = 0;
  TokenCounts tokens;
  int64_t calls = 0;  // priced model calls (llm_response events)
};

struct RecentToolCall {
  int64_t seq = 0;
  std::string tool;
  std::string call_id;
  std::string verdict;  // filled when the decision record is applied
};

struct PendingApproval {
  std::string id;
  int64_t event_seq = 0;
  std::string event_type;
  std::string tool;
  std::vector<std::string> policies;
  std::string reason;
  TimeUs requested_at = 0;
  TimeUs expires_at = 0;
  Json withheld = Json::array();  // state updates that apply if approved
  Json kinds = Json::object();    // asking policy -> the kind of action it asked about
};

// A standing approval: asks of `policy` about `kind` pass until `expires_at`
// (0: for the rest of the session). Created by approving with a grant.
struct Grant {
  std::string approval_id;
  std::string policy;
  std::string kind;
  TimeUs expires_at = 0;
};

struct ResolvedApproval {
  std::string id;
  std::string outcome;  // approved | denied | expired
  std::string by;
  std::vector<std::string> policies;
  TimeUs requested_at = 0;
  TimeUs resolved_at = 0;
};

class SessionState {
 public:
  static constexpr size_t kRecentToolCalls = 32;
  static constexpr size_t kResolvedApprovals = 64;

  explicit SessionState(std::string id) : id(std::move(id)) {}

  // Folds one record in. Records must arrive in seq order without gaps;
  // a record that cannot be interpreted is reported as Corruption.
  Status Apply(const Record& record);

  // Applies one state update ({"policy","op","key","value"}) to the
  // policy key-value store.
  Status ApplyUpdate(const Json& update);

  // This policy's stored value for `key`, or nullptr.
  const Json* PolicyValue(std::string_view policy, std::string_view key) const;

  // The whole state as deterministic JSON, and back (snapshots): FromJson of
  // ToJson gives an equal state.
  Json ToJson() const;
  static Result<SessionState> FromJson(const Json& j);

  // Whether a grant covers an ask of `policy` about `kind` at time `now`.
  const Grant* FindGrant(std::string_view policy, std::string_view kind, TimeUs now) const;

  // --- identity
  std::string id;
  std::string user, agent, harness, model, cwd, parent;
  TimeUs started_at = 0;
  TimeUs last_ts = 0;
  bool ended = false;

  // --- spend (including descendant sessions, through child_cost records)
  double cost_usd = 0;
  double own_cost_usd = 0;
  TokenCounts tokens;
  std::map<std::string, ModelTotals, std::less<>> by_model;
  std::set<std::string, std::less<>> unpriced_models;

  // --- activity
  int64_t turns = 0;  // user requests
  int64_t tool_calls_total = 0;
  std::map<std::string, int64_t, std::less<>> tool_calls;  // attempted calls per tool
  std::deque<RecentToolCall> recent_tool_calls;

  // --- approvals
  std::map<std::string, PendingApproval, std::less<>> pending_approvals;
  std::deque<ResolvedApproval> resolved_approvals;  // the most recent ones
  int64_t approvals_approved = 0, approvals_denied = 0, approvals_expired = 0;
  std::vector<Grant> grants;

  // --- policy key-value stores, by policy state key ("layer:name")
  std::map<std::string, Json, std::less<>> policy_state;

  // --- policy configuration from config records: each key of each record
  // replaces the key here ("session_policies", "agent_spec", ...); `by` and
  // `change` describe the change and are not kept.
  Json config = Json::object();
  int64_t config_seq = 0;  // seq of the latest config record (0: none)

  // --- chain head
  int64_t last_seq = 0;
  std::string last_hash = kGenesisHash;

 private:
  Status ApplyEvent(const Record& record);
  Status ApplyDecision(const Record& record);
  Status ApplyApproval(const Record& record);
  void AddSpend(const std::string& model, double usd, const TokenCounts& tokens, bool own);
};

}  // namespace reins
