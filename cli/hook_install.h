// `reins hook HARNESS install|uninstall`: reins's entries in a harness's
// hook settings, merged without touching anything else.
//
// Claude Code (settings.json), Codex (hooks.json) and Gemini CLI
// (settings.json) share one shape:
//   {"hooks": {"EVENT": [{"matcher": "*", "hooks": [{"type": "command",
//                                                    "command": "...", "timeout": N}]}]}}
// An entry is reins's when its command runs a program named `reins` with
// `hook HARNESS` as its first arguments; install replaces those (so running
// it twice changes nothing), uninstall removes exactly those, then any group
// or event left empty, and the file itself when nothing else is left in it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/canonical_json.h"
#include "engine/status.h"

namespace reins {

struct HookEvent {
  std::string name;
  std::string matcher;  // empty: the group has no matcher
};

struct HookInstall {
  std::string harness;               // claude | codex | gemini: the `reins hook` subcommand
  std::string path;                  // the settings file
  std::vector<HookEvent> events;     // what reins hooks, in the harness's names
  std::vector<std::string> command;  // argv of the hook command (argv[0]: reins itself)
  std::optional<long> timeout;       // in the harness's unit (Claude, Codex: s; Gemini: ms)
  Json extra = Json::object();       // merged into the file's top level (a harness switch)
};

// The settings file's new content after adding `spec`'s hooks to `settings`
// (an object; the file's current content or {}). Fails when `settings` or
// its "hooks" is not of the expected shape.
Result<Json> WithReinsHooks(Json settings, const HookInstall& spec);

// `settings` without reins's `harness` hooks; `removed` counts them.
Result<Json> WithoutReinsHooks(Json settings, const std::string& harness, int* removed);

// Reads, updates and atomically rewrites the file. Install creates the file
// and its directory when missing; uninstall deletes the file when nothing is
// left. Returns a one-line report for the user.
Result<std::string> InstallHooks(const HookInstall& spec);
Result<std::string> UninstallHooks(const std::string& path, const std::string& harness);

// `argv` as one POSIX shell command line (words quoted only when needed).
std::string ShellJoin(const std::vector<std::string>& argv);

}  // namespace reins
