#include "engine/evaluator.h"

#include <exception>
#include <optional>

namespace reins {

namespace {

std::string JoinReasons(const std::vector<std::pair<std::string, std::string>>& parts,
                        const char* fallback) {
  std::string out;
  for (const auto& [name, reason] : parts) {
    if (!out.empty()) out += "; ";
    out += name + ": " + (reason.empty() ? fallback : reason);
  }
  return out;
}

// Runs one policy, turning exceptions into errors.
EvalResult RunPolicy(const PolicyEntry& entry, const Event& event, const SessionView& view) {
  try {
    return entry.policy->Evaluate(event, view);
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  }
}

}  // namespace

Evaluation EvaluatePolicies(const PolicySet& set, const Event& original, const SessionState& state,
                            const PriceTable* prices, const QueryContext* queries) {
  Evaluation ev;
  std::optional<Event> patched;  // copied only once a policy modifies the event
  std::vector<std::pair<std::string, std::string>> askers, modifiers, granted;
  std::vector<std::string> allowers;
  bool asked_first = true;

  for (const PolicyEntry& entry : set.entries()) {
    const Event& event = patched ? *patched : original;
    if (!entry.Handles(event)) continue;
    std::string key = entry.state_key();
    std::vector<std::string> notes;
    SessionView view(state, event, key, prices, queries, &notes);
    EvalResult result = RunPolicy(entry, event, view);
    for (std::string& n : notes)
      ev.notes.push_back({{"policy", entry.name}, {"message", std::move(n)}});

    std::string failure;
    if (!result.ok()) {
      failure = result.status().message();
    } else if (result->has_value()) {
      const PolicyResult& r = **result;
      if (r.verdict == Verdict::kModify) {
        Event next = event;
        Status st = r.patch.is_object() && !r.patch.empty()
                        ? next.ApplyPatch(r.patch)
                        : Status::InvalidArgument("modify without a non-empty patch object");
        if (st.ok()) {
          patched = std::move(next);
        } else {
          failure = "invalid modify: " + st.message();
        }
      }
    }
    if (!failure.empty()) {
      std::string message = "policy '" + entry.name + "' failed: " + failure;
      ev.failures.push_back(message);
      ev.results.push_back({{"policy", entry.name}, {"verdict", nullptr}, {"error", failure}});
      if (entry.on_error == OnError::kAllow) continue;
      ev.verdict = Verdict::kDeny;
      ev.reason = message;
      ev.policies = {entry.name};
      return ev;
    }
    if (!result->has_value()) continue;

    PolicyResult& r = **result;
    std::string kind;
    if (r.verdict == Verdict::kAsk) {
      kind = !r.kind.empty() ? r.kind
                             : std::string(event.type_name()) +
                                   (event.tool().empty() ? "" : ":" + std::string(event.tool()));
      if (const Grant* g = state.FindGrant(entry.name, kind, event.ts())) {
        r.verdict = Verdict::kAllow;
        r.reason = "granted by approval " + g->approval_id + ": " + r.reason;
        granted.emplace_back(entry.name, r.reason);
      }
    }
    ev.results.push_back(
        {{"policy", entry.name}, {"verdict", VerdictName(r.verdict)}, {"reason", r.reason}});
    for (const StateUpdate& u : r.updates) {
      Json j = u.ToJson();
      j["policy"] = key;
      ev.updates.push_back(std::move(j));
    }
    switch (r.verdict) {
      case Verdict::kDeny:
        ev.verdict = Verdict::kDeny;
        ev.reason = r.reason.empty() ? "denied by policy '" + entry.name + "'" : r.reason;
        ev.policies = {entry.name};
        ev.patch = patched ? MergePatchDiff(original.json(), patched->json()) : Json();
        return ev;
      case Verdict::kAsk:
        askers.emplace_back(entry.name, r.reason);
        ev.kinds[entry.name] = kind;
        if (asked_first) {
          ev.ask_timeout = entry.ask_timeout;
          asked_first = false;
        }
        break;
      case Verdict::kModify:
        modifiers.emplace_back(entry.name, r.reason);
        break;
      case Verdict::kAllow:
        allowers.push_back(entry.name);
        break;
    }
  }

  if (patched) ev.patch = MergePatchDiff(original.json(), patched->json());
  if (!askers.empty()) {
    ev.verdict = Verdict::kAsk;
    ev.reason = JoinReasons(askers, "approval required");
    for (const auto& [name, reason] : askers) ev.policies.push_back(name);
  } else if (!modifiers.empty()) {
    ev.verdict = Verdict::kModify;
    ev.reason = JoinReasons(modifiers, "modified");
    for (const auto& [name, reason] : modifiers) ev.policies.push_back(name);
  } else {
    ev.verdict = Verdict::kAllow;
    ev.policies = std::move(allowers);
    // An allow that only a grant made says so: the audit trail shows which
    // approval let the action through.
    if (!granted.empty()) ev.reason = JoinReasons(granted, "");
  }
  return ev;
}

}  // namespace reins
