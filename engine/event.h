// Canonical events: what every harness adapter translates its native protocol
// into, and what the session log records. docs/events.md is the reference for
// the schema; this header is its single implementation.
//
// An event is one JSON object with `session` and `type`, optional `ts`
// (RFC 3339), `seq` (assigned by the log; any value given is replaced) and
// `labels` (free object), plus the fields of its type. Validation is strict:
// unknown types, unknown fields, missing required fields and wrong field types
// are rejected with an error that names the field and the expected type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/canonical_json.h"
#include "engine/clock.h"
#include "engine/status.h"

namespace reins {

// Session ids with this prefix are reins' own logs (e.g. "reins:server", the
// history of server policies changed through the API); events cannot use them.
inline constexpr std::string_view kReservedSessionPrefix = "reins:";
inline constexpr std::string_view kServerConfigSession = "reins:server";

enum class EventType : uint8_t {
  kSessionStart,
  kRequest,
  kLlmRequest,
  kLlmResponse,
  kToolCall,
  kToolResult,
  kResponse,
  kCost,
  kApproval,
  kSessionEnd,
};
inline constexpr int kEventTypeCount = 10;

std::string_view EventTypeName(EventType type);
std::optional<EventType> EventTypeFromName(std::string_view name);

// A set of event types, as a bit mask; what a policy declares it handles.
class EventTypeSet {
 public:
  constexpr EventTypeSet() = default;
  constexpr EventTypeSet(std::initializer_list<EventType> types) {
    for (EventType t : types) Add(t);
  }
  static constexpr EventTypeSet All() {
    EventTypeSet s;
    s.bits_ = (1u << kEventTypeCount) - 1;
    return s;
  }
  constexpr void Add(EventType t) { bits_ |= 1u << static_cast<unsigned>(t); }
  constexpr bool Has(EventType t) const { return bits_ & (1u << static_cast<unsigned>(t)); }
  constexpr bool empty() const { return bits_ == 0; }
  Json ToJson() const;  // array of type names, in enum order

 private:
  uint32_t bits_ = 0;
};

// Limits applied when parsing untrusted event JSON.
struct EventLimits {
  size_t max_bytes = 4 << 20;  // one serialized event
  int max_depth = 64;          // nesting of objects and arrays
};

class Event {
 public:
  // Parses one JSON text and validates it. Errors name the field and the
  // expected type, e.g. "field 'tool': expected string, got number".
  static Result<Event> Parse(std::string_view text, const EventLimits& limits = {});

  // Validates an already parsed JSON value (used by the server and by
  // adapters that build events in memory).
  static Result<Event> FromJson(Json value);

  const std::string& session() const { return session_; }
  EventType type() const { return type_; }
  std::string_view type_name() const { return EventTypeName(type_); }
  int64_t seq() const { return seq_; }
  // Microseconds since the epoch; meaningful once has_ts() (the engine stamps
  // events that arrive without one).
  TimeUs ts() const { return ts_; }
  bool has_ts() const { return has_ts_; }

  // The whole event as canonical JSON object (session, type, seq, ts, fields).
  const Json& json() const { return json_; }

  // Field access. Missing fields read as empty string / null / false / 0.
  std::string_view GetString(std::string_view field) const;
  const Json* Get(std::string_view field) const;
  bool GetBool(std::string_view field) const;

  // Convenience for the most used fields.
  std::string_view tool() const { return GetString("tool"); }
  std::string_view model() const { return GetString("model"); }
  std::string_view text() const { return GetString("text"); }
  const Json& input() const;  // tool_call input; an empty object when absent

  // Set by the log when the event is appended / stamped.
  void set_seq(int64_t seq);
  void set_ts(TimeUs ts);

  // Applies a JSON merge patch (RFC 7386) and re-validates the result. The
  // session, type, seq and ts may not be changed by a patch.
  Status ApplyPatch(const Json& patch);

 private:
  Event() = default;
  Status Validate();

  Json json_;
  std::string session_;
  EventType type_ = EventType::kSessionStart;
  int64_t seq_ = 0;
  TimeUs ts_ = 0;
  bool has_ts_ = false;
};

// The JSON merge patch that turns `from` into `to` (objects are diffed key by
// key; a removed key becomes null). Used to report the net effect of several
// policies' patches as one patch.
Json MergePatchDiff(const Json& from, const Json& to);

// A one-line summary of an event (as JSON) for people: the tool and its
// command or path, the model, or the start of the text; at most `max` bytes.
std::string EventSummary(const Json& event, size_t max = 60);

}  // namespace reins
