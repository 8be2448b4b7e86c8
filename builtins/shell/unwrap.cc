// From a parsed simple command to SimpleCommands: strips the wrappers that
// just run their arguments as a command (sudo, env, timeout, ...) and finds
// the commands that interpreters run at depth + 1 (sh -c, eval, env -S,
// xargs, find -exec). Option tables follow the wrappers' manuals (GNU
// coreutils, findutils, sudo, OpenBSD doas, bash); an option a table does
// not know leaves the wrapper as the program and the command unresolved,
// since guessing whether it takes a value could hide the real program.
#include <string>

#include "builtins/shell/parser.h"

namespace reins::shell::internal {

namespace {

// Options of a wrapper or interpreter. Letter sets are strings; long names
// (without "--") are space-separated lists.
struct OptionSpec {
  std::string_view name;
  bool strip;                   // a wrapper that simply runs its command: stripped
  std::string_view flags;       // letters without a value
  std::string_view valued;      // letters whose value is the rest of the word or the next word
  std::string_view optional;    // letters whose value, if any, is the rest of the word
  std::string_view stops;       // letters after which the command is not run (sudo -l)
  std::string_view long_flags;  // may carry "=value" (an optional value)
  std::string_view long_valued;
  std::string_view long_stops;
};

constexpr std::string_view kHelp = "help version";

constexpr OptionSpec kSpecs[] = {
    {"sudo", true, "ABbEHikNnPSs", "CDghpRrTtUu", "", "eKlVv",
     "askpass bell background preserve-env set-home login reset-timestamp no-update "
     "non-interactive preserve-groups stdin shell",
     "close-from chdir group host prompt chroot role command-timeout type other-user user",
     "edit list validate version help remove-timestamp"},
    {"doas", true, "ns", "u", "", "CL", "", "", ""},
    {"env", true, "i0v", "uCS", "", "",
     "ignore-environment null debug block-signal "
     "default-signal ignore-signal",
     "unset chdir split-string", "list-signal-handling help version"},
    {"timeout", true, "v", "sk", "", "", "preserve-status foreground verbose", "signal kill-after",
     kHelp},
    {"nice", true, "", "n", "", "", "", "adjustment", kHelp},
    {"nohup", true, "", "", "", "", "", "", kHelp},
    {"stdbuf", true, "", "ioe", "", "", "", "input output error", kHelp},
    {"setsid", true, "cfw", "", "", "", "ctty fork wait", "", kHelp},
    {"command", true, "p", "", "", "vV", "", "", ""},
    {"time", true, "pvqa", "fo", "", "", "portability verbose quiet append", "format output",
     kHelp},
    {"exec", true, "cl", "a", "", "", "", "", ""},
    {"builtin", true, "", "", "", "", "", "", ""},
    {"busybox", true, "", "", "", "", "", "", ""},
    {"xargs", false, "0rtpxo", "adEILnPs", "eil", "",
     "null no-run-if-empty verbose interactive exit open-tty show-limits eof replace max-lines",
     "arg-file delimiter max-args max-procs max-chars process-slot-var", kHelp},
};

const OptionSpec* FindSpec(std::string_view name) {
  for (const OptionSpec& s : kSpecs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool IsShell(std::string_view name) { return InList("sh bash zsh dash ksh ash mksh", name); }

std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool IsFdWord(std::string_view s) {
  if (s == "-") return true;
  if (!s.empty() && s.back() == '-') s.remove_suffix(1);
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// NAME=value as env and sudo accept it before the command.
bool IsEnvAssignment(const Word& w) {
  size_t eq = w.value.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  for (size_t i = 0; i < eq; ++i) {
    char c = w.value[i];
    bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

enum class OptStatus { kOk, kStop, kUnknown };

struct OptResult {
  OptStatus status = OptStatus::kOk;
  size_t next = 0;     // first word after the options
  std::string bad;     // kUnknown: the option
  bool split = false;  // env -S / --split-string seen
  std::string split_string;
  bool split_dynamic = false;
};

OptResult SkipOptions(const OptionSpec& spec, const std::vector<Word>& words, size_t j) {
  OptResult r;
  // Reads the value of option `opt` (written in words[*at]) and advances *at
  // past it; only env's split string is kept.
  auto value_of = [&](std::string_view opt, std::string_view inline_value, bool has_inline,
                      size_t* at) {
    bool dynamic = words[*at].dynamic;
    std::string value(inline_value);
    if (!has_inline) {
      ++*at;
      if (*at >= words.size()) return;
      value = words[*at].value;
      dynamic = words[*at].dynamic;
    }
    if (opt == "S" || opt == "split-string") {
      r.split = true;
      r.split_string = std::move(value);
      r.split_dynamic = dynamic;
    }
  };
  for (; j < words.size(); ++j) {
    const Word& w = words[j];
    std::string_view v = w.value;
    if (v == "--") {
      ++j;
      break;
    }
    if (v == "-" && spec.name == "env") continue;  // same as -i
    if (v.size() < 2 || v[0] != '-') break;
    if (spec.name == "nice" && v.find_first_not_of("0123456789", 1) == std::string_view::npos) {
      continue;  // nice -10
    }
    if (v.substr(0, 2) == "--") {
      size_t eq = v.find('=');
      std::string_view name = v.substr(2, eq == std::string_view::npos ? eq : eq - 2);
      bool has_eq = eq != std::string_view::npos;
      std::string_view inline_value = has_eq ? v.substr(eq + 1) : std::string_view();
      if (InList(spec.long_stops, name)) {
        r.status = OptStatus::kStop;
        return r;
      }
      if (InList(spec.long_valued, name)) {
        value_of(name, inline_value, has_eq, &j);
      } else if (!InList(spec.long_flags, name)) {
        r.status = OptStatus::kUnknown;
        r.bad = std::string(v);
        return r;
      }
      continue;
    }
    for (size_t k = 1; k < v.size(); ++k) {
      std::string_view letter = v.substr(k, 1);
      if (spec.stops.find(v[k]) != std::string_view::npos) {
        r.status = OptStatus::kStop;
        return r;
      }
      if (spec.valued.find(v[k]) != std::string_view::npos) {
        value_of(letter, v.substr(k + 1), k + 1 < v.size(), &j);
        break;
      }
      if (spec.optional.find(v[k]) != std::string_view::npos) break;
      if (spec.flags.find(v[k]) == std::string_view::npos) {
        r.status = OptStatus::kUnknown;
        r.bad = std::string(v);
        return r;
      }
    }
  }
  r.next = j;
  return r;
}

// Quotes a word for a script that is parsed again (env -S): literal words
// stay literal; dynamic ones stay dynamic.
std::string Requote(const Word& w) {
  std::string out;
  if (w.dynamic) {
    out = "\"";
    for (char c : w.value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }
  out = "'";
  for (char c : w.value) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

void Unresolve(SimpleCommand* cmd, const std::string& reason) {
  if (!cmd->resolved) return;  // keep the first reason
  cmd->resolved = false;
  cmd->unresolved_reason = reason;
}

// What a command runs at depth + 1.
struct Inner {
  std::string source;
  bool is_script = false;
  std::string script;  // is_script: the text to parse
  bool dynamic = false;
  size_t begin = 0, end = 0;  // !is_script: the words of the command
};

// sh [options] -c SCRIPT [NAME [ARGS]], sh [options] FILE [ARGS], or sh
// reading standard input.
void ShellInner(const std::vector<Word>& words, size_t i, SimpleCommand* cmd,
                std::vector<Inner>* inners) {
  bool c = false, s = false;
  size_t j = i + 1;
  for (; j < words.size(); ++j) {
    const std::string& v = words[j].value;
    if (words[j].dynamic) {  // the script (after -c), or unknown options or file
      if (!c) Unresolve(cmd, cmd->name + " arguments built from " + Abbrev(v));
      break;
    }
    if (v == "--" || v == "-") {
      ++j;
      break;
    }
    if (v.size() < 2 || (v[0] != '-' && v[0] != '+')) break;
    if (v.substr(0, 2) == "--") {
      if (v == "--rcfile" || v == "--init-file") ++j;
      continue;
    }
    bool takes_value = false;
    for (size_t k = 1; k < v.size(); ++k) {
      if (v[k] == 'c' && v[0] == '-') c = true;
      if (v[k] == 's' && v[0] == '-') s = true;
      if (v[k] == 'o' || v[k] == 'O') takes_value = true;
    }
    if (takes_value) ++j;
  }
  if (c) {
    if (j >= words.size()) return Unresolve(cmd, cmd->name + " -c without a script");
    inners->push_back({"sh -c", true, words[j].value, words[j].dynamic});
  } else if (s || j >= words.size()) {
    Unresolve(cmd, cmd->name + " reads its commands from standard input");
  }
  // Otherwise it runs a script file, opaque like any other program.
}

void FindInners(const std::vector<Word>& words, size_t i, SimpleCommand* cmd,
                std::vector<Inner>* inners) {
  for (size_t k = i + 1; k < words.size(); ++k) {
    const std::string& v = words[k].value;
    if (words[k].dynamic || (v != "-exec" && v != "-execdir" && v != "-ok" && v != "-okdir")) {
      continue;
    }
    size_t b = k + 1, e = b;
    bool terminated = false;
    for (; e < words.size(); ++e) {
      const Word& w = words[e];
      if (!w.dynamic &&
          (w.value == ";" || (w.value == "+" && e > b && words[e - 1].value == "{}"))) {
        terminated = true;
        break;
      }
    }
    if (!terminated) Unresolve(cmd, "find " + v + " without a terminating ';' or '+'");
    if (e > b) {
      Inner in;
      in.source = "find " + v;
      in.begin = b;
      in.end = e;
      inners->push_back(std::move(in));
    } else {
      Unresolve(cmd, "find " + v + " without a command");
    }
    k = e;
  }
}

}  // namespace

Redirect MakeRedirect(const Token& token) {
  Redirect r;
  r.op = token.op;
  r.fd = token.fd;
  r.target = token.word.value;
  r.dynamic = token.word.dynamic;
  const std::string& op = r.op;
  if (op == ">" || op == ">>" || op == ">|" || op == "&>" || op == "&>>" || op == "<>") {
    r.writes = true;
  } else if (op == ">&") {  // >&2 duplicates; >&file is bash's &>file
    r.writes = r.dynamic || !IsFdWord(r.target);
  }
  return r;
}

void AddRedirect(SimpleCommand* cmd, const Redirect& r) {
  cmd->redirects.push_back(r);
  if (r.target.empty()) return;
  if (r.writes) cmd->written_paths.push_back(r.target);
  if (r.op == "<" || r.op == "<>" || (r.op == "<&" && (r.dynamic || !IsFdWord(r.target)))) {
    cmd->read_paths.push_back(r.target);
  }
}

void EmitCommand(Context* ctx, RawCommand raw, int depth, const std::string& source,
                 Commands* out) {
  SimpleCommand cmd;
  cmd.depth = depth;
  cmd.source = source;
  cmd.assignments = std::move(raw.assignments);
  cmd.wrappers = std::move(raw.wrappers);
  for (const Redirect& r : raw.redirects) AddRedirect(&cmd, r);
  if (!raw.error.empty()) Unresolve(&cmd, raw.error);
  const std::vector<Word>& words = raw.words;
  std::vector<Inner> inners;

  // Strip wrappers, outermost first.
  size_t i = 0;
  while (i < words.size() && !words[i].dynamic) {
    std::string name(Basename(words[i].value));
    const OptionSpec* spec = FindSpec(name);
    if (spec == nullptr || !spec->strip) break;
    OptResult r = SkipOptions(*spec, words, i + 1);
    if (r.status == OptStatus::kUnknown) {
      Unresolve(&cmd, "unknown option '" + Abbrev(r.bad) + "' to " + name);
      break;
    }
    if (r.status == OptStatus::kStop) break;
    size_t j = r.next;
    if (name == "timeout" && j < words.size()) ++j;  // the DURATION
    std::vector<std::string> env;
    while ((name == "sudo" || name == "env") && j < words.size() && IsEnvAssignment(words[j])) {
      env.push_back(words[j++].value);
    }
    if (r.split) {  // env -S STRING [ARGS]: env splits STRING into the command
      Inner in{"env -S", true, r.split_string, r.split_dynamic};
      for (size_t k = j; k < words.size(); ++k) in.script += " " + Requote(words[k]);
      inners.push_back(std::move(in));
      break;
    }
    if (j >= words.size()) break;  // nothing to run: the wrapper is the program
    cmd.assignments.insert(cmd.assignments.end(), env.begin(), env.end());
    cmd.wrappers.push_back(name);
    i = j;
  }

  if (i < words.size()) {
    cmd.program = words[i].value;
    cmd.name = std::string(Basename(cmd.program));
  }
  for (size_t k = i; k < words.size(); ++k) {
    cmd.argv.push_back(words[k].value);
    cmd.dynamic.push_back(words[k].dynamic);
  }
  if (i < words.size() && words[i].dynamic) {
    Unresolve(&cmd, "program name built from " + Abbrev(words[i].value));
  } else if (i < words.size() && inners.empty()) {
    if (IsShell(cmd.name)) {
      ShellInner(words, i, &cmd, &inners);
    } else if (cmd.name == "eval" && i + 1 < words.size()) {
      Inner in{"eval", true, "", false};
      for (size_t k = i + 1; k < words.size(); ++k) {
        in.script += (k > i + 1 ? " " : "") + words[k].value;
        in.dynamic = in.dynamic || words[k].dynamic;
      }
      inners.push_back(std::move(in));
    } else if (cmd.name == "find") {
      FindInners(words, i, &cmd, &inners);
    } else if (cmd.name == "xargs") {
      OptResult r = SkipOptions(*FindSpec("xargs"), words, i + 1);
      if (r.status == OptStatus::kUnknown) {
        Unresolve(&cmd, "unknown option '" + Abbrev(r.bad) + "' to xargs");
      } else if (r.status == OptStatus::kOk && r.next < words.size()) {
        Inner in;
        in.source = "xargs";
        in.begin = r.next;
        in.end = words.size();
        inners.push_back(std::move(in));
      }
    }
  }

  size_t idx = out->size();
  out->push_back(std::move(cmd));
  for (SimpleCommand& c : raw.nested) out->push_back(std::move(c));

  for (const Inner& in : inners) {
    std::vector<std::string> wrappers = (*out)[idx].wrappers;
    std::string what = (*out)[idx].name + (in.source == "sh -c" ? " -c" : "");
    if (in.source.substr(0, 4) == "find") what = in.source;
    if (in.source == "env -S") what = "env -S";
    if (in.is_script && in.dynamic) {
      Unresolve(&(*out)[idx], "script for " + what + " built from a dynamic value");
    }
    NestGuard guard(ctx);
    if (!guard.ok() || depth + 1 > ctx->options.max_depth) {
      Unresolve(&(*out)[idx],
                "nesting too deep: " + what + " at depth " + std::to_string(depth + 1));
      continue;
    }
    if (in.is_script) {
      AnalyzeNested(ctx, in.script, depth + 1, in.source, wrappers,
                    raw.where + "in " + what + " script: ", out);
    } else {
      RawCommand sub;
      sub.words.assign(words.begin() + in.begin, words.begin() + in.end);
      sub.wrappers = std::move(wrappers);
      sub.where = raw.where;
      EmitCommand(ctx, std::move(sub), depth + 1, in.source, out);
    }
  }
}

}  // namespace reins::shell::internal
