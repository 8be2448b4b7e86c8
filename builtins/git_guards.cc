// protected_branches and blast_radius: pauses before irreversible git and
// infrastructure operations (docs/policies.md#protected_branches,
// #blast_radius).
#include <algorithm>

#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "builtins/github_ops.h"
#include "builtins/glob.h"
#include "builtins/shell_facts.h"
#include "engine/session_view.h"

namespace reins {

namespace {

std::string Join(const shell::SimpleCommand& cmd) {
  std::string out;
  for (size_t i = 0; i < cmd.argv.size() && out.size() < 100; ++i) {
    out += (i ? " " : "") + cmd.argv[i];
  }
  return out;
}

PolicyResult Act(const std::string& action, std::string reason) {
  return action == "deny" ? PolicyResult::Deny(std::move(reason))
                          : PolicyResult::Ask(std::move(reason));
}

// protected_branches: pushes (forced or not), `git reset --hard` and branch
// deletion or renaming that touch a protected branch pause for consent. A
// push or reset whose branch cannot be told (no refspec, HEAD, the current
// branch) counts as touching one: name the branch to avoid the question.
class ProtectedBranches : public Policy {
 public:
  ProtectedBranches(const Json& params, std::vector<ParamError>* errors)
      : tools_(ToolTable::Default().With(ToolRole::kShell, StringList(params, "shell_tools"))),
        action_(params.at("action").get<std::string>()),
        prefixes_(StringList(params, "mcp_tool_prefixes")) {
    for (const std::string& b : StringList(params, "branches")) branches_.emplace_back(b);
    if (branches_.empty()) errors->push_back({"branches", "name at least one branch"});
  }

  EvalResult Evaluate(const Event& event, const SessionView&) const override {
    std::optional<PolicyResult> best;
    ToolCallFacts facts = tools_.Describe(event.tool(), event.input());
    if (facts.role == ToolRole::kShell) {
      for (const shell::SimpleCommand& cmd : AnalyzeCommands(facts).commands) Judge(cmd, &best);
    } else if (auto op = OpOfMcpTool(event.tool(), event.input(), prefixes_)) {
      if (op->kind == GitHubOp::kWrite && op->branch_targeted) {
        for (const std::string& b : op->branches) {
          if (Protected(b)) {
            KeepStricter(&best, Act(action_, "Writing to protected branch '" + b +
                                                 "' needs approval (" + op->what + ")"));
          }
        }
      }
    }
    return best;
  }

 private:
  bool Protected(std::string_view branch) const {
    std::string b(branch);
    // origin/main is main on a remote.
    for (const char* remote : {"origin/", "upstream/", "refs/heads/", "refs/remotes/origin/"}) {
      if (b.rfind(remote, 0) == 0) b = b.substr(std::string_view(remote).size());
    }
    return std::any_of(branches_.begin(), branches_.end(),
                       [&](const Glob& g) { return g.Match(b); });
  }

  void Judge(const shell::SimpleCommand& cmd, std::optional<PolicyResult>* best) const {
    std::string what = Join(cmd);
    auto act = [&](const std::string& why) {
      KeepStricter(best, Act(action_, why + " (" + what + ")"));
    };
    if (auto push = ParseGitPush(cmd)) {
      if (push->mirror) return act("A push of every branch touches protected branches");
      if (push->refspecs.empty() || push->dynamic) {
        return act("This push's branch cannot be told, and it may be protected");
      }
      for (const std::string& ref : push->refspecs) {
        std::string target = RefspecTarget(ref);
        if (target == "HEAD")
          return act("This push's branch cannot be told, and it may be protected");
        if (!Protected(target)) continue;
        if (push->remove) return act("Deleting protected branch '" + target + "' needs approval");
        if (push->force)
          return act("A force push to protected branch '" + target + "' needs approval");
        return act("A push to protected branch '" + target + "' needs approval");
      }
      return;
    }
    if (size_t k = shell::InvocationEnd(cmd, "git", {"reset"}); k != std::string::npos) {
      bool hard = std::find(cmd.argv.begin() + k, cmd.argv.end(), "--hard") != cmd.argv.end();
      if (!hard) return;
      for (size_t i = k; i < cmd.argv.size(); ++i) {
        if (cmd.argv[i][0] != '-' && Protected(cmd.argv[i])) {
          return act("git reset --hard to protected branch '" + cmd.argv[i] + "' needs approval");
        }
      }
      return act("git reset --hard rewrites the current branch, which may be protected");
    }
    if (size_t k = shell::InvocationEnd(cmd, "git", {"branch"}); k != std::string::npos) {
      bool changes = false;
      for (size_t i = k; i < cmd.argv.size(); ++i) {
        changes = changes || InWordList("-d -D --delete -m -M --move -f --force", cmd.argv[i]);
      }
      for (size_t i = k; changes && i < cmd.argv.size(); ++i) {
        if (cmd.argv[i][0] != '-' && Protected(cmd.argv[i])) {
          return act("Deleting or moving protected branch '" + cmd.argv[i] + "' needs approval");
        }
      }
      return;
    }
    if (!cmd.resolved && (cmd.argv.empty() || cmd.dynamic[0] || cmd.name == "git")) {
      act("Could not fully resolve this command; it may touch a protected branch");
    }
  }

  ToolTable tools_;
  std::string action_;
  std::vector<std::string> prefixes_;
  std::vector<Glob> branches_;
};

// Directories whose recursive removal is never reversible in practice.
constexpr const char* kCriticalDirs =
    "/ /* ~ ~/ ~/* $HOME $HOME/ ${HOME} . .. * /bin /boot /dev /etc /home /lib /lib64 /opt /proc "
    "/root /sbin /srv /sys /usr /var /Users /System /Library /Applications";

bool IsRecursiveRm(const shell::SimpleCommand& cmd) {
  if (cmd.name != "rm") return false;
  for (size_t k = 1; k < cmd.argv.size(); ++k) {
    const std::string& w = cmd.argv[k];
    if (w == "--recursive" || w == "--no-preserve-root") return true;
    if (w.size() > 1 && w[0] == '-' && w[1] != '-' && w.find_first_of("rR") != std::string::npos) {
      return true;
    }
  }
  return false;
}

// The first critical target of an `rm -r`, or "" when its targets are scoped.
std::string CriticalTarget(const shell::SimpleCommand& cmd) {
  for (size_t k = 1; k < cmd.argv.size(); ++k) {
    std::string w = cmd.argv[k];
    if (w.empty() || w[0] == '-') continue;
    while (w.size() > 1 && w.back() == '/') w.pop_back();
    if (InWordList(kCriticalDirs, w)) return w;
    for (const char* sys :
         {"/bin/", "/boot/", "/etc/", "/lib/", "/sbin/", "/usr/", "/var/lib/", "/System/"}) {
      if (w.rfind(sys, 0) == 0) return w;
    }
  }
  return {};
}

struct RiskyTool {
  const char* program;
  const char* actions;
};
const RiskyTool kInfra[] = {
    {"kubectl", "apply delete replace patch scale drain create edit rollout"},
    {"helm", "install upgrade uninstall delete rollback"},
    {"terraform", "apply destroy import taint"},
    {"tofu", "apply destroy import taint"},
    {"pulumi", "up destroy"},
    {"databricks", "deploy destroy delete"},
};

// blast_radius: irreversible operations deny; high-impact ones ask.
class BlastRadius : public Policy {
 public:
  BlastRadius(const Json& params, std::vector<ParamError>*)
      : tools_(ToolTable::Default().With(ToolRole::kShell, StringList(params, "shell_tools"))),
        gate_pushes_(params.at("gate_pushes").get<bool>()),
        risky_(params.at("risky_action").get<std::string>()),
        deny_reason_(params.at("deny_reason").get<std::string>()) {}

  EvalResult Evaluate(const Event& event, const SessionView&) const override {
    ToolCallFacts facts = tools_.Describe(event.tool(), event.input());
    if (facts.role != ToolRole::kShell) return std::optional<PolicyResult>();
    std::optional<PolicyResult> best;
    for (const shell::SimpleCommand& cmd : AnalyzeCommands(facts).commands) {
      std::string what = Join(cmd);
      auto deny = [&](const std::string& why) {
        KeepStricter(&best, PolicyResult::Deny(deny_reason_ + " " + why + ": '" + what + "'"));
      };
      auto risky = [&](const std::string& why) {
        std::string reason =
            "High-blast-radius command needs approval (" + why + "): '" + what + "'";
        KeepStricter(&best,
                     risky_ == "deny" ? PolicyResult::Deny(reason) : PolicyResult::Ask(reason));
      };
      if (auto push = ParseGitPush(cmd)) {
        if (push->force || push->remove || push->mirror) {
          deny("irreversible push");
        } else if (gate_pushes_) {
          risky("git push");
        }
      } else if (IsRecursiveRm(cmd)) {
        std::string target = CriticalTarget(cmd);
        target.empty() ? risky("recursive delete") : deny("recursive delete of " + target);
      } else if (size_t k = shell::InvocationEnd(cmd, "git", {"reset"}); k != std::string::npos) {
        bool hard = std::find(cmd.argv.begin() + k, cmd.argv.end(), "--hard") != cmd.argv.end();
        for (size_t i = k; hard && i < cmd.argv.size(); ++i) {
          const std::string& w = cmd.argv[i];
          if (w[0] != '-' && w.find('/') != std::string::npos) deny("reset to a remote state");
        }
      } else if (shell::IsInvocation(cmd, "gh", {"pr", "merge"})) {
        risky("merging a pull request");
      } else if (shell::IsInvocation(cmd, "gh", {"repo", "delete"}) ||
                 shell::IsInvocation(cmd, "gh", {"release", "delete"})) {
        deny("deleting GitHub resources");
      } else if (shell::IsInvocation(cmd, "gh", {"release", "create"})) {
        risky("publishing a release");
      } else {
        for (const RiskyTool& t : kInfra) {
          if (cmd.name != t.program) continue;
          for (size_t k = 1; k < cmd.argv.size(); ++k) {
            if (InWordList(t.actions, cmd.argv[k])) {
              risky(std::string(t.program) + " " + cmd.argv[k]);
              break;
            }
          }
        }
        if (!cmd.resolved && (cmd.argv.empty() || cmd.dynamic[0])) {
          risky("could not resolve the program it runs");
        }
      }
    }
    return best;
  }

 private:
  ToolTable tools_;
  bool gate_pushes_;
  std::string risky_, deny_reason_;
};

}  // namespace

Status RegisterGitGuardPolicies(PolicyRegistry* registry) {
  PolicyType p;
  p.name = "protected_branches";
  p.description =
      "Pushes, force pushes, `git reset --hard` and branch deletion touching a protected branch "
      "pause for consent.";
  p.events = {EventType::kToolCall};
  p.params = {
      {"branches", ParamType::kStringList, Json::array({"main", "master", "release/*"}), false,
       "Branch globs to protect."},
      {"action", ParamType::kString, "ask", false, "ask or deny.", {"ask", "deny"}},
      {"mcp_tool_prefixes", ParamType::kStringList, Json::array({"mcp__github__", "github__"}),
       false, "Prefixes of GitHub MCP tool names."},
      {"shell_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names to treat as shell tools."},
  };
  p.create = FactoryOf<ProtectedBranches>();
  REINS_RETURN_IF_ERROR(registry->Register(std::move(p)));

  PolicyType b;
  b.name = "blast_radius";
  b.description =
      "Irreversible operations (force or delete pushes, recursive deletes of critical "
      "directories, resets to a remote) deny; pushes, scoped recursive deletes, PR merges and "
      "kubectl / helm / terraform changes ask.";
  b.events = {EventType::kToolCall};
  b.params = {
      {"gate_pushes", ParamType::kBoolean, true, false, "Ask before ordinary git pushes."},
      {"risky_action",
       ParamType::kString,
       "ask",
       false,
       "What high-impact commands get.",
       {"ask", "deny"}},
      {"deny_reason", ParamType::kString, "Blocked by the blast-radius policy:", false,
       "Start of every deny reason."},
      {"shell_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names to treat as shell tools."},
  };
  b.create = FactoryOf<BlastRadius>();
  return registry->Register(std::move(b), {ReferenceHandler("orchestration", "blast_radius")});
}

}  // namespace reins
