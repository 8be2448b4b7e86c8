// Composition: how the answers of a session's policies become one decision.
//
//   - Policies run in PolicySet order (session, agent, server layers) and
//     only for event types they handle.
//   - The first deny stops evaluation and wins; its reason is the decision's.
//   - Otherwise any ask makes the decision ask, reasons joined as
//     "name: reason; name: reason", every asking policy listed.
//   - Modify patches apply in order; later policies see the patched event.
//     Without an ask or deny the decision is modify, with the net patch.
//   - No answer from anyone means allow.
//   - A policy that fails (an error, an exception, an invalid answer) denies
//     with "policy 'NAME' failed: ..." unless its entry says on_error: allow,
//     in which case it counts as no answer. Either way the failure is logged.
//
// Grants: an ask from a policy about a kind of action that an earlier
// approval granted for the session (or a while) counts as allow, with the
// grant named in the results.
//
// State updates: on allow and modify, every answering policy's updates apply;
// on deny, those of the policies evaluated before the denier plus the
// denier's own (a failing policy contributes none); on ask, none now: they
// are withheld with the pending approval and apply only if it is approved.
#pragma once

#include <string>
#include <vector>

#include "engine/policy_set.h"
#include "engine/session_view.h"

namespace reins {

struct Evaluation {
  Verdict verdict = Verdict::kAllow;
  std::string reason;
  std::vector<std::string> policies;  // the deciding policies
  Json results = Json::array();       // each answering or failing policy: {policy, verdict, reason}
  Json patch;                         // net merge patch; null when nothing was modified
  // Updates as {"policy": STATE_KEY, "op", "key", "value"}: to apply now
  // (allow, modify, deny) or withheld (ask).
  Json updates = Json::array();
  TimeUs ask_timeout = 0;             // ask: the first asking policy's timeout (0: default)
  std::vector<std::string> failures;  // one message per failed policy
  Json kinds = Json::object();        // ask: asking policy -> kind of action
  // Notes policies logged through SessionView::Log: {"policy", "message"}.
  Json notes = Json::array();
};

// Evaluates `event` against `set` for a session in `state` (the state before
// the event). Never fails: policy failures become part of the Evaluation.
Evaluation EvaluatePolicies(const PolicySet& set, const Event& event, const SessionState& state,
                            const PriceTable* prices, const QueryContext* queries);

}  // namespace reins
