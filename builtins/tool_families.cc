#include "builtins/tool_families.h"

#include <algorithm>

#include "engine/json_fields.h"

namespace reins {

namespace {

// Tool names by role. Sources: each harness's tool definitions and hook
// payloads (Claude Code sdk-tools, Codex tools and hook names, Gemini CLI
// declarations with their renamed fields, Cursor hooks, Omnigent builtins,
// and the shell tools of pi, opencode, Hermes and Goose).
const std::pair<ToolRole, std::vector<const char*>> kTable[] = {
    {ToolRole::kShell,
     {"Bash", "Shell", "PowerShell", "Monitor", "run_shell_command", "sys_os_shell", "shell",
      "shell_command", "exec_command", "local_shell", "container.exec", "bash", "terminal",
      "developer__shell", "sys_terminal_send"}},
    {ToolRole::kRead,
     {"Read", "NotebookRead", "read_file", "read_many_files", "sys_os_read", "view_image", "read"}},
    {ToolRole::kWrite, {"Write", "write_file", "sys_os_write", "write", "Delete"}},
    {ToolRole::kEdit,
     {"Edit", "MultiEdit", "NotebookEdit", "replace", "sys_os_edit", "apply_patch", "edit",
      "developer__text_editor"}},
    {ToolRole::kSearch,
     {"Glob", "Grep", "LS", "Ls", "SemSearch", "glob", "grep_search", "search_file_content",
      "list_directory", "list_dir", "find", "grep", "ls", "search_files"}},
    {ToolRole::kWeb,
     {"WebFetch", "WebSearch", "Fetch", "web_fetch", "google_web_search", "web_search"}},
    {ToolRole::kSkill, {"Skill", "load_skill", "read_skill_file", "activate_skill"}},
    {ToolRole::kAgentStart,
     {"sys_agent_start", "Task", "Agent", "spawn_agent", "sys_session_send", "sys_session_create"}},
};

const char* const kCommandFields[] = {"command", "cmd", "text"};
const char* const kPathFields[] = {"file_path", "absolute_path", "notebook_path",
                                   "path",      "dir_path",      "directory"};
const char* const kPathListFields[] = {"paths", "include"};
const char* const kPatchFields[] = {"input", "patch", "command"};
const char* const kSkillFields[] = {"skill", "skill_name", "name"};

// Quotes one word for a POSIX shell, only when it needs it.
std::string ShellQuote(const std::string& word) {
  bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-_./=:,+%@").find(c) != std::string_view::npos;
  });
  if (plain) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Codex's `shell` tool passes argv as a list; rebuild the command line.
std::string JoinArgv(const Json& argv) {
  std::string out;
  for (const Json& a : argv) {
    if (!a.is_string()) continue;
    out += (out.empty() ? "" : " ") + ShellQuote(a.get<std::string>());
  }
  return out;
}

void AddUrls(std::string_view text, std::vector<std::string>* urls) {
  for (size_t pos = 0; (pos = text.find("http", pos)) != std::string_view::npos;) {
    std::string_view rest = text.substr(pos);
    if (rest.substr(0, 7) != "http://" && rest.substr(0, 8) != "https://") {
      pos += 4;
      continue;
    }
    size_t end = rest.find_first_of(" \t\n\"'<>)]}");
    urls->emplace_back(rest.substr(0, end));
    pos += urls->back().size();
  }
}

}  // namespace

std::string_view ToolRoleName(ToolRole role) {
  switch (role) {
    case ToolRole::kOther:
      return "other";
    case ToolRole::kShell:
      return "shell";
    case ToolRole::kRead:
      return "read";
    case ToolRole::kWrite:
      return "write";
    case ToolRole::kEdit:
      return "edit";
    case ToolRole::kSearch:
      return "search";
    case ToolRole::kWeb:
      return "web";
    case ToolRole::kSkill:
      return "skill";
    case ToolRole::kAgentStart:
      return "agent start";
  }
  return "?";
}

std::string ToolCallFacts::Preview(size_t max) const {
  std::string p = !commands.empty()      ? commands.front()
                  : !write_paths.empty() ? write_paths.front()
                  : !read_paths.empty()  ? read_paths.front()
                  : !urls.empty()        ? urls.front()
                                         : skill;
  for (char& c : p) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (p.size() > max) {
    size_t cut = max - 3;
    while (cut > 0 && (static_cast<unsigned char>(p[cut]) & 0xC0) == 0x80) --cut;
    p = p.substr(0, cut) + "...";
  }
  return p;
}

const ToolTable& ToolTable::Default() {
  static const ToolTable* table = [] {
    auto* t = new ToolTable();
    for (const auto& [role, names] : kTable) {
      for (const char* name : names) t->roles_.emplace(name, role);
    }
    return t;
  }();
  return *table;
}

ToolTable ToolTable::With(ToolRole role, const std::vector<std::string>& names) const {
  ToolTable copy = *this;
  for (const std::string& n : names) copy.roles_[n] = role;
  return copy;
}

ToolRole ToolTable::RoleOf(std::string_view tool) const {
  auto it = roles_.find(tool);
  return it == roles_.end() ? ToolRole::kOther : it->second;
}

std::vector<std::string> ToolTable::NamesWith(ToolRole role) const {
  std::vector<std::string> out;
  for (const auto& [name, r] : roles_) {
    if (r == role) out.push_back(name);
  }
  return out;
}

ToolCallFacts ToolTable::Describe(std::string_view tool, const Json& input) const {
  ToolCallFacts f;
  f.tool = std::string(tool);
  f.role = RoleOf(tool);
  f.mcp = SplitMcpName(tool, &f.mcp_server, &f.mcp_tool);
  if (!input.is_object()) return f;
  auto paths = [&](std::vector<std::string>* out) {
    for (const char* key : kPathFields) {
      std::string p = JsonString(input, key);
      if (!p.empty()) out->push_back(std::move(p));
    }
    for (const char* key : kPathListFields) {
      auto it = input.find(key);
      if (it == input.end() || !it->is_array()) continue;
      for (const Json& p : *it) {
        if (p.is_string()) out->push_back(p.get<std::string>());
      }
    }
  };
  switch (f.role) {
    case ToolRole::kShell:
      for (const char* key : kCommandFields) {
        auto it = input.find(key);
        if (it == input.end()) continue;
        if (it->is_string()) f.commands.push_back(it->get<std::string>());
        if (it->is_array()) f.commands.push_back(JoinArgv(*it));
        break;
      }
      break;
    case ToolRole::kRead:
    case ToolRole::kSearch:
      paths(&f.read_paths);
      break;
    case ToolRole::kWrite:
    case ToolRole::kEdit:
      if (tool == "apply_patch") {
        for (const char* key : kPatchFields) {
          std::string patch = JsonString(input, key);
          if (patch.empty()) continue;
          f.write_paths = PatchPaths(patch);
          break;
        }
      } else {
        paths(&f.write_paths);
      }
      break;
    case ToolRole::kWeb:
      if (std::string url = JsonString(input, "url"); !url.empty()) f.urls.push_back(url);
      AddUrls(JsonString(input, "prompt"), &f.urls);
      break;
    case ToolRole::kSkill:
      for (const char* key : kSkillFields) {
        f.skill = JsonString(input, key);
        if (!f.skill.empty()) break;
      }
      break;
    case ToolRole::kAgentStart:
    case ToolRole::kOther:
      break;
  }
  return f;
}

std::vector<std::string> PatchPaths(std::string_view patch) {
  std::vector<std::string> out;
  const std::string_view markers[] = {
      "*** Add File: ", "*** Update File: ", "*** Delete File: ", "*** Move to: "};
  size_t pos = 0;
  while (pos < patch.size()) {
    size_t end = patch.find('\n', pos);
    std::string_view line =
        patch.substr(pos, end == std::string_view::npos ? patch.npos : end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (std::string_view m : markers) {
      if (line.substr(0, m.size()) == m) out.emplace_back(line.substr(m.size()));
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

bool SplitMcpName(std::string_view tool, std::string* server, std::string* name) {
  if (tool.substr(0, 5) != "mcp__") return false;
  std::string_view rest = tool.substr(5);
  size_t sep = rest.rfind("__");
  if (sep == std::string_view::npos || sep == 0 || sep + 2 >= rest.size()) return false;
  *server = std::string(rest.substr(0, sep));
  *name = std::string(rest.substr(sep + 2));
  return true;
}

std::string_view ToolSuffix(std::string_view tool) {
  size_t sep = tool.rfind("__");
  return sep == std::string_view::npos ? tool : tool.substr(sep + 2);
}

}  // namespace reins
