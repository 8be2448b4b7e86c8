// block_skills and ask_on_os_tools (docs/policies.md#block_skills,
// #ask_on_os_tools).
#include <algorithm>

#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "builtins/tool_families.h"
#include "engine/session_view.h"

namespace reins {

namespace {

// block_skills: denies loading a blocked skill through any harness's skill
// tool, and a user request that invokes one as a slash command ("/name").
// Names compare case-insensitively; "plugin:name" also matches "name".
class BlockSkills : public Policy {
 public:
  BlockSkills(const Json& params, std::vector<ParamError>* errors) {
    for (const std::string& s : StringList(params, "blocked")) blocked_.push_back(Lower(s));
    if (blocked_.empty()) errors->push_back({"blocked", "blocked must name at least one skill"});
  }

  EvalResult Evaluate(const Event& event, const SessionView&) const override {
    std::string skill;
    if (event.type() == EventType::kRequest) {
      std::string_view text = event.text();
      size_t start = text.find_first_not_of(" \t\n");
      if (start == std::string_view::npos || text[start] != '/') {
        return std::optional<PolicyResult>();
      }
      text.remove_prefix(start + 1);
      skill = std::string(text.substr(0, text.find_first_of(" \t\n")));
    } else {
      ToolCallFacts f = ToolTable::Default().Describe(event.tool(), event.input());
      if (f.role != ToolRole::kSkill) return std::optional<PolicyResult>();
      skill = f.skill;
    }
    if (skill.empty() || !IsBlocked(skill)) return std::optional<PolicyResult>();
    return PolicyResult::Deny("Skill '" + skill + "' is blocked by policy");
  }

 private:
  bool IsBlocked(const std::string& skill) const {
    std::string lower = Lower(skill);
    size_t colon = lower.rfind(':');
    std::string bare = colon == std::string::npos ? lower : lower.substr(colon + 1);
    return std::find(blocked_.begin(), blocked_.end(), lower) != blocked_.end() ||
           std::find(blocked_.begin(), blocked_.end(), bare) != blocked_.end();
  }

  std::vector<std::string> blocked_;
};

// ask_on_os_tools: every shell command and file operation waits for a person.
class AskOnOsTools : public Policy {
 public:
  AskOnOsTools(const Json& params, std::vector<ParamError>*)
      : tools_(ToolTable::Default().With(ToolRole::kShell, StringList(params, "shell_tools"))) {}

  EvalResult Evaluate(const Event& event, const SessionView&) const override {
    ToolCallFacts f = tools_.Describe(event.tool(), event.input());
    switch (f.role) {
      case ToolRole::kShell:
      case ToolRole::kRead:
      case ToolRole::kWrite:
      case ToolRole::kEdit:
      case ToolRole::kSearch:
        break;
      default:
        return std::optional<PolicyResult>();
    }
    std::string preview = f.Preview();
    return PolicyResult::Ask("Agent wants to call " + f.tool +
                             (preview.empty() ? "" : " (" + preview + ")") + ". Approve?");
  }

 private:
  ToolTable tools_;
};

}  // namespace

Status RegisterSkillPolicies(PolicyRegistry* registry) {
  PolicyType block;
  block.name = "block_skills";
  block.description = "Denies loading the named skills, by tool or by slash command.";
  block.events = {EventType::kToolCall, EventType::kRequest};
  block.params = {{"blocked", ParamType::kStringList, nullptr, true,
                   "Skill names to block (case-insensitive)."}};
  block.create = FactoryOf<BlockSkills>();
  REINS_RETURN_IF_ERROR(
      registry->Register(std::move(block), {ReferenceHandler("safety", "block_skills")}));

  PolicyType ask;
  ask.name = "ask_on_os_tools";
  ask.description = "Asks before every shell command and every file read, write, edit or search.";
  ask.events = {EventType::kToolCall};
  ask.params = {{"shell_tools", ParamType::kStringList, Json::array(), false,
                 "Extra tool names to treat as shell tools."}};
  ask.create = FactoryOf<AskOnOsTools>();
  return registry->Register(std::move(ask), {ReferenceHandler("safety", "ask_on_os_tools")});
}

}  // namespace reins
