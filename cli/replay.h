// `reins replay`: recorded sessions re-evaluated against another policy set,
// and what would have changed (docs/audit.md, "Replaying against new
// policies").
//
// The replay never writes to the recorded log: it is opened read-only, and
// the events go through a fresh Engine over a private temporary SQLite file
// (on disk, so memory stays flat however long the log is; SQLite deletes it
// when the replay ends). The replay engine's clock follows the recorded
// times, so the new policies see exactly the times the original run saw.
//
// How the recording is followed:
//   - sessions are fed in recorded order, merged across sessions by record
//     time (so user-wide spend and a tree's rolled-up spend build up as they
//     did), each session's own records strictly in seq order;
//   - config records are applied as recorded; the new layers are the
//     server file, the agent file (else the session's recorded agent spec,
//     else the server file's `agents:` entry) and the session file (else the
//     session's recorded session policies);
//   - a recorded approval answers the replay's ask about the same event (by
//     its new id). When the replay did not ask about that event, there is
//     nothing to answer: the approval is counted as not needed;
//   - a new ask the recording has no answer for (the recording allowed or
//     denied the event) is answered as the recording went: approved when the
//     event went through, denied when it was denied, by "reins replay". The
//     change is marked "paused"; the session carries on as recorded;
//   - a new deny is marked "blocked"; the later events are still fed, as
//     recorded.
//
// Cost that would have been saved: a turn is a session's events from one
// `request` to the next (or to the session's end). In a turn where the new
// policies first block an event more strongly than the recording did (deny
// over ask or allow, ask over allow or modify), the spend the recording
// went on to incur in that session's turn after that event (its
// llm_response and cost events, as recorded) counts as saved, once, for the
// policies that decided that event.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/config.h"
#include "engine/engine.h"
#include "engine/log_store.h"

namespace reins {

// The policy set to replay against.
struct ReplayLayers {
  std::shared_ptr<const ServerConfig> server;
  std::optional<PolicyLayer> agent;    // --agent: replaces every session's agent layer
  std::optional<PolicyLayer> session;  // --session: replaces every session's own layer
};

struct ReplayVerdict {
  std::string verdict;  // allow, deny, ask, modify
  std::string reason;
  std::vector<std::string> policies;
};

// One event whose verdict changes (or, for an events file, that the new
// policies do not allow).
struct ReplayChange {
  std::string session;
  int64_t seq = 0;  // the recorded event's seq (the file's line with --events)
  std::string type;
  std::string summary;               // EventSummary of the event
  std::optional<ReplayVerdict> old;  // none for an events file
  ReplayVerdict now;
  std::string mark;         // the new verdict's effect: blocked, paused, rewritten, passes
  std::string answered_as;  // a new ask answered as the recording went: approved or denied
};

struct ReplayPolicyTotals {
  int64_t asks = 0;    // changes to ask that name this policy
  int64_t denies = 0;  // changes to deny that name this policy
  int64_t lifted = 0;  // its recorded asks and denies that no longer happen
  double saved_usd = 0;
};

struct ReplayTotals {
  int64_t sessions = 0;
  int64_t events = 0;   // events evaluated (approvals not included)
  int64_t changed = 0;  // changes reported
  int64_t approvals_replayed = 0;
  int64_t approvals_unneeded = 0;  // recorded approvals with nothing to answer in the replay
  int64_t asks_answered = 0;       // new asks answered as the recording went
  int64_t not_replayed = 0;        // events the replay engine refused (reported on stderr)
  double saved_usd = 0;            // each window counted once
  std::map<std::string, ReplayPolicyTotals> policies;
};

// Feeds recorded records (or the events of a file) through the new policies.
class Replayer {
 public:
  using ChangeFn = std::function<void(const ReplayChange&)>;
  using WarnFn = std::function<void(const std::string&)>;

  // Opens the private replay log and engine. `on_change` is called for each
  // change as soon as it is known; `warn` for events the replay refuses.
  static Result<std::unique_ptr<Replayer>> Create(ReplayLayers layers, ChangeFn on_change,
                                                  WarnFn warn);
  ~Replayer();

  // One record of the recording, in the session's seq order (sessions may
  // interleave). Errors are the replay log's (I/O), not the recording's.
  Status FeedRecord(const Record& record);
  // The recording of `session` has no more records.
  void EndSession(const std::string& session);

  // One event of an events file, `line` its line number (the change's seq).
  // There is no recorded decision: every verdict other than allow is
  // reported, asks stay pending for the file's approval lines (as in `reins
  // eval`), and an approval with nothing pending is counted as not needed.
  // An event without a time takes the previous event's. InvalidArgument for
  // an event the engine cannot accept.
  Status FeedEvent(Event event, int64_t line);

  const ReplayTotals& totals() const { return totals_; }

 private:
  struct Track;  // what is known of one session's recording so far
  class Observer;
  Replayer() = default;

  Status Replay(Track& track, const Record& event, const Json& old_decision);
  Status ReplayApproval(Track& track, const Event& event, const Json& old_decision);
  Result<Decision> Submit(Event event);
  void Account(Track& track, const ReplayChange& change, double recorded_cost);

  ReplayLayers layers_;
  ChangeFn on_change_;
  WarnFn warn_;
  std::unique_ptr<ManualClock> clock_;
  std::unique_ptr<LogStore> store_;
  std::unique_ptr<Observer> observer_;
  std::unique_ptr<Engine> engine_;
  std::unordered_map<std::string, std::unique_ptr<Track>> tracks_;
  ReplayTotals totals_;
};

// Which sessions a replay reads, in the order their first records were
// written.
struct ReplaySession {
  std::string id;
  TimeUs started_at = 0;
};

// `session` and every session of its tree (its root and the root's
// descendants: their spend rolls up into one another), or with `all` every
// session started at or after `since` (0: all). NotFound naming the session
// when the log has no such session.
Result<std::vector<ReplaySession>> SelectReplaySessions(LogStore* recorded,
                                                        const std::string& session, bool all,
                                                        TimeUs since);

// Streams the records of `sessions` from `recorded` into `replayer`, merged
// by record time (ties: the earlier-started session first). Holds a small
// batch of records per session that has started and not yet ended.
Status ReplayRecorded(LogStore* recorded, const std::vector<ReplaySession>& sessions,
                      Replayer* replayer);

}  // namespace reins
