// Tool families: one table that maps every harness's tool names to roles, and
// says where each tool keeps its command, paths, URL or skill name.
//
// Builtins never compare tool names themselves: they ask Describe() what a
// tool call is and what it touches. The table (docs/policies.md#tool-families)
// covers Claude Code, Codex (model tools and hook names), Gemini CLI (current
// and renamed fields), Cursor, Omnigent and other harnesses' shell tools, and
// MCP tools named mcp__SERVER__TOOL. Policies accept `shell_tools` / `tools`
// parameters that add names to a role.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/canonical_json.h"

namespace reins {

enum class ToolRole : uint8_t {
  kOther,
  kShell,       // runs a shell command
  kRead,        // reads a file
  kWrite,       // creates or replaces a file
  kEdit,        // changes a file in place (including patches)
  kSearch,      // globs or greps the file system
  kWeb,         // fetches or searches the web
  kSkill,       // loads a skill
  kAgentStart,  // starts a sub-agent
};

std::string_view ToolRoleName(ToolRole role);

// What one tool call is and what it touches, read from its input.
struct ToolCallFacts {
  std::string tool;
  ToolRole role = ToolRole::kOther;
  std::vector<std::string> commands;     // shell command lines (shell tools)
  std::vector<std::string> read_paths;   // files or directories read or searched
  std::vector<std::string> write_paths;  // files written, edited, created or deleted
  std::vector<std::string> urls;
  std::string skill;
  // MCP tools (mcp__SERVER__TOOL, plugin servers included).
  bool mcp = false;
  std::string mcp_server, mcp_tool;
  // A one-line preview for reasons: the command, else the path, else the URL.
  std::string Preview(size_t max = 120) const;
  bool mutates() const { return role == ToolRole::kWrite || role == ToolRole::kEdit; }
};

class ToolTable {
 public:
  // The built-in table.
  static const ToolTable& Default();

  // A copy with extra names for `role` (e.g. a policy's `shell_tools`). Added
  // shell tools carry their command in `command`; file tools in `path` or
  // `file_path`.
  ToolTable With(ToolRole role, const std::vector<std::string>& names) const;

  // The role of a tool name (kOther when unknown).
  ToolRole RoleOf(std::string_view tool) const;

  // Describes a tool call from its name and input object.
  ToolCallFacts Describe(std::string_view tool, const Json& input) const;

  // All names with `role`, sorted (for docs and error messages).
  std::vector<std::string> NamesWith(ToolRole role) const;

 private:
  std::map<std::string, ToolRole, std::less<>> roles_;
};

// Paths named by a Codex apply_patch envelope: every Add / Update / Delete
// File and every Move to destination.
std::vector<std::string> PatchPaths(std::string_view patch);

// Splits an MCP tool name "mcp__server__tool" (or the plugin form
// "mcp__plugin_P_server__tool"); false when it is not one.
bool SplitMcpName(std::string_view tool, std::string* server, std::string* name);

// The last "__"-separated part of a tool name ("mcp__github__push_files" ->
// "push_files"); the name itself when it has none.
std::string_view ToolSuffix(std::string_view tool);

}  // namespace reins
