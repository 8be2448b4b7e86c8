// Policy tests: YAML files of cases that run events through a configuration
// and check the answers, the library part of `reins test` (docs/cli.md,
// "reins test", is the reference for the format).
//
// A test file (NAME.test.yaml):
//
//   server: budget.yaml          # configuration files, relative to this file, as
//   agent: coder.yaml            # `reins eval --server/--agent/--session` takes them;
//   session: mine.yaml           # all optional, and each case may override them
//   clock: 2026-11-20T09:00:00Z  # optional start time for every case
//   cases:
//     - name: asks once spend passes $2     # unique in the file
//       session_id: s1                      # default session of events without one
//       clock: 2026-11-20T09:00:00Z         # default 2026-01-01T00:00:00Z
//       given: [EVENT...] | FILE.jsonl      # submitted first, answers not checked
//       events: [EVENT...] | FILE.jsonl     # submitted and checked
//       expect: {LINE: EXPECTATION, ...}    # only with an events file: by its line
//       otherwise: EXPECTATION              # for every event without its own
//       after: STATE | [STATE...]           # checks on session state afterwards
//
// An inline EVENT is a canonical event (docs/events.md) plus an optional
// `expect: EXPECTATION`. An EXPECTATION is a verdict name, or a mapping of
// `verdict` (required), `reason` (a substring of the reason), `policy` (a
// name or list of names, each among the deciding policies) and `patch` (the
// exact net merge patch). A STATE is a mapping compared as a subset of the
// session's state as SessionState::ToJson() has it (`session` picks the
// session; numbers compare with a relative tolerance of 1e-9).
//
// Every case runs on its own engine over a fresh in-memory SQLite log with a
// ManualClock: an event without `ts` is stamped one second after the
// previous event (or the case's clock); one with `ts` moves the clock there.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/setup.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/event.h"

namespace reins {

// What an event's decision must be.
struct ExpectedDecision {
  Verdict verdict = Verdict::kAllow;
  std::string reason;                 // a substring of the reason; empty: not checked
  std::vector<std::string> policies;  // each among the deciding policies
  std::optional<Json> patch;          // the net merge patch, exactly
  std::string where;                  // "FILE:LINE" of the expectation
};

struct TestEvent {
  Event event;
  std::string label;  // "event 3" (inline) or "event at FILE:LINE" (from a file)
  std::string where;  // "FILE:LINE" where the event is written
  std::optional<ExpectedDecision> expect;
};

// A subset of one session's state that must hold after the events.
struct StateCheck {
  std::string session;
  Json fields;
  std::string where;
};

struct PolicyTestCase {
  std::string file;  // the test file, as it was named
  std::string name;
  int line = 0;
  std::shared_ptr<const LoadedConfig> config;
  TimeUs clock = 0;
  std::vector<TestEvent> given, events;
  std::optional<ExpectedDecision> otherwise;
  std::vector<StateCheck> after;

  // "FILE: NAME", what `reins test --run` matches.
  std::string id() const { return file + ": " + name; }
};

// 2026-01-01T00:00:00Z: the clock of cases that set none, so that a case
// never depends on the day it runs.
inline constexpr TimeUs kDefaultTestClock = 1767225600000000;

// Loads configurations once per distinct set of files (cases usually share
// theirs).
class PolicyTestLoader {
 public:
  // Parses one test file. On any error returns InvalidArgument whose message
  // holds one "FILE:LINE:COLUMN: message" line per problem (a configuration
  // that does not load adds its own file:line:column errors).
  Result<std::vector<PolicyTestCase>> Load(const std::string& path);

  // By the absolute paths of the three files; null when they do not load.
  using ConfigCache = std::map<std::string, std::shared_ptr<const LoadedConfig>>;

 private:
  ConfigCache configs_;
};

struct TestFailure {
  std::string where;          // "FILE:LINE"
  std::string what;           // "event 3 (tool_call Bash ls)", "after, session 's1'", ...
  std::string expected, got;  // both empty when `what` says it all
};

// Runs one case on a fresh engine. Failures of the case are in the result;
// an error is returned only when the engine cannot run at all (the
// in-memory log does not open).
Result<std::vector<TestFailure>> RunPolicyTestCase(const PolicyTestCase& c);

}  // namespace reins
