// The shell-command analyzer: finds every simple command that a POSIX shell
// command line would run, so that policies can ask "is this a `git push`?" or
// "does it write to ~/.ssh?" without being fooled by quoting, wrappers or
// nesting. builtins/shell/README.md describes what is and is not understood.
//
// Analyze() is pure computation: no I/O, no globals, deterministic, safe to
// call from many threads at once, and it never throws. Work is bounded on
// hostile input: the text is capped at Options::max_bytes, re-parsed scripts
// (sh -c, eval, ...) at Options::max_depth levels, and syntactic nesting at
// Options::max_nesting levels. Whatever cannot be determined statically makes
// the affected command (and the Analysis) unresolved, with a reason; policies
// should treat unresolved as suspicious.
//
// Additions to the interface first proposed for this module:
//   - Redirect::dynamic: the target contains an expansion that is not done.
//   - Options::max_nesting: a cap on syntactic nesting (subshells, groups,
//     if/while/for/case bodies, substitutions) so that hostile input such as
//     "$($($(..." cannot exhaust the stack.
//   - MightBeInvocation(): the fail-closed companion of IsInvocation().
//   - IsInvocation() also takes a std::vector<std::string> (for callers whose
//     words are only known at run time).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace reins::shell {

struct Redirect {
  std::string op;        // ">", ">>", ">|", "<", "<>", "&>", "&>>", "<<", "<<-", "<<<", ">&", "<&"
  int fd = -1;           // explicit fd number if written (2>file -> 2), else -1
  std::string target;    // the word after the operator (quote-removed); for heredocs the delimiter
  bool writes = false;   // true for output redirections to a file (not fd dups like 2>&1)
  bool dynamic = false;  // target contains $VAR, $(..), a glob, ... that is not expanded
};

struct SimpleCommand {
  // argv[0] after stripping assignments and wrappers, as written ("/usr/bin/git"); empty for a
  // command made only of redirections ("> file").
  std::string program;
  std::string name;               // basename of program ("git")
  std::vector<std::string> argv;  // after unwrapping; argv[0] == program; words quote-removed
  // Per argv word: contains an unexpanded $VAR, ${..}, $(..), `..`, $((..)), <(..), or a
  // glob/brace pattern that the analyzer does not expand. Such words keep their text as written
  // ("$HOME/x", "*.txt").
  std::vector<bool> dynamic;
  std::vector<std::string> assignments;  // "VAR=value" prefixes stripped (also env/sudo VAR=value)
  // Wrappers stripped, outermost first, e.g. {"sudo","timeout"}. A command reached through
  // sh -c, eval, env -S, xargs or find -exec starts with the wrappers of the command that ran it
  // (so `sudo bash -c 'git push'` gives git the wrappers {"sudo"}).
  std::vector<std::string> wrappers;
  std::vector<Redirect> redirects;
  std::vector<std::string> written_paths;  // targets of >, >>, >|, &>, &>>, N>, <>, >&file
  std::vector<std::string> read_paths;     // targets of < and <>
  bool resolved = true;           // false when the command could not be fully resolved statically
  std::string unresolved_reason;  // e.g. "program name built from $CMD", "nesting too deep"
  int depth = 0;  // 0 top level; +1 inside each $(..), `..`, <(..), sh -c, eval, env -S, find
                  // -exec, xargs
  // How it was reached: "" (top level or plain compound command), "$(...)", "`...`", "<(...)",
  // ">(...)", "sh -c" (any shell), "eval", "env -S", "xargs", "find -exec", "find -execdir",
  // "find -ok", "find -okdir".
  std::string source;
  // The commands of one pipeline ("curl x | sh") share `pipeline`, an id unique within the
  // Analysis, and number their `stage` from 0; a command on its own is a one-stage pipeline.
  // Commands inside a compound stage ("(a; b) | c") share that stage.
  int pipeline = -1;
  int stage = 0;
};

struct Analysis {
  // Every simple command found, in source order (a command before the commands nested in its
  // words, those before the commands its wrappers run, e.g. sh -c).
  std::vector<SimpleCommand> commands;
  bool resolved = true;             // all commands resolved and no parse error
  std::vector<std::string> errors;  // parse problems ("unbalanced single quote at offset 9", ...)
};

struct Options {
  int max_depth = 6;         // deepest `depth` analyzed; deeper is unresolved
  size_t max_bytes = 65536;  // longer input (or re-parsed script) is truncated and unresolved
  int max_nesting = 100;     // deeper syntactic nesting stops the analysis (unresolved)
};

Analysis Analyze(std::string_view command_line, const Options& options = {}) noexcept;

// True when `cmd` runs program `name` (compared with cmd.name, the basename) and the words after
// the program start with `words`, in order. Dynamic words never match. For git only, the global
// options before the subcommand are skipped: -C DIR, -c NAME=VALUE, --git-dir[=]DIR,
// --work-tree[=]DIR, --namespace[=]NAME, --super-prefix[=]P, --config-env[=]X, --exec-path=P,
// --list-cmds=X and the flags -p, -P, --paginate, --no-pager, --bare, --no-replace-objects,
// --no-lazy-fetch, --literal-pathspecs, --glob-pathspecs, --noglob-pathspecs,
// --icase-pathspecs, --no-optional-locks, --no-advice. So IsInvocation(cmd, "git", {"push"})
// holds for "git -C repo --no-pager push". Other programs' options are not skipped: match the
// words exactly as they appear. Aliases (git -c alias.p=push p) are not resolved.
bool IsInvocation(const SimpleCommand& cmd, std::string_view name,
                  std::initializer_list<std::string_view> words = {});
bool IsInvocation(const SimpleCommand& cmd, std::string_view name,
                  const std::vector<std::string>& words);

// When IsInvocation(cmd, name, words) holds, the index in cmd.argv of the first word after
// `words` (cmd.argv.size() when there is none); std::string::npos otherwise.
size_t InvocationEnd(const SimpleCommand& cmd, std::string_view name,
                     std::initializer_list<std::string_view> words = {});

// True when IsInvocation() holds, or when it might hold at run time: the command is unresolved
// (its program is dynamic, an option is unknown, ...), or it runs `name` and a dynamic word
// stands where an option or one of `words` is expected ("git $SUB origin").
bool MightBeInvocation(const SimpleCommand& cmd, std::string_view name,
                       std::initializer_list<std::string_view> words = {});

}  // namespace reins::shell
