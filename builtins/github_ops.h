// GitHub operations as github_policy and protected_branches see them: what a
// git or gh command, or a GitHub MCP tool call, reads or writes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builtins/shell/shell.h"
#include "engine/canonical_json.h"

namespace reins {

struct GitHubOp {
  enum Kind { kRead, kWrite, kUnknown } kind = kUnknown;
  std::string what;         // the command or tool, for reasons
  std::string repo;         // owner/repo (lowercase) when known
  bool host_other = false;  // another host than GitHub, or a local path
  std::string host;
  bool branch_targeted = false;       // writes to branches (pushes, file writes, merges)
  std::vector<std::string> branches;  // the branches it writes; empty: unknown
  bool force = false;
  bool tags = false;
  bool destructive = false;  // deletes branches, tags, releases, repositories; mirrors
  bool unresolved = false;   // a shell command that might be a GitHub write
};

// The GitHub operations of one shell command (git push / clone / fetch /
// pull / ls-remote, gh ...); none for other commands.
std::vector<GitHubOp> OpsOfCommand(const shell::SimpleCommand& cmd);

// The operation of a GitHub MCP tool call whose name starts with one of
// `prefixes`; nullopt for other tools.
std::optional<GitHubOp> OpOfMcpTool(std::string_view tool, const Json& input,
                                    const std::vector<std::string>& prefixes);

}  // namespace reins
