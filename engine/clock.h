// Time in reins: microseconds since the Unix epoch, UTC.
//
// Evaluation never reads the wall clock. Time comes from the event's `ts`;
// only when an event arrives without one does the engine stamp it from an
// injected Clock, and the stamp is recorded in the log, so replaying a log
// sees exactly the times the original run saw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace reins {

using TimeUs = int64_t;  // microseconds since 1970-01-01T00:00:00Z

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeUs Now() = 0;
};

// Reads the system's real-time clock. The CLI and the server own one; the
// engine only ever sees the Clock interface.
class SystemClock : public Clock {
 public:
  TimeUs Now() override;
};

// A clock that returns a fixed time, advanced explicitly. For tests and for
// `reins test` cases that set the clock.
class ManualClock : public Clock {
 public:
  explicit ManualClock(TimeUs start) : now_(start) {}
  TimeUs Now() override { return now_; }
  void Advance(TimeUs delta) { now_ += delta; }
  void Set(TimeUs t) { now_ = t; }

 private:
  TimeUs now_;
};

// Parses an RFC 3339 timestamp ("2026-11-21T08:45:00Z", fractional seconds
// and numeric offsets such as "+02:00" accepted; a lowercase "t"/"z" too).
Result<TimeUs> ParseRfc3339(std::string_view text);

// Formats as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (always UTC, microseconds).
std::string FormatRfc3339(TimeUs t);

// "YYYY-MM-DD" of the UTC day containing t.
std::string UtcDay(TimeUs t);

// Parses a duration such as "90s", "15m", "24h", "7d", "1h30m" or a bare
// number of seconds. Used for ask_timeout and similar settings.
Result<TimeUs> ParseDuration(std::string_view text);

}  // namespace reins
