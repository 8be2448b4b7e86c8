// Command patterns: how builtins' parameters name shell commands.
//
// Two forms, for two jobs:
//
// InvocationPattern ("npm install|i|add <pkg>", "git push"): a program and
// the words that must follow it, each word possibly a set of alternatives
// a|b|c; git's global options before its subcommand are skipped. A final
// <pkg> requires at least one more argument that names something new: not an
// option, not the value of an option such as -r/--requirement, and not a
// local path (".", "./x", "/x", "~/x"). Used by approval_after and
// npm_then_push.
//
// CommandGlob ("rm -rf /", "curl * | sh"): pipeline segments separated by
// " | ", each a program glob followed by words: "-xyz" requires the short
// flags x, y and z however they are written (-xyz, -zyx, -x -y -z),
// "--long" requires that long option (with or without =VALUE), "*" stands
// for any run of arguments, and any other word is a glob that must match the
// next positional argument. Used by deny_commands.
#pragma once

#include <string>
#include <vector>

#include "builtins/glob.h"
#include "builtins/shell/shell.h"
#include "engine/status.h"

namespace reins {

class InvocationPattern {
 public:
  static Result<InvocationPattern> Parse(const std::string& text);

  // The command runs this invocation.
  bool Matches(const shell::SimpleCommand& cmd) const;
  // It might at run time: unresolved, or a dynamic word where a word of the
  // pattern is expected.
  bool MightMatch(const shell::SimpleCommand& cmd) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<std::string> programs_;
  std::vector<std::vector<std::string>> words_;  // alternatives per position
  bool needs_package_ = false;
};

class CommandGlob {
 public:
  static Result<CommandGlob> Parse(const std::string& text);

  // Whether commands[i], as the first segment, and the following stages of
  // its pipeline match.
  bool MatchesAt(const std::vector<shell::SimpleCommand>& commands, size_t i) const;
  // Whether commands[i] could match the first segment once resolved.
  bool MightMatchAt(const std::vector<shell::SimpleCommand>& commands, size_t i) const;
  const std::string& text() const { return text_; }

 private:
  struct Segment {
    Glob program;
    std::string short_flags;
    std::vector<std::string> long_flags;
    std::vector<Glob> positional;  // "*" is skipped: other arguments may come between anyway
  };
  static bool MatchSegment(const Segment& seg, const shell::SimpleCommand& cmd);

  std::string text_;
  std::vector<Segment> segments_;
};

}  // namespace reins
