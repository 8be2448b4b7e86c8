// restrict_paths and self_protect: files the agent may not touch
// (docs/policies.md#restrict_paths, #self_protect).
#include <algorithm>

#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
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

// Every path a tool call touches: file tools' paths, and for shell tools the
// paths each command reads or writes (PathsOf).
struct Touch {
  PathUse use;
  std::string where;  // the tool or command, for reasons
};

std::vector<Touch> Touches(const ToolCallFacts& facts) {
  std::vector<Touch> out;
  for (const std::string& p : facts.read_paths)
    out.push_back({{p, PathAccess::kRead, false}, facts.tool});
  for (const std::string& p : facts.write_paths) {
    out.push_back({{p, PathAccess::kWrite, false}, facts.tool});
  }
  if (facts.role == ToolRole::kShell) {
    const ShellCommands& sh = AnalyzeCommands(facts);
    const auto& paths = Paths(sh);
    for (size_t i = 0; i < sh.commands.size(); ++i) {
      for (const PathUse& u : paths[i]) out.push_back({u, Join(sh.commands[i])});
    }
  }
  return out;
}

bool AccessMatches(const std::string& access, PathAccess use) {
  if (access == "any" || use == PathAccess::kAny) return true;
  return access == (use == PathAccess::kRead ? "read" : "write");
}

// restrict_paths: reading and/or writing paths that match the patterns gets
// the action. A path the analyzer could not resolve ($FILE, a glob) asks.
class RestrictPaths : public Policy {
 public:
  RestrictPaths(const Json& params, std::vector<ParamError>* errors)
      : tools_(ToolTable::Default()
                   .With(ToolRole::kShell, StringList(params, "shell_tools"))
                   .With(ToolRole::kRead, StringList(params, "read_tools"))
                   .With(ToolRole::kWrite, StringList(params, "write_tools"))),
        access_(params.at("access").get<std::string>()),
        action_(params.at("action").get<std::string>()) {
    for (const std::string& p : StringList(params, "paths")) patterns_.emplace_back(p);
    if (patterns_.empty()) errors->push_back({"paths", "name at least one path pattern"});
  }

  EvalResult Evaluate(const Event& event, const SessionView& session) const override {
    ToolCallFacts facts = tools_.Describe(event.tool(), event.input());
    std::optional<PolicyResult> best;
    for (const Touch& t : Touches(facts)) {
      if (!AccessMatches(access_, t.use.access)) continue;
      std::string verb = t.use.access == PathAccess::kRead    ? "Reading"
                         : t.use.access == PathAccess::kWrite ? "Writing"
                                                              : "Using";
      const auto& candidates = CachedPathCandidates(t.use.path, session.state().cwd);
      for (const PathPattern& p : patterns_) {
        if (p.MatchesCandidates(candidates)) {
          std::string reason = verb + " '" + t.use.path + "' is restricted (pattern '" +
                               p.pattern() + "'): " + t.where;
          KeepStricter(&best,
                       action_ == "ask" ? PolicyResult::Ask(reason) : PolicyResult::Deny(reason));
        }
      }
      if (t.use.dynamic && t.use.path.find_first_of("$*?[{`") != std::string::npos) {
        KeepStricter(&best, PolicyResult::Ask("Cannot tell which file '" + t.use.path +
                                              "' names; restricted paths: " + Patterns() + " (" +
                                              t.where + ")"));
      }
    }
    return best;
  }

 private:
  std::string Patterns() const {
    std::string out;
    for (const PathPattern& p : patterns_) out += (out.empty() ? "" : ", ") + p.pattern();
    return out;
  }

  ToolTable tools_;
  std::string access_, action_;
  std::vector<PathPattern> patterns_;
};

// Harness settings that hold reins's hooks: editing them switches reins off.
const char* const kHookFiles[] = {
    "~/.claude/settings.json",     "~/.claude/settings.local.json", ".claude/settings.json",
    ".claude/settings.local.json", "~/.codex/hooks.json",           "~/.codex/config.toml",
    ".codex/hooks.json",           "~/.gemini/settings.json",       ".gemini/settings.json"};

// self_protect: the agent may not read or write reins's own database,
// configuration or tokens, edit the harness hook settings that route it
// through reins, or run reins commands other than the read-only ones.
class SelfProtect : public Policy {
 public:
  SelfProtect(const Json& params, std::vector<ParamError>*)
      : tools_(ToolTable::Default().With(ToolRole::kShell, StringList(params, "shell_tools"))),
        allowed_commands_(StringList(params, "allowed_commands")) {
    for (const std::string& p : StringList(params, "protected_paths")) protected_.emplace_back(p);
    for (const std::string& p : StringList(params, "hook_files")) hooks_.emplace_back(p);
  }

  EvalResult Evaluate(const Event& event, const SessionView& session) const override {
    ToolCallFacts facts = tools_.Describe(event.tool(), event.input());
    const std::string& cwd = session.state().cwd;
    for (const Touch& t : Touches(facts)) {
      const auto& candidates = CachedPathCandidates(t.use.path, cwd);
      for (const PathPattern& p : protected_) {
        if (p.MatchesCandidates(candidates)) {
          return PolicyResult::Deny("'" + t.use.path +
                                    "' belongs to reins (its log, configuration or tokens); the "
                                    "agent may not touch it: " +
                                    t.where);
        }
      }
      if (t.use.access == PathAccess::kRead) continue;
      for (const PathPattern& p : hooks_) {
        if (p.MatchesCandidates(candidates)) {
          return PolicyResult::Deny("'" + t.use.path +
                                    "' holds the harness hooks that route tool calls through "
                                    "reins; the agent may not change it: " +
                                    t.where);
        }
      }
    }
    if (facts.role != ToolRole::kShell) return std::optional<PolicyResult>();
    for (const shell::SimpleCommand& cmd : AnalyzeCommands(facts).commands) {
      if (cmd.name == "reins") {
        std::string sub = cmd.argv.size() > 1 ? cmd.argv[1] : "";
        bool allowed = std::find(allowed_commands_.begin(), allowed_commands_.end(), sub) !=
                       allowed_commands_.end();
        if (!allowed) {
          return PolicyResult::Deny("reins commands are not available to the agent ('" + Join(cmd) +
                                    "'): it may not approve its own requests or "
                                    "change its guardrails");
        }
      } else if (!cmd.resolved && (cmd.argv.empty() || cmd.dynamic[0])) {
        return PolicyResult::Ask("Could not tell which program '" + Join(cmd) +
                                 "' runs; it might be reins");
      }
    }
    return std::optional<PolicyResult>();
  }

 private:
  ToolTable tools_;
  std::vector<PathPattern> protected_, hooks_;
  std::vector<std::string> allowed_commands_;
};

}  // namespace

Status RegisterPathPolicies(PolicyRegistry* registry) {
  PolicyType r;
  r.name = "restrict_paths";
  r.description =
      "Denies reading and/or writing paths matching the patterns, through file tools and shell "
      "commands (arguments and redirections).";
  r.events = {EventType::kToolCall};
  r.params = {
      {"paths", ParamType::kStringList, nullptr, true,
       "Path patterns: \".env\" (any depth), \"~/.ssh/**\", \"/etc/**\", \"config/*.yaml\"."},
      {"access",
       ParamType::kString,
       "any",
       false,
       "What is restricted: read, write or any.",
       {"read", "write", "any"}},
      {"action", ParamType::kString, "deny", false, "deny or ask.", {"deny", "ask"}},
      {"shell_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names to treat as shell tools."},
      {"read_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names that read the file in their path or file_path."},
      {"write_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names that write the file in their path or file_path."},
  };
  r.create = FactoryOf<RestrictPaths>();
  REINS_RETURN_IF_ERROR(registry->Register(std::move(r)));

  PolicyType s;
  s.name = "self_protect";
  s.description =
      "On by default: the agent may not touch reins's database, configuration or tokens, edit "
      "the harness hooks, or run reins commands; only the server layer can switch it off.";
  s.events = {EventType::kToolCall};
  Json hooks = Json::array();
  for (const char* h : kHookFiles) hooks.push_back(h);
  s.params = {
      {"protected_paths", ParamType::kStringList, Json::array({"~/.reins/**"}), false,
       "reins's own files: the log (and its -wal, -shm), configuration and token files."},
      {"hook_files", ParamType::kStringList, hooks, false,
       "Harness settings holding reins's hooks; the agent may read but not change them."},
      {"allowed_commands", ParamType::kStringList,
       Json::array({"policies", "check", "--version", "--help"}), false,
       "reins subcommands the agent may run."},
      {"shell_tools", ParamType::kStringList, Json::array(), false,
       "Extra tool names to treat as shell tools."},
  };
  s.create = FactoryOf<SelfProtect>();
  REINS_RETURN_IF_ERROR(registry->Register(std::move(s)));
  registry->AddDefault({"self_protect", "self_protect", [](const DefaultContext& dc) {
                          Json paths = Json::array({"~/.reins/**"});
                          if (!dc.db_path.empty()) {
                            for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
                              paths.push_back(dc.db_path + suffix);
                            }
                          }
                          for (const std::string& f : dc.config_files) paths.push_back(f);
                          return Json{{"protected_paths", paths}};
                        }});
  return Status::OK();
}

}  // namespace reins
