#include "builtins/github_ops.h"

#include "builtins/builtin_util.h"
#include "builtins/shell_facts.h"
#include "engine/json_fields.h"

namespace reins {

namespace {

struct GhRule {
  const char* group;
  const char* reads;
  const char* writes;
  const char* destructive;
};

// gh subcommands by what they do to a repository.
const GhRule kGh[] = {
    {"pr", "list view diff checks status checkout",
     "create merge close reopen edit comment review ready lock unlock", ""},
    {"issue", "list view status",
     "create close reopen edit comment transfer pin unpin lock unlock develop", "delete"},
    {"repo", "view clone list", "create fork edit rename sync set-default deploy-key",
     "delete archive"},
    {"release", "list view download", "create edit upload", "delete delete-asset"},
    {"run", "list view watch download", "cancel rerun", "delete"},
    {"workflow", "list view", "run enable disable", ""},
    {"label", "list", "create edit clone", "delete"},
    {"secret", "list", "set", "delete"},
    {"variable", "list get", "set", "delete"},
    {"gist", "view list clone", "create edit", "delete"},
    {"cache", "list", "", "delete"},
    {"ruleset", "list view check", "", ""},
    {"project", "list view field-list item-list", "create edit item-add item-edit", "delete"},
};

// The value of -R/--repo (gh) anywhere in argv.
std::string GhRepoFlag(const shell::SimpleCommand& cmd) {
  for (size_t k = 1; k < cmd.argv.size(); ++k) {
    const std::string& w = cmd.argv[k];
    if ((w == "-R" || w == "--repo") && k + 1 < cmd.argv.size()) return Lower(cmd.argv[k + 1]);
    if (w.rfind("--repo=", 0) == 0) return Lower(w.substr(7));
  }
  return {};
}

std::string Join(const shell::SimpleCommand& cmd) {
  std::string out;
  for (size_t i = 0; i < cmd.argv.size() && out.size() < 100; ++i) {
    out += (i ? " " : "") + cmd.argv[i];
  }
  return out;
}

void SetRemote(GitHubOp* op, std::string_view remote) {
  Remote r = ClassifyRemote(remote);
  op->repo = r.repo;
  op->host = r.host;
  op->host_other = r.kind == Remote::kOtherHost;
}

// The first non-option word after index k.
std::string FirstPositional(const shell::SimpleCommand& cmd, size_t k, bool* dynamic) {
  for (; k < cmd.argv.size(); ++k) {
    if (!cmd.argv[k].empty() && cmd.argv[k][0] == '-') continue;
    *dynamic = cmd.dynamic[k];
    return cmd.argv[k];
  }
  return {};
}

std::optional<GitHubOp> GitOp(const shell::SimpleCommand& cmd) {
  GitHubOp op;
  op.what = Join(cmd);
  if (auto push = ParseGitPush(cmd)) {
    op.kind = GitHubOp::kWrite;
    SetRemote(&op, push->remote);
    op.branch_targeted = true;
    op.force = push->force;
    op.tags = push->tags;
    op.destructive = push->remove || push->mirror;
    op.unresolved = push->remote_dynamic;
    bool known = !push->dynamic && !push->mirror;
    for (const std::string& ref : push->refspecs) {
      std::string target = RefspecTarget(ref);
      if (target.rfind("refs/tags/", 0) == 0) continue;
      if (target.empty() || target == "HEAD" || target.rfind("refs/", 0) == 0) known = false;
      op.branches.push_back(target);
    }
    if (!known || push->refspecs.empty()) op.branches.clear();
    return op;
  }
  for (const char* sub : {"clone", "fetch", "pull", "ls-remote"}) {
    size_t k = shell::InvocationEnd(cmd, "git", {sub});
    if (k == std::string::npos) continue;
    op.kind = GitHubOp::kRead;
    bool dynamic = false;
    std::string remote = FirstPositional(cmd, k, &dynamic);
    op.unresolved = dynamic;
    if (!remote.empty()) SetRemote(&op, remote);
    return op;
  }
  return std::nullopt;
}

std::optional<GitHubOp> GhOp(const shell::SimpleCommand& cmd) {
  GitHubOp op;
  op.what = Join(cmd);
  op.repo = GhRepoFlag(cmd);
  std::string group = cmd.argv.size() > 1 ? cmd.argv[1] : "";
  std::string action = cmd.argv.size() > 2 ? cmd.argv[2] : "";
  if (group == "api") {
    std::string method = "GET";
    bool fields = false;
    for (size_t k = 2; k < cmd.argv.size(); ++k) {
      const std::string& w = cmd.argv[k];
      if ((w == "-X" || w == "--method") && k + 1 < cmd.argv.size()) method = cmd.argv[k + 1];
      if (w.rfind("--method=", 0) == 0) method = w.substr(9);
      if (InWordList("-f -F --field --raw-field --input", w.substr(0, w.find('=')))) fields = true;
      if (w.rfind("repos/", 0) == 0 || w.rfind("/repos/", 0) == 0) {
        std::string path = w.substr(w.find("repos/") + 6);
        size_t second = path.find('/', path.find('/') + 1);
        op.repo = Lower(path.substr(0, second));
      }
    }
    method = Lower(method);
    op.kind = method == "get" && !fields ? GitHubOp::kRead : GitHubOp::kWrite;
    op.destructive = method == "delete";
    return op;
  }
  if (group == "search" || group == "browse" || group == "status" || group == "auth") {
    op.kind = GitHubOp::kRead;
    return op;
  }
  for (const GhRule& r : kGh) {
    if (group != r.group) continue;
    if (InWordList(r.reads, action)) op.kind = GitHubOp::kRead;
    if (InWordList(r.writes, action)) op.kind = GitHubOp::kWrite;
    if (InWordList(r.destructive, action)) op.kind = GitHubOp::kWrite, op.destructive = true;
    if (group == "repo" && op.repo.empty() && cmd.argv.size() > 3 && cmd.argv[3][0] != '-') {
      op.repo = Lower(cmd.argv[3]);
    }
    if (group == "release" && action == "create") op.tags = true;       // it creates a tag
    if (group == "pr" && action == "merge") op.branch_targeted = true;  // base: unknown
  }
  return op;  // kUnknown when the table does not know it
}

const char* const kMcpReads[] = {"get_file_contents", "get_me", "pull_request_read", "issue_read"};
const char* const kMcpDestructive[] = {"delete_file", "delete_branch", "delete_release",
                                       "delete_repository", "delete_workflow_run_logs"};
const char* const kMcpBranchWrites[] = {"create_or_update_file", "push_files",
                                        "delete_file",           "create_branch",
                                        "delete_branch",         "update_pull_request_branch",
                                        "merge_pull_request"};
constexpr const char* kReadVerbs = "get list search find fetch read";
constexpr const char* kWriteVerbs =
    "create update delete merge push add remove set fork run rerun cancel assign submit request "
    "edit close reopen lock unlock dismiss mark manage transfer";

}  // namespace

std::vector<GitHubOp> OpsOfCommand(const shell::SimpleCommand& cmd) {
  std::vector<GitHubOp> out;
  if (cmd.name == "git") {
    if (auto op = GitOp(cmd)) out.push_back(std::move(*op));
  } else if (cmd.name == "gh") {
    if (auto op = GhOp(cmd)) out.push_back(std::move(*op));
  }
  // A command that might be a push or a gh call once resolved.
  bool unknown_program = !cmd.argv.empty() && cmd.dynamic[0];
  if (out.empty() && !cmd.resolved && (unknown_program || cmd.name == "git" || cmd.name == "gh")) {
    GitHubOp op;
    op.kind = GitHubOp::kWrite;
    op.what = Join(cmd);
    op.unresolved = true;
    out.push_back(std::move(op));
  }
  return out;
}

std::optional<GitHubOp> OpOfMcpTool(std::string_view tool, const Json& input,
                                    const std::vector<std::string>& prefixes) {
  std::string name;
  for (const std::string& p : prefixes) {
    if (tool.substr(0, p.size()) == p) name = std::string(tool.substr(p.size()));
  }
  if (name.empty()) return std::nullopt;
  GitHubOp op;
  op.what = std::string(tool);
  auto has = [&](const char* const* list, size_t n) {
    return std::find(list, list + n, name) != list + n;
  };
  std::string verb = name.substr(0, name.find('_'));
  if (has(kMcpReads, std::size(kMcpReads)) || InWordList(kReadVerbs, verb) ||
      (name.size() > 5 && name.substr(name.size() - 5) == "_read")) {
    op.kind = GitHubOp::kRead;
  } else if (InWordList(kWriteVerbs, verb) ||
             (name.size() > 6 && name.substr(name.size() - 6) == "_write")) {
    op.kind = GitHubOp::kWrite;
  }
  op.destructive =
      has(kMcpDestructive, std::size(kMcpDestructive)) ||
      (name.find("_write") != std::string::npos && Lower(JsonString(input, "method")) == "delete");
  auto str = [&](const char* key) {
    auto it = input.find(key);
    return it != input.end() && it->is_string() ? Lower(it->get<std::string>()) : std::string();
  };
  std::string owner = str("owner"), repo = str("repo");
  if (!owner.empty() && !repo.empty()) {
    op.repo = owner + "/" + repo;
  } else {
    for (const char* key : {"repository", "full_name", "repo", "nameWithOwner"}) {
      if (str(key).find('/') != std::string::npos) op.repo = str(key);
    }
  }
  if (has(kMcpBranchWrites, std::size(kMcpBranchWrites))) {
    op.branch_targeted = true;
    for (const char* key :
         {"branch", "ref", "base", "branch_name", "base_branch", "target_branch"}) {
      auto it = input.find(key);
      if (it != input.end() && it->is_string()) {
        op.branches.push_back(it->get<std::string>());
        break;
      }
    }
  }
  return op;
}

}  // namespace reins
