// What shell commands do, for builtins: the commands of a tool call, the
// files a command reads or writes, and the details of a `git push`.
// Built on the shell analyzer (builtins/shell/shell.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builtins/shell/shell.h"
#include "builtins/tool_families.h"
#include "engine/policy.h"

namespace reins {

// How a command uses a path it names.
enum class PathAccess : uint8_t { kRead, kWrite, kAny };

struct PathUse {
  std::string path;
  PathAccess access = PathAccess::kAny;
  bool dynamic = false;  // contains an expansion or glob the analyzer did not do
};

// Every simple command of a shell tool call (all of its command lines), and
// whether all of them could be resolved.
struct ShellCommands {
  std::vector<std::string> lines;  // what was analyzed
  std::vector<shell::SimpleCommand> commands;
  bool resolved = true;
  // PathsOf(commands[i]) for every i, computed on first use by Paths().
  mutable std::optional<std::vector<std::vector<PathUse>>> paths;
};
// Most builtins look at the same command in turn: the last analysis is kept
// per thread, and the reference stays valid until this thread's next call.
const ShellCommands& AnalyzeCommands(const ToolCallFacts& facts);

// The paths a command names: redirection targets (written or read), and its
// arguments, classified by what the program is known to do with them (cat
// reads, rm and tee write, cp reads its sources and writes its target, ...).
// Arguments of programs the table does not know count as kAny. Values of
// "--opt=VALUE", "key=VALUE" and "@FILE" arguments are paths too.
std::vector<PathUse> PathsOf(const shell::SimpleCommand& cmd);

// PathsOf of each of sh.commands, computed once per analysis.
const std::vector<std::vector<PathUse>>& Paths(const ShellCommands& sh);

struct GitPush {
  std::string remote;  // "" when none is named
  bool remote_dynamic = false;
  std::vector<std::string> refspecs;
  bool force = false;    // --force, -f, --force-with-lease, --force-if-includes, +refspec
  bool remove = false;   // --delete, -d, :refspec
  bool tags = false;     // --tags, --follow-tags, refs/tags/..., "tag NAME"
  bool mirror = false;   // --mirror, --all (every branch), --prune
  bool dynamic = false;  // an argument the analyzer could not resolve
};

// The push a command performs, when it is a `git push`.
std::optional<GitPush> ParseGitPush(const shell::SimpleCommand& cmd);

// The branch a refspec updates on the remote ("main", "src:dst" -> "dst",
// "+dst" -> "dst", ":dst" -> "dst"); refs/heads/ is dropped.
std::string RefspecTarget(std::string_view refspec);

// A git remote as written: a URL of a GitHub repository ("owner/repo",
// lowercase), a URL on another host, or an alias such as "origin" whose URL
// is not known here. Look-alike hosts (evil-github.com, github.com.evil.io)
// are other hosts.
struct Remote {
  enum Kind { kAlias, kGitHub, kOtherHost } kind = kAlias;
  std::string repo;  // kGitHub: owner/repo
  std::string host;  // kGitHub, kOtherHost
};
Remote ClassifyRemote(std::string_view remote);

// Orders answers by restrictiveness (deny > ask > modify > allow > none) and
// keeps the stricter: across the commands of one tool call the most
// restrictive verdict wins.
void KeepStricter(std::optional<PolicyResult>* best, PolicyResult candidate);

}  // namespace reins
