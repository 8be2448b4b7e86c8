// The policy interface: what a policy is given, what it may answer, and how it
// describes itself to configuration.
//
// A policy sees one event and a read-only view of its session's state, and
// answers nothing ("no opinion") or a PolicyResult: allow, deny, ask (pause
// for a person) or modify (a JSON merge patch on the event), with a reason and
// state updates. Policies never write state: the engine records their updates
// in the log and applies them according to the composition rules
// (docs/architecture.md, "Composition").
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/canonical_json.h"
#include "engine/event.h"
#include "engine/status.h"

namespace reins {

class SessionView;

enum class Verdict : uint8_t { kAllow, kDeny, kAsk, kModify };
std::string_view VerdictName(Verdict v);
std::optional<Verdict> VerdictFromName(std::string_view name);

// One change to a policy's key-value store.
//   set:       key = value
//   increment: key = (key or 0) + value            (value: number)
//   delete:    key is removed
//   append:    key = (key or []) + [value]
// The store is the session's (the default) or, with Scope::kUser, the one
// shared by every session of the session's user (e.g. a daily budget's
// approvals); both are written through the log.
struct StateUpdate {
  enum class Op : uint8_t { kSet, kIncrement, kDelete, kAppend };
  enum class Scope : uint8_t { kSession, kUser };
  Op op = Op::kSet;
  std::string key;
  Json value;
  Scope scope = Scope::kSession;

  static StateUpdate Set(std::string key, Json value) {
    return {Op::kSet, std::move(key), std::move(value)};
  }
  static StateUpdate Increment(std::string key, Json by) {
    return {Op::kIncrement, std::move(key), std::move(by)};
  }
  static StateUpdate Delete(std::string key) { return {Op::kDelete, std::move(key), nullptr}; }
  static StateUpdate Append(std::string key, Json value) {
    return {Op::kAppend, std::move(key), std::move(value)};
  }

  // Scoped to the session's user instead of the session.
  StateUpdate&& ForUser() && {
    scope = Scope::kUser;
    return std::move(*this);
  }

  Json ToJson() const;  // {"op": "...", "key": "...", "value": ..., "scope": "user"?}
  static Result<StateUpdate> FromJson(const Json& j);
};

std::string_view StateOpName(StateUpdate::Op op);

// Applies `update` to a key-value store (a JSON object; created if null).
// Increments keep integers integral; append turns a non-list into a list.
void ApplyStateUpdate(const StateUpdate& update, Json* store);

// A policy's answer.
struct PolicyResult {
  Verdict verdict = Verdict::kAllow;
  std::string reason;
  Json patch;  // kModify only: JSON merge patch applied to the event
  std::vector<StateUpdate> updates;
  // kAsk: the kind of action asked about, which an approval's grant covers
  // ("git push", "threshold"). Empty: the event type and tool
  // ("tool_call:Bash").
  std::string kind;

  static PolicyResult Allow(std::string reason = {}) {
    return Make(Verdict::kAllow, std::move(reason));
  }
  static PolicyResult Deny(std::string reason) { return Make(Verdict::kDeny, std::move(reason)); }
  static PolicyResult Ask(std::string reason) { return Make(Verdict::kAsk, std::move(reason)); }
  static PolicyResult Modify(Json patch, std::string reason) {
    PolicyResult r = Make(Verdict::kModify, std::move(reason));
    r.patch = std::move(patch);
    return r;
  }
  PolicyResult&& With(StateUpdate u) && {
    updates.push_back(std::move(u));
    return std::move(*this);
  }

 private:
  static PolicyResult Make(Verdict v, std::string reason) {
    PolicyResult r;
    r.verdict = v;
    r.reason = std::move(reason);
    return r;
  }
};

// What Evaluate returns: no opinion (nullopt), an answer, or a failure.
using EvalResult = Result<std::optional<PolicyResult>>;

class Policy {
 public:
  virtual ~Policy() = default;

  // Evaluates `event` (already patched by earlier policies' modifies) against
  // the session as it was before this event. Must depend only on its inputs
  // and parameters: no clock, no randomness, no I/O beyond `session`'s
  // queries, so that replaying a log reproduces its decisions. May be called
  // concurrently for different sessions. A returned error Status is a policy
  // failure, which the engine turns into a deny unless configured otherwise.
  virtual EvalResult Evaluate(const Event& event, const SessionView& session) const = 0;

  // Extra bytes that identify this policy's behaviour beyond its type and
  // parameters (a script's SHA-256); part of the policy-set digest.
  virtual std::string SourceDigest() const { return {}; }
};

// --- Parameters -----------------------------------------------------------

enum class ParamType : uint8_t {
  kString,
  kNumber,
  kInteger,
  kBoolean,
  kStringList,
  kNumberList,
  kList,  // a list of any JSON values
  kObject,
  kAny,
};
std::string_view ParamTypeName(ParamType t);

struct ParamSpec {
  ParamSpec(std::string name, ParamType type, Json default_value, bool required,
            std::string description, std::vector<std::string> choices = {})
      : name(std::move(name)),
        type(type),
        default_value(std::move(default_value)),
        required(required),
        description(std::move(description)),
        choices(std::move(choices)) {}

  std::string name;
  ParamType type = ParamType::kString;
  Json default_value;  // null: no default
  bool required = false;
  std::string description;
  std::vector<std::string> choices;  // kString only: allowed values, matched case-insensitively

  Json ToJson() const;
};
using ParamSchema = std::vector<ParamSpec>;

struct ParamError {
  std::string param;  // empty when the error concerns the parameter set as a whole
  std::string message;
};

// Checks `given` (a JSON object) against `schema`: unknown parameters,
// missing required ones and wrong types are errors. On success returns the
// parameters with defaults filled in; string choices are normalized to the
// spelling in the schema.
Result<Json> ValidateParams(const ParamSchema& schema, const Json& given,
                            std::vector<ParamError>* errors);

// --- Policy types and the registry ------------------------------------------

// Everything configuration needs to know about one kind of policy.
struct PolicyType {
  std::string name;
  std::string description;
  EventTypeSet events;
  ParamSchema params;
  // Validated parameters (defaults filled) in, a policy instance out. May
  // still reject combinations the schema cannot express (e.g. "at least one
  // of a, b"), naming the parameter in the ParamError.
  std::function<Result<std::shared_ptr<const Policy>>(const Json& params,
                                                      std::vector<ParamError>* errors)>
      create;

  Json ToJson() const;  // name, description, events, params
};

}  // namespace reins
