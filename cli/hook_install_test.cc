// `reins hook HARNESS install|uninstall` on real settings files: reins's
// entries come and go, the user's own settings stay as they were.
#include "cli/hook_install.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

const char* kReins = "/opt/my tools/reins";  // a path that needs quoting

// The user's settings: their own hooks, in events reins also uses and one it does not.
const char* kUserSettings = R"json({
  "model": "opus",
  "permissions": {"allow": ["Bash(ls)"]},
  "hooks": {
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./audit.sh"}]}],
    "Notification": [{"hooks": [{"type": "command", "command": "notify-send reins hook claude"}]}]
  }
})json";

HookInstall Spec(const std::string& path, const std::string& reins = kReins) {
  HookInstall spec;
  spec.harness = "claude";
  spec.path = path;
  spec.events = {{"PreToolUse", "*"}, {"Stop", ""}};
  spec.command = {reins, "hook", "claude", "--db", "/var/lib/reins/log db.sqlite"};
  spec.timeout = 630;
  return spec;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

Json ReadJson(const std::string& path) { return Json::parse(ReadAll(path)); }

Json Hook(const std::string& command) { return {{"type", "command"}, {"command", command}}; }

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("install adds reins's hooks beside the user's, once however often it runs",
          "[hook_install]") {
  TempDir dir;
  std::string path = dir.File("settings.json");
  Write(path, kUserSettings);
  Json user = Json::parse(kUserSettings);
  REQUIRE(InstallHooks(Spec(path)).ok());

  Json s = ReadJson(path);
  CHECK(s["model"] == user["model"]);
  CHECK(s["permissions"] == user["permissions"]);
  CHECK(s["hooks"]["Notification"] == user["hooks"]["Notification"]);
  REQUIRE(s["hooks"]["PreToolUse"].size() == 2);
  CHECK(s["hooks"]["PreToolUse"][0] == user["hooks"]["PreToolUse"][0]);
  Json reins = {{"type", "command"}, {"command", ShellJoin(Spec(path).command)}, {"timeout", 630}};
  CHECK(s["hooks"]["PreToolUse"][1] == Json({{"matcher", "*"}, {"hooks", {reins}}}));
  CHECK(s["hooks"]["Stop"] == Json::array({{{"hooks", {reins}}}}));  // no matcher: none written

  std::string once = ReadAll(path);
  REQUIRE(InstallHooks(Spec(path)).ok());
  CHECK(ReadAll(path) == once);

  // reins moved: its old entries are replaced, not kept beside the new ones.
  REQUIRE(InstallHooks(Spec(path, "/usr/local/bin/reins")).ok());
  s = ReadJson(path);
  REQUIRE(s["hooks"]["PreToolUse"].size() == 2);
  CHECK(Has(s["hooks"]["PreToolUse"][1]["hooks"][0]["command"], "/usr/local/bin/reins hook"));
}

TEST_CASE("uninstall removes exactly reins's hooks for its harness", "[hook_install]") {
  TempDir dir;
  std::string path = dir.File("settings.json");
  Write(path, kUserSettings);
  REQUIRE(InstallHooks(Spec(path)).ok());
  REQUIRE(UninstallHooks(path, "claude").ok());
  CHECK(ReadJson(path) == Json::parse(kUserSettings));  // Stop, only reins's, is gone

  // Written by hand: quoted either way, in the user's group, or for another harness.
  Json mixed = {
      {"hooks",
       {{"PreToolUse",
         {{{"matcher", "Bash"},
           {"hooks",
            {Hook("./audit.sh"), Hook("\"/opt/my tools/reins\" hook claude --config a.yaml")}}},
          {{"matcher", "*"}, {"hooks", {Hook("'/opt/my tools/reins' hook claude")}}},
          {{"matcher", "*"}, {"hooks", {Hook("/usr/bin/reins hook gemini")}}},
          {{"matcher", "Edit"}, {"hooks", Json::array()}}}},
        {"Stop", {{{"hooks", {Hook("reins hook claude")}}}}},
        {"SessionEnd",
         {{{"hooks", {Hook("/usr/bin/reins-audit hook claude"), Hook("reins claude")}}}}}}}};
  Write(path, mixed.dump());
  auto report = UninstallHooks(path, "claude");
  REQUIRE(report.ok());
  CHECK(Has(*report, "removed 3"));
  Json expected = mixed;
  expected["hooks"]["PreToolUse"][0]["hooks"].erase(1);
  expected["hooks"]["PreToolUse"].erase(1);
  expected["hooks"].erase("Stop");
  CHECK(ReadJson(path) == expected);

  // Another harness's hooks are that harness's to remove.
  REQUIRE(UninstallHooks(path, "gemini").ok());
  CHECK(ReadJson(path)["hooks"]["PreToolUse"].size() == 2);
}

TEST_CASE("uninstall deletes a settings file that held only reins's hooks", "[hook_install]") {
  TempDir dir;
  std::string path = dir.File("project/.claude/settings.json");
  REQUIRE(InstallHooks(Spec(path)).ok());  // creates the directory and the file
  REQUIRE(std::filesystem::exists(path));
  auto report = UninstallHooks(path, "claude");
  REQUIRE(report.ok());
  CHECK(Has(*report, "deleted"));
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(UninstallHooks(path, "claude").ok());  // nothing there: nothing to do
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("settings reins cannot read are left as they are, and the error names them",
          "[hook_install]") {
  TempDir dir;
  std::string path = dir.File("settings.json");
  SECTION("not JSON") {
    const std::string broken = "{\"model\": \"opus\",\n  \"hooks\": {\n";
    Write(path, broken);
    auto installed = InstallHooks(Spec(path));
    REQUIRE_FALSE(installed.ok());
    CHECK(Has(installed.status().message(), path));
    CHECK(ReadAll(path) == broken);
    auto removed = UninstallHooks(path, "claude");
    REQUIRE_FALSE(removed.ok());
    CHECK(Has(removed.status().message(), path));
    CHECK(ReadAll(path) == broken);
  }
  SECTION("hooks of the wrong shape") {
    const std::string text = GENERATE(R"({"hooks": []})", R"({"hooks": {"Stop": {}}})", "[1]");
    Write(path, text);
    auto installed = InstallHooks(Spec(path));
    REQUIRE_FALSE(installed.ok());
    CHECK(Has(installed.status().message(), path));
    CHECK(ReadAll(path) == text);
  }
  int removed = 0;
  CHECK_FALSE(WithoutReinsHooks(Json::parse(R"({"hooks": "x"})"), "claude", &removed).ok());
  CHECK_FALSE(WithReinsHooks(Json::array(), Spec(path)).ok());
}

TEST_CASE("ShellJoin quotes only what the shell would split or expand", "[hook_install]") {
  CHECK(ShellJoin({"reins", "hook", "claude", "--db", "/var/x.db"}) ==
        "reins hook claude --db /var/x.db");
  std::vector<std::string> words = {
      "/opt/my tools/reins", "it's",  "say \"hi\"", "",  "$HOME",     "a*b",
      "back\\slash",         "x;y|z", "`id`",       "~", "two\nlines"};
  TempDir dir;
  std::string out = dir.File("argv.txt");
  std::string command = "printf '[%s]' " + ShellJoin(words) + " > " + ShellJoin({out});
  FILE* sh = popen(("/bin/sh -c " + ShellJoin({command})).c_str(), "r");
  REQUIRE(sh != nullptr);
  REQUIRE(pclose(sh) == 0);
  std::string expected;
  for (const std::string& w : words) expected += "[" + w + "]";
  CHECK(ReadAll(out) == expected);
}

// A settings file only its owner may read (Claude Code's may hold API keys)
// stays so, and a symlinked one (dotfiles) stays a link to the file that
// gets the hooks.
TEST_CASE("install keeps the settings file's permissions and links", "[hook_install]") {
  namespace fs = std::filesystem;
  TempDir dir;
  std::string path = dir.File("settings.json");
  Write(path, R"({"env": {"ANTHROPIC_API_KEY": "sk-secret"}})");
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  SECTION("the mode") {
    REQUIRE(InstallHooks(Spec(path)).ok());
    CHECK(fs::status(path).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
  }
  SECTION("a symlink") {
    std::string link = dir.File("link.json");
    fs::create_symlink(path, link);
    REQUIRE(InstallHooks(Spec(link)).ok());
    CHECK(fs::is_symlink(link));
    CHECK(ReadJson(path).contains("hooks"));
  }
}
