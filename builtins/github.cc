// github_policy: reads and writes to GitHub through git, gh and the GitHub
// MCP server (docs/policies.md#github_policy).
//
// Force pushes, tag pushes and destructive operations (deleting branches,
// tags, releases or repositories; mirror pushes) deny unless allowed. When
// write_repos / write_branches are set, writes go only there; a target that
// cannot be resolved (an alias like `origin`, a push without a refspec)
// asks. Hosts that only look like GitHub are other hosts. Across the
// commands of one tool call the most restrictive answer wins.
#include <algorithm>

#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "builtins/github_ops.h"
#include "builtins/glob.h"
#include "builtins/shell_facts.h"
#include "engine/session_view.h"

namespace reins {

namespace {

class GitHubPolicy : public Policy {
 public:
  GitHubPolicy(const Json& params, std::vector<ParamError>*)
      : tools_(ToolTable::Default().With(ToolRole::kShell, StringList(params, "shell_tools"))),
        read_all_(params.at("read_all").get<bool>()),
        allow_destructive_(params.at("allow_destructive").get<bool>()),
        deny_force_(params.at("deny_force_push").get<bool>()),
        deny_tags_(params.at("deny_tag_push").get<bool>()),
        violation_(params.at("write_violation_action").get<std::string>()),
        prefixes_(StringList(params, "mcp_tool_prefixes")) {
    for (const std::string& r : StringList(params, "read_repos"))
      read_repos_.emplace_back(Lower(r));
    for (const std::string& r : StringList(params, "write_repos"))
      write_repos_.emplace_back(Lower(r));
    for (const std::string& b : StringList(params, "write_branches"))
      write_branches_.emplace_back(b);
  }

  EvalResult Evaluate(const Event& event, const SessionView&) const override {
    std::optional<PolicyResult> best;
    ToolCallFacts facts = tools_.Describe(event.tool(), event.input());
    if (facts.role == ToolRole::kShell) {
      for (const shell::SimpleCommand& cmd : AnalyzeCommands(facts).commands) {
        for (const GitHubOp& op : OpsOfCommand(cmd)) Judge(op, &best);
      }
    } else if (auto op = OpOfMcpTool(event.tool(), event.input(), prefixes_)) {
      Judge(*op, &best);
    }
    if (best && best->verdict == Verdict::kAllow) return std::optional<PolicyResult>();
    return best;
  }

 private:
  void Judge(const GitHubOp& op, std::optional<PolicyResult>* best) const {
    auto deny = [&](const std::string& why) {
      KeepStricter(best, PolicyResult::Deny(why + " (" + op.what + ")"));
    };
    auto ask = [&](const std::string& why) {
      KeepStricter(best, PolicyResult::Ask(why + " (" + op.what + ")"));
    };
    auto violation = [&](const std::string& why) { violation_ == "ask" ? ask(why) : deny(why); };
    if (op.kind == GitHubOp::kUnknown) return ask("Unrecognized GitHub operation");
    if (op.unresolved) return ask("Could not fully resolve this command");
    if (op.force && deny_force_) deny("Force pushes are not allowed");
    if (op.tags && deny_tags_) deny("Pushing tags is not allowed");
    if (op.destructive && !allow_destructive_)
      deny("Destructive GitHub operations are not allowed");
    if (op.kind == GitHubOp::kRead) {
      if (read_all_ || op.host_other) return;
      if (op.repo.empty()) return ask("Cannot tell which repository this reads");
      if (!Listed(read_repos_, op.repo) && !Listed(write_repos_, op.repo)) {
        deny("Reading '" + op.repo + "' is not allowed (not in read_repos)");
      }
      return;
    }
    if (!write_repos_.empty()) {
      if (op.host_other) {
        violation("Writes go only to the listed GitHub repositories, not to " +
                  (op.host.empty() ? std::string("a local path") : op.host));
      } else if (op.repo.empty()) {
        ask("Cannot tell which repository this writes to");
      } else if (!Listed(write_repos_, op.repo)) {
        violation("Writing to '" + op.repo + "' is not allowed (not in write_repos)");
      }
    }
    if (!write_branches_.empty() && op.branch_targeted) {
      if (op.branches.empty()) return ask("Cannot tell which branch this writes to");
      for (const std::string& b : op.branches) {
        bool ok = std::any_of(write_branches_.begin(), write_branches_.end(),
                              [&](const Glob& g) { return g.Match(b); });
        if (!ok) violation("Writing to branch '" + b + "' is not allowed (not in write_branches)");
      }
    }
  }

  static bool Listed(const std::vector<Glob>& globs, const std::string& repo) {
    return std::any_of(globs.begin(), globs.end(), [&](const Glob& g) { return g.Match(repo); });
  }

  ToolTable tools_;
  bool read_all_, allow_destructive_, deny_force_, deny_tags_;
  std::string violation_;
  std::vector<std::string> prefixes_;
  std::vector<Glob> read_repos_, write_repos_, write_branches_;
};

}  // namespace

Status RegisterGitHubPolicies(PolicyRegistry* registry) {
  PolicyType t;
  t.name = "github_policy";
  t.description =
      "GitHub through git, gh and the GitHub MCP server: repository and branch allow-lists for "
      "writes; force pushes, tag pushes and destructive operations denied.";
  t.events = {EventType::kToolCall};
  t.params = {
      {"read_all", ParamType::kBoolean, true, false, "Allow reading any repository."},
      {"read_repos", ParamType::kStringList, Json::array(), false,
       "owner/repo globs readable when read_all is false."},
      {"write_repos", ParamType::kStringList, Json::array(), false,
       "owner/repo globs that may be written; empty: any."},
      {"write_branches", ParamType::kStringList, Json::array(), false,
       "Branch globs that may be written; empty: any."},
      {"allow_destructive", ParamType::kBoolean, false, false,
       "Allow deleting branches, tags, releases and repositories."},
      {"deny_force_push", ParamType::kBoolean, true, false, "Deny force pushes."},
      {"deny_tag_push", ParamType::kBoolean, true, false, "Deny pushing tags."},
      {"write_violation_action",
       ParamType::kString,
       "deny",
       false,
       "What a write outside the allow-lists gets: deny or ask.",
       {"deny", "ask"}},
      {"mcp_tool_prefixes", ParamType::kStringList, Json::array({"mcp__github__", "github__"}),
       false, "Prefixes of GitHub MCP tool names."},
      {"shell_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names to treat as shell tools."},
  };
  t.create = FactoryOf<GitHubPolicy>();
  return registry->Register(std::move(t), {ReferenceHandler("github", "github_policy")});
}

}  // namespace reins
