// deny_commands, ask_on_mutation and block_working_dir_changes: rules over
// the commands an agent runs (docs/policies.md#deny_commands).
#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "builtins/command_pattern.h"
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
  if (action == "ask") return PolicyResult::Ask(std::move(reason));
  return PolicyResult::Deny(std::move(reason));
}

ToolTable ShellTable(const Json& params) {
  return ToolTable::Default().With(ToolRole::kShell, StringList(params, "shell_tools"));
}

// deny_commands: any command (nested, wrapped or unwrapped) matching one of
// the patterns gets the action; a command that could match once resolved
// asks.
class DenyCommands : public Policy {
 public:
  DenyCommands(const Json& params, std::vector<ParamError>* errors)
      : tools_(ShellTable(params)), action_(params.at("action").get<std::string>()) {
    for (const std::string& text : StringList(params, "patterns")) {
      auto g = CommandGlob::Parse(text);
      if (g.ok()) {
        globs_.push_back(std::move(g).value());
      } else {
        errors->push_back({"patterns", g.status().message()});
      }
    }
    if (globs_.empty() && errors->empty())
      errors->push_back({"patterns", "name at least one pattern"});
  }

  EvalResult Evaluate(const Event& event, const SessionView&) const override {
    ToolCallFacts facts = tools_.Describe(event.tool(), event.input());
    if (facts.role != ToolRole::kShell) return std::optional<PolicyResult>();
    const ShellCommands& sh = AnalyzeCommands(facts);
    std::optional<PolicyResult> best;
    for (size_t i = 0; i < sh.commands.size(); ++i) {
      for (const CommandGlob& g : globs_) {
        if (g.MatchesAt(sh.commands, i)) {
          KeepStricter(&best, Act(action_, "Command matches the blocked pattern '" + g.text() +
                                               "': " + Join(sh.commands[i])));
        } else if (g.MightMatchAt(sh.commands, i)) {
          KeepStricter(&best, PolicyResult::Ask("Could not fully resolve '" + Join(sh.commands[i]) +
                                                "' (" + sh.commands[i].unresolved_reason +
                                                "); it might match '" + g.text() + "'"));
        }
      }
    }
    return best;
  }

 private:
  ToolTable tools_;
  std::string action_;
  std::vector<CommandGlob> globs_;
};

std::set<std::string, std::less<>> WordSet(const char* list) {
  std::set<std::string, std::less<>> out;
  std::istringstream in(list);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

// Programs that only read (with their write options and redirections caught
// separately), and git subcommands that leave the working tree alone.
constexpr const char* kReadOnlyPrograms =
    "ls cat head tail less more wc grep egrep fgrep rg ag find tree pwd echo printf which whereis "
    "type file stat du df env printenv date whoami id uname hostname ps uptime sort uniq cut tr "
    "sed awk jq yq diff cmp comm nl od xxd hexdump strings base64 md5sum sha1sum sha256sum "
    "realpath readlink dirname basename true false test [ sleep seq column fold fmt tac rev "
    "curl wget cd pushd popd git";
constexpr const char* kReadOnlyGit =
    "status log diff show branch remote rev-parse ls-files ls-tree blame grep describe shortlog "
    "reflog cat-file fetch config tag";

// ask_on_mutation: every write or edit tool, and every shell command that
// may change files, asks. A shell command is taken as read-only only when
// its program is known to be (kReadOnlyPrograms, or `read_only_commands`),
// it writes no path (redirections, -o, sed -i, find -delete / -exec) and,
// for git, its subcommand only reads.
class AskOnMutation : public Policy {
 public:
  AskOnMutation(const Json& params, std::vector<ParamError>*)
      : tools_(ShellTable(params).With(ToolRole::kWrite, StringList(params, "tools"))),
        extra_(StringList(params, "read_only_commands")) {}

  EvalResult Evaluate(const Event& event, const SessionView&) const override {
    ToolCallFacts facts = tools_.Describe(event.tool(), event.input());
    if (facts.mutates()) {
      return PolicyResult::Ask("Agent wants to change files with " + facts.tool + " (" +
                               facts.Preview() + "). Approve?");
    }
    if (facts.role != ToolRole::kShell) return std::optional<PolicyResult>();
    const ShellCommands& sh = AnalyzeCommands(facts);
    for (size_t i = 0; i < sh.commands.size(); ++i) {
      const shell::SimpleCommand& cmd = sh.commands[i];
      if (cmd.argv.empty() && cmd.written_paths.empty()) continue;
      if (!Mutates(cmd, Paths(sh)[i])) continue;
      return PolicyResult::Ask("Agent wants to run a command that may change files: '" + Join(cmd) +
                               "'. Approve?");
    }
    return std::optional<PolicyResult>();
  }

 private:
  bool Mutates(const shell::SimpleCommand& cmd, const std::vector<PathUse>& paths) const {
    if (!cmd.resolved || cmd.argv.empty() || cmd.dynamic[0]) return true;
    for (const PathUse& u : paths) {
      if (u.access == PathAccess::kWrite) return true;
    }
    static const std::set<std::string, std::less<>> kReadOnly = WordSet(kReadOnlyPrograms);
    bool listed = kReadOnly.count(cmd.name) ||
                  std::find(extra_.begin(), extra_.end(), cmd.name) != extra_.end();
    if (!listed) return true;
    if (cmd.name == "find") {
      for (const std::string& w : cmd.argv) {
        if (InWordList("-delete -exec -execdir -ok -okdir -fprint -fprintf -fls", w)) return true;
      }
    }
    if (cmd.name == "git") {
      size_t k = shell::InvocationEnd(cmd, "git");
      if (k == std::string::npos || k >= cmd.argv.size()) return true;
      const std::string& sub = cmd.argv[k];
      static const std::set<std::string, std::less<>> kGit = WordSet(kReadOnlyGit);
      if (!kGit.count(sub)) return true;
      // `git branch -d x`, `git tag v1`, `git config k v` change things.
      size_t positional = 0;
      for (size_t i = k + 1; i < cmd.argv.size(); ++i) {
        const std::string& w = cmd.argv[i];
        if (InWordList("-d -D --delete -m -M -c -C -f --force --add --unset --replace-all "
                       "--set-upstream-to -u",
                       w)) {
          return true;
        }
        if (!w.empty() && w[0] != '-') ++positional;
      }
      if ((sub == "branch" || sub == "tag") && positional > 0) return true;
      if (sub == "config" && positional > 1) return true;
    }
    return false;
  }

  ToolTable tools_;
  std::vector<std::string> extra_;
};

// block_working_dir_changes: keeps the agent in its working directory.
// `cd`, `pushd`, `popd`, `chdir` and `git -C DIR` to anywhere outside
// allowed_dirs, and `git worktree add|move|remove`, get the action; so do
// tool inputs that name a working directory (workdir, dir_path, cwd,
// directory) outside allowed_dirs. Relative targets resolve against the
// session's cwd.
class BlockWorkingDirChanges : public Policy {
 public:
  BlockWorkingDirChanges(const Json& params, std::vector<ParamError>*)
      : tools_(ShellTable(params)),
        block_cd_(params.at("block_cd").get<bool>()),
        block_worktree_(params.at("block_worktree").get<bool>()),
        allowed_(StringList(params, "allowed_dirs")),
        action_(params.at("action").get<std::string>()) {}

  EvalResult Evaluate(const Event& event, const SessionView& session) const override {
    ToolCallFacts facts = tools_.Describe(event.tool(), event.input());
    if (facts.role != ToolRole::kShell) return std::optional<PolicyResult>();
    const std::string& cwd = session.state().cwd;
    std::optional<PolicyResult> best;
    for (const char* key : {"workdir", "dir_path", "cwd", "directory"}) {
      auto it = event.input().find(key);
      if (block_cd_ && it != event.input().end() && it->is_string() &&
          !Allowed(it->get<std::string>(), false, cwd)) {
        KeepStricter(&best, Act(action_, "Running in '" + it->get<std::string>() +
                                             "' leaves the working directory"));
      }
    }
    for (const shell::SimpleCommand& cmd : AnalyzeCommands(facts).commands) {
      std::string what = Join(cmd);
      if (block_cd_ && InWordList("cd pushd popd chdir", cmd.name)) {
        std::string target;
        bool dynamic = true;
        for (size_t k = 1; k < cmd.argv.size(); ++k) {
          if (cmd.argv[k] == "--" || (cmd.argv[k][0] == '-' && cmd.argv[k] != "-")) continue;
          target = cmd.argv[k];
          dynamic = cmd.dynamic[k];
          break;
        }
        if (cmd.name == "popd" || target.empty() || target == "-" ||
            !Allowed(target, dynamic, cwd)) {
          KeepStricter(
              &best, Act(action_, "Changing the working directory is not allowed: '" + what + "'"));
        }
      }
      if (block_cd_ && cmd.name == "git") {
        for (size_t k = 1; k + 1 < cmd.argv.size(); ++k) {
          if (cmd.argv[k] != "-C") continue;
          if (!Allowed(cmd.argv[k + 1], cmd.dynamic[k + 1], cwd)) {
            KeepStricter(&best, Act(action_,
                                    "git -C outside the working directory is not "
                                    "allowed: '" +
                                        what + "'"));
          }
          break;
        }
      }
      if (block_worktree_ && (shell::IsInvocation(cmd, "git", {"worktree", "add"}) ||
                              shell::IsInvocation(cmd, "git", {"worktree", "move"}) ||
                              shell::IsInvocation(cmd, "git", {"worktree", "remove"}))) {
        KeepStricter(&best, Act(action_, "Managing git worktrees is not allowed: '" + what + "'"));
      }
    }
    return best;
  }

 private:
  // Whether `dir` is an allowed directory or lies under one (both taken
  // lexically, relative ones under the session's cwd).
  bool Allowed(const std::string& dir, bool dynamic, const std::string& cwd) const {
    if (dynamic) return false;
    const auto& targets = CachedPathCandidates(dir, cwd);
    for (const std::string& allowed : allowed_) {
      std::string base = allowed;
      if (!base.empty() && base[0] != '/' && base[0] != '~' && !cwd.empty())
        base = cwd + "/" + base;
      base = std::filesystem::path(base).lexically_normal().string();
      while (base.size() > 1 && base.back() == '/') base.pop_back();
      for (const std::string& t : targets) {
        if (t == base || (t.size() > base.size() && t.compare(0, base.size(), base) == 0 &&
                          (base == "/" || t[base.size()] == '/'))) {
          return true;
        }
      }
    }
    return false;
  }

  ToolTable tools_;
  bool block_cd_, block_worktree_;
  std::vector<std::string> allowed_;
  std::string action_;
};

}  // namespace

Status RegisterCommandPolicies(PolicyRegistry* registry) {
  PolicyType deny;
  deny.name = "deny_commands";
  deny.description =
      "Denies shell commands matching glob patterns such as \"rm -rf /\" or \"curl * | sh\".";
  deny.events = {EventType::kToolCall};
  deny.params = {
      {"patterns", ParamType::kStringList, nullptr, true,
       "Command globs: program, -flags, --options, argument globs, * and \" | \" between "
       "pipeline stages."},
      {"action", ParamType::kString, "deny", false, "deny or ask.", {"deny", "ask"}},
      {"shell_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names to treat as shell tools."},
  };
  deny.create = FactoryOf<DenyCommands>();
  REINS_RETURN_IF_ERROR(registry->Register(std::move(deny)));

  PolicyType mutation;
  mutation.name = "ask_on_mutation";
  mutation.description =
      "Asks before any write or edit tool call and any shell command that may change files.";
  mutation.events = {EventType::kToolCall};
  mutation.params = {
      {"read_only_commands", ParamType::kStringList, Json::array(), false,
       "More programs to treat as read-only."},
      {"tools", ParamType::kStringList, Json::array(), false, "More tool names that write files."},
      {"shell_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names to treat as shell tools."},
  };
  mutation.create = FactoryOf<AskOnMutation>();
  REINS_RETURN_IF_ERROR(registry->Register(std::move(mutation)));

  PolicyType wd;
  wd.name = "block_working_dir_changes";
  wd.description =
      "Keeps the agent in its working directory: cd, pushd, git -C and git worktree outside "
      "allowed_dirs.";
  wd.events = {EventType::kToolCall};
  wd.params = {
      {"block_cd", ParamType::kBoolean, true, false,
       "Gate cd, pushd, popd, chdir, git -C and working-directory tool inputs."},
      {"block_worktree", ParamType::kBoolean, true, false,
       "Gate git worktree add, move and remove."},
      {"allowed_dirs", ParamType::kStringList, Json::array(), false,
       "Directories (and everything under them) the agent may move to; relative ones are under "
       "the session's cwd."},
      {"action", ParamType::kString, "deny", false, "deny or ask.", {"deny", "ask"}},
      {"shell_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names to treat as shell tools."},
  };
  wd.create = FactoryOf<BlockWorkingDirChanges>();
  return registry->Register(std::move(wd),
                            {ReferenceHandler("working_dir", "block_working_dir_changes")});
}

}  // namespace reins
