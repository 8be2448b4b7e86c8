#include "builtins/tool_families.h"

#include <catch2/catch.hpp>

using namespace reins;

TEST_CASE("tool families cover every harness's names", "[tools]") {
  const ToolTable& t = ToolTable::Default();
  for (const char* shell : {"Bash", "Shell", "run_shell_command", "sys_os_shell", "shell",
                            "exec_command", "shell_command"}) {
    CHECK(t.RoleOf(shell) == ToolRole::kShell);
  }
  CHECK(t.RoleOf("Read") == ToolRole::kRead);
  CHECK(t.RoleOf("read_file") == ToolRole::kRead);
  CHECK(t.RoleOf("sys_os_read") == ToolRole::kRead);
  CHECK(t.RoleOf("Write") == ToolRole::kWrite);
  CHECK(t.RoleOf("write_file") == ToolRole::kWrite);
  CHECK(t.RoleOf("Edit") == ToolRole::kEdit);
  CHECK(t.RoleOf("MultiEdit") == ToolRole::kEdit);
  CHECK(t.RoleOf("NotebookEdit") == ToolRole::kEdit);
  CHECK(t.RoleOf("replace") == ToolRole::kEdit);
  CHECK(t.RoleOf("apply_patch") == ToolRole::kEdit);
  CHECK(t.RoleOf("Glob") == ToolRole::kSearch);
  CHECK(t.RoleOf("search_file_content") == ToolRole::kSearch);
  CHECK(t.RoleOf("WebFetch") == ToolRole::kWeb);
  CHECK(t.RoleOf("Skill") == ToolRole::kSkill);
  CHECK(t.RoleOf("sys_agent_start") == ToolRole::kAgentStart);
  CHECK(t.RoleOf("mcp__github__push_files") == ToolRole::kOther);
  CHECK(t.With(ToolRole::kShell, {"MyShell"}).RoleOf("MyShell") == ToolRole::kShell);
}

TEST_CASE("tool calls say what they touch", "[tools]") {
  const ToolTable& t = ToolTable::Default();
  auto f = t.Describe("Bash", {{"command", "git push"}, {"description", "push"}});
  CHECK(f.commands == std::vector<std::string>{"git push"});
  f = t.Describe("shell", {{"command", {"bash", "-lc", "git push origin main"}}});
  CHECK(f.commands == std::vector<std::string>{"bash -lc 'git push origin main'"});
  f = t.Describe("exec_command", {{"cmd", "ls -la"}});
  CHECK(f.commands == std::vector<std::string>{"ls -la"});
  f = t.Describe("Read", {{"file_path", "/repo/.env"}});
  CHECK(f.read_paths == std::vector<std::string>{"/repo/.env"});
  f = t.Describe("read_file", {{"absolute_path", "/repo/a.txt"}});
  CHECK(f.read_paths == std::vector<std::string>{"/repo/a.txt"});
  f = t.Describe("sys_os_write", {{"path", "out.txt"}, {"content", "x"}});
  CHECK(f.write_paths == std::vector<std::string>{"out.txt"});
  CHECK(f.mutates());
  f = t.Describe("NotebookEdit", {{"notebook_path", "a.ipynb"}});
  CHECK(f.write_paths == std::vector<std::string>{"a.ipynb"});
  f = t.Describe("apply_patch", {{"command",
                                  "*** Begin Patch\n*** Update File: src/a.py\n@@\n-x\n+y\n"
                                  "*** Move to: src/b.py\n*** Add File: new.txt\n+hi\n"
                                  "*** Delete File: old.txt\n*** End Patch\n"}});
  CHECK(f.write_paths == std::vector<std::string>{"src/a.py", "src/b.py", "new.txt", "old.txt"});
  f = t.Describe("web_fetch", {{"prompt", "Summarize https://example.com/a and http://x.org."}});
  CHECK(f.urls == std::vector<std::string>{"https://example.com/a", "http://x.org."});
  f = t.Describe("Skill", {{"skill", "frontend-design"}});
  CHECK(f.skill == "frontend-design");
  f = t.Describe("mcp__github__push_files", {{"owner", "o"}});
  CHECK(f.mcp);
  CHECK(f.mcp_server == "github");
  CHECK(f.mcp_tool == "push_files");
  CHECK(ToolSuffix("mcp__github__push_files") == "push_files");
  CHECK(ToolSuffix("Bash") == "Bash");
}
