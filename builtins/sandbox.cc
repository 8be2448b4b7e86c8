// enforce_sandbox: every session (and every agent Omnigent starts) runs in
// the sandbox the administrator requires (docs/policies.md#enforce_sandbox).
//
// On session_start it merges the required settings over the sandbox the
// harness asked for and answers modify when that changes anything; on a
// sys_agent_start tool call it does the same to input.sandbox. Settings
// given in the policy win, except that allow_network can only be narrowed:
// a policy with allow_network: true keeps a requested false.
#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "engine/json_fields.h"
#include "engine/session_view.h"

namespace reins {

namespace {

// Keys a sandbox request may carry; anything else is dropped on the way.
const char* const kSandboxKeys[] = {"type",         "read_paths",      "write_paths",
                                    "write_files",  "allow_network",   "env_passthrough",
                                    "egress_rules", "cwd_allow_hidden"};

class EnforceSandbox : public Policy {
 public:
  EnforceSandbox(const Json& params, std::vector<ParamError>*) : params_(params) {}

  EvalResult Evaluate(const Event& event, const SessionView&) const override {
    bool agent_start = event.type() == EventType::kToolCall;
    if (agent_start && event.tool() != "sys_agent_start") return std::optional<PolicyResult>();
    const Json* requested = agent_start ? nullptr : event.Get("sandbox");
    if (agent_start) {
      auto it = event.input().find("sandbox");
      if (it != event.input().end()) requested = &*it;
    }
    Json merged = Json::object();
    if (requested && requested->is_object()) {
      for (const char* key : kSandboxKeys) {
        if (auto it = requested->find(key); it != requested->end()) merged[key] = *it;
      }
    }
    merged["type"] = params_["sandbox_type"];
    bool requested_network = JsonBool(merged, "allow_network", true);
    merged["allow_network"] = requested_network && params_["allow_network"].get<bool>();
    for (const char* key : {"write_paths", "read_paths", "env_passthrough"}) {
      if (params_.contains(key)) merged[key] = params_[key];
    }
    Json original = requested && requested->is_object() ? *requested : Json();
    if (merged == original) return std::optional<PolicyResult>();
    std::string reason =
        "sandbox set to the required " + params_["sandbox_type"].get<std::string>() + " settings";
    // A merge patch must name the keys it drops, or merging would keep them.
    Json change = original.is_object() ? MergePatchDiff(original, merged) : merged;
    Json patch = agent_start ? Json{{"input", {{"sandbox", change}}}} : Json{{"sandbox", change}};
    return PolicyResult::Modify(std::move(patch), std::move(reason));
  }

 private:
  Json params_;
};

}  // namespace

Status RegisterSandboxPolicies(PolicyRegistry* registry) {
  PolicyType t;
  t.name = "enforce_sandbox";
  t.description =
      "Rewrites the sandbox of every session_start (and sys_agent_start tool call) to the required "
      "settings, merged over what the harness asked for.";
  t.events = {EventType::kSessionStart, EventType::kToolCall};
  t.params = {
      {"sandbox_type", ParamType::kString, "linux_bwrap", false, "The sandbox type to require."},
      {"allow_network", ParamType::kBoolean, true, false,
       "false forbids network access; true keeps what was requested."},
      {"write_paths", ParamType::kStringList, nullptr, false, "Paths the agent may write."},
      {"read_paths", ParamType::kStringList, nullptr, false, "Paths the agent may read."},
      {"env_passthrough", ParamType::kStringList, nullptr, false,
       "Environment variables passed into the sandbox."},
  };
  t.create = FactoryOf<EnforceSandbox>();
  return registry->Register(std::move(t), {ReferenceHandler("safety", "enforce_sandbox")});
}

}  // namespace reins
