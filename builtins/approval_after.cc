// approval_after and npm_then_push: "after X, Y needs approval"
// (docs/policies.md#approval_after).
//
// A shell command matching a `trigger` pattern arms the rule; the next
// command matching a `gated` pattern asks (or denies). With
// reset_on_approval, approving that ask disarms the rule until the next
// trigger. Commands the shell analyzer cannot resolve count as triggers and
// as gated commands when they might be one (fail closed). Within one tool
// call, commands are taken in order: `npm i x && git push` asks.
#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "builtins/command_pattern.h"
#include "builtins/shell_facts.h"
#include "engine/session_view.h"

namespace reins {

namespace {

constexpr const char* kArmedKey = "_policy_armed_by";

const char* const kDefaultInstallers[] = {
    "npm install|i|add|isntall|in <pkg>",
    "yarn add <pkg>",
    "yarn global add <pkg>",
    "pnpm add|install|i <pkg>",
    "bun add|install|i <pkg>",
    "pip|pip3 install <pkg>",
    "python|python3 -m pip install <pkg>",
    "uv pip install <pkg>",
    "uv add <pkg>",
    "poetry add <pkg>",
    "cargo add|install <pkg>",
    "go get|install <pkg>",
    "gem install <pkg>",
};

std::vector<InvocationPattern> ParsePatterns(const Json& params, const char* name,
                                             std::vector<ParamError>* errors) {
  std::vector<InvocationPattern> out;
  for (const std::string& text : StringList(params, name)) {
    auto p = InvocationPattern::Parse(text);
    if (p.ok()) {
      out.push_back(std::move(p).value());
    } else {
      errors->push_back({name, p.status().message()});
    }
  }
  if (out.empty() && errors->empty()) errors->push_back({name, std::string(name) + " is empty"});
  return out;
}

class ApprovalAfter : public Policy {
 public:
  ApprovalAfter(const Json& params, std::vector<ParamError>* errors, const char* trigger_param)
      : tools_(ToolTable::Default().With(ToolRole::kShell, StringList(params, "shell_tools"))),
        triggers_(ParsePatterns(params, trigger_param, errors)),
        gated_(ParsePatterns(params, "gated", errors)),
        action_(params.at("action").get<std::string>()),
        reset_(params.value("reset_on_approval", true)) {}

  EvalResult Evaluate(const Event& event, const SessionView& session) const override {
    ToolCallFacts facts = tools_.Describe(event.tool(), event.input());
    if (facts.role != ToolRole::kShell) return std::optional<PolicyResult>();
    const ShellCommands& sh = AnalyzeCommands(facts);
    const Json* stored = session.Get(kArmedKey);
    std::string armed_by = stored && stored->is_string() ? stored->get<std::string>() : "";
    std::string first_trigger;
    for (const shell::SimpleCommand& cmd : sh.commands) {
      for (const InvocationPattern& g : gated_) {
        if (armed_by.empty() || !g.MightMatch(cmd)) continue;
        std::string what =
            g.Matches(cmd) ? g.text() : g.text() + " (possibly: " + cmd.unresolved_reason + ")";
        std::string reason =
            "'" + what + "' needs approval: '" + armed_by + "' ran since the last approval.";
        if (action_ == "deny") return PolicyResult::Deny(std::move(reason));
        PolicyResult r = PolicyResult::Ask(std::move(reason));
        r.kind = g.text();  // a grant covers this gated command, not every shell call
        if (reset_) r.updates.push_back(StateUpdate::Delete(kArmedKey));
        return r;
      }
      for (const InvocationPattern& t : triggers_) {
        if (!t.MightMatch(cmd)) continue;
        armed_by = Command(cmd);
        if (first_trigger.empty()) first_trigger = armed_by;
        break;
      }
    }
    if (first_trigger.empty()) return std::optional<PolicyResult>();
    return PolicyResult::Allow().With(StateUpdate::Set(kArmedKey, armed_by));
  }

 private:
  static std::string Command(const shell::SimpleCommand& cmd) {
    std::string out;
    for (size_t i = 0; i < cmd.argv.size() && out.size() < 120; ++i) {
      out += (i ? " " : "") + cmd.argv[i];
    }
    return out;
  }

  ToolTable tools_;
  std::vector<InvocationPattern> triggers_, gated_;
  std::string action_;
  bool reset_;
};

}  // namespace

Status RegisterApprovalAfterPolicies(PolicyRegistry* registry) {
  PolicyType general;
  general.name = "approval_after";
  general.description =
      "After a shell command matching `trigger` runs, the next command matching `gated` asks "
      "(or is denied); approving it resets the rule until the trigger runs again.";
  general.events = {EventType::kToolCall};
  general.params = {
      {"trigger", ParamType::kStringList, nullptr, true,
       "Command patterns that arm the rule, e.g. \"npm install|add <pkg>\"."},
      {"gated", ParamType::kStringList, nullptr, true,
       "Command patterns that need approval once armed, e.g. \"git push\"."},
      {"action", ParamType::kString, "ask", false, "ask or deny.", {"ask", "deny"}},
      {"reset_on_approval", ParamType::kBoolean, true, false,
       "An approved ask disarms the rule until the next trigger."},
      {"shell_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names to treat as shell tools."},
  };
  general.create = [](const Json& p,
                      std::vector<ParamError>* e) -> Result<std::shared_ptr<const Policy>> {
    return MakePolicy<ApprovalAfter>(p, e, "trigger");
  };
  REINS_RETURN_IF_ERROR(registry->Register(std::move(general)));

  PolicyType npm;
  npm.name = "npm_then_push";
  npm.description =
      "After the agent installs a new package (npm, yarn, pnpm, bun, pip, uv, poetry, cargo, go, "
      "gem), the next git push asks; approved, pushes pass until the next install.";
  npm.events = {EventType::kToolCall};
  Json installers = Json::array();
  for (const char* i : kDefaultInstallers) installers.push_back(i);
  npm.params = {
      {"installers", ParamType::kStringList, installers, false,
       "Command patterns that install a new package; a bare `npm install` or `npm ci` that only "
       "restores a lockfile does not match."},
      {"gated", ParamType::kStringList, Json::array({"git push"}), false,
       "Command patterns that need approval after an install."},
      {"action", ParamType::kString, "ask", false, "ask or deny.", {"ask", "deny"}},
      {"shell_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names to treat as shell tools."},
  };
  npm.create = [](const Json& p,
                  std::vector<ParamError>* e) -> Result<std::shared_ptr<const Policy>> {
    return MakePolicy<ApprovalAfter>(p, e, "installers");
  };
  return registry->Register(std::move(npm));
}

}  // namespace reins
