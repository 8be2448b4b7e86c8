#include "builtins/shell_facts.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "builtins/builtin_util.h"

namespace reins {

namespace {

using shell::SimpleCommand;

// What a program does with its positional (non-option) arguments.
enum class Args {
  kAny,          // unknown: could read or write them
  kRead,         // cat, less, grep's files, ...
  kWrite,        // rm, touch, tee, ...
  kNone,         // not paths (echo's text, curl's URLs)
  kSkipFirst,    // the first is a pattern or script, the rest are read (grep, sed, awk, jq)
  kModeFirst,    // the first is a mode or owner, the rest are written (chmod, chown)
  kLastWrites,   // sources are read, the last is written (cp, install, ln, scp, rsync)
  kAllWrite,     // all are changed (mv)
  kFirstWrites,  // the first is written, the rest read (zip)
  kFirstRead,    // the first is read, the rest are not paths (unzip's members, sqlite3's SQL)
};

struct Rule {
  const char* names;  // space-separated program names
  Args args;
  const char* value_options;  // options whose next word is their value (not a path)
  const char* read_options;   // options whose value is a file read
  const char* write_options;  // options whose value is a file written
};

const Rule kRules[] = {
    {"cat less more head tail nl wc tac rev fold fmt strings xxd od hexdump base64 md5sum sha1sum "
     "sha256sum sha512sum file stat bat cmp comm diff paste cut uniq sort source . ls tree du find",
     Args::kRead, "-n -c -b -d -f -k -t -T -w -s -L -name -type -maxdepth -mindepth", "",
     "-o --output"},
    {"grep egrep fgrep rg ag ack", Args::kSkipFirst,
     "-e -m -A -B -C --include --exclude --exclude-dir -g --glob -t --type --max-count",
     "-f --file", ""},
    {"sed", Args::kSkipFirst, "-e -l --expression", "-f --file", ""},
    {"awk gawk mawk nawk", Args::kSkipFirst, "-F -v", "-f", ""},
    {"jq yq", Args::kSkipFirst, "--arg --argjson --indent --tab",
     "-f --from-file --slurpfile --rawfile", ""},
    {"rm rmdir unlink shred touch mkdir truncate tee vi vim nvim nano emacs code", Args::kWrite,
     "-s -m -d -t -n", "-r --reference", ""},
    {"chmod chown chgrp", Args::kModeFirst, "", "--reference", ""},
    {"cp install ln scp rsync", Args::kLastWrites,
     "-S -m -o -g -P -c -l -e --rsh --exclude --include --suffix",
     "-i -F --exclude-from --files-from", "-t --target-directory"},
    {"mv", Args::kAllWrite, "-S --suffix", "", "-t --target-directory"},
    {"zip", Args::kFirstWrites, "-x -i -n", "", ""},
    {"unzip", Args::kFirstRead, "-x", "", "-d"},
    {"sqlite3", Args::kFirstRead, "-cmd -separator -nullvalue", "-init", ""},
    {"echo printf true false test [ sleep cd pushd popd export unset set which type command "
     "kill exit return read wait",
     Args::kNone, "", "", ""},
    {"curl", Args::kNone,
     "-X --request -H --header -u --user -A --user-agent -e --referer -m --max-time -F --form "
     "--connect-timeout -x --proxy -w --write-out -r --range --retry",
     "-T --upload-file -K --config --cacert --cert --key -b --cookie",
     "-o --output -c --cookie-jar -D --dump-header"},
    {"wget", Args::kNone, "-U --user-agent --header -t --tries -T --timeout",
     "-i --input-file --post-file --body-file --load-cookies",
     "-O --output-document -o --output-file "
     "-P --directory-prefix --save-cookies"},
    {"ssh", Args::kNone, "-p -l -o -L -R -D -J -W -b -c -E -m -Q -S -w -B", "-i -F", ""},
    {"openssl", Args::kNone, "-passin -passout -subj -days -newkey", "-in -key -CAfile -config",
     "-out -keyout"},
};

// kRules indexed: the program's rule and the sets of its options, built once.
struct CompiledRule {
  Args args;
  std::set<std::string, std::less<>> value, read, write;
};

const CompiledRule* RuleFor(std::string_view name) {
  static const auto* index = [] {
    auto* m = new std::map<std::string, CompiledRule, std::less<>>();
    auto words = [](const char* list) {
      std::set<std::string, std::less<>> out;
      std::istringstream in(list);
      for (std::string w; in >> w;) out.insert(w);
      return out;
    };
    for (const Rule& r : kRules) {
      CompiledRule c{r.args, words(r.value_options), words(r.read_options), words(r.write_options)};
      for (const std::string& n : words(r.names)) m->emplace(n, c);
    }
    return m;
  }();
  auto it = index->find(name);
  return it == index->end() ? nullptr : &it->second;
}

void Add(std::vector<PathUse>* out, std::string path, PathAccess access, bool dynamic) {
  if (path.empty()) return;
  out->push_back({std::move(path), access, dynamic});
}

// dd's operands, tar's modes and archives, and sed -i do not fit the table.
bool SpecialCase(const SimpleCommand& cmd, std::vector<PathUse>* out) {
  const auto& a = cmd.argv;
  if (cmd.name == "dd") {
    for (size_t k = 1; k < a.size(); ++k) {
      if (a[k].rfind("if=", 0) == 0) Add(out, a[k].substr(3), PathAccess::kRead, cmd.dynamic[k]);
      if (a[k].rfind("of=", 0) == 0) Add(out, a[k].substr(3), PathAccess::kWrite, cmd.dynamic[k]);
    }
    return true;
  }
  if (cmd.name == "tar") {
    bool create = false;
    std::string archive;
    bool archive_dynamic = false;
    for (size_t k = 1; k < a.size(); ++k) {
      std::string_view w = a[k];
      bool mode = k == 1 && !w.empty() && w[0] != '-';
      if ((mode || (w.size() > 1 && w[0] == '-' && w[1] != '-')) &&
          w.find_first_of("cru") != std::string_view::npos) {
        create = true;
      }
      bool takes_file = (mode || (w.size() > 1 && w[0] == '-' && w[1] != '-')) && w.back() == 'f';
      if ((takes_file || w == "--file") && k + 1 < a.size()) {
        archive = a[k + 1];
        archive_dynamic = cmd.dynamic[k + 1];
        ++k;
      } else if (w.rfind("--file=", 0) == 0) {
        archive = std::string(w.substr(7));
      } else if (w == "-C" && k + 1 < a.size()) {
        ++k;
        Add(out, a[k], create ? PathAccess::kRead : PathAccess::kWrite, cmd.dynamic[k]);
      } else if (!mode && !w.empty() && w[0] != '-') {
        Add(out, std::string(w), create ? PathAccess::kRead : PathAccess::kAny, cmd.dynamic[k]);
      }
    }
    Add(out, archive, create ? PathAccess::kWrite : PathAccess::kRead, archive_dynamic);
    return true;
  }
  return false;
}

// An argument naming a remote location (host:path, a URL) is not a local path.
bool IsRemote(std::string_view w) {
  if (w.find("://") != std::string_view::npos) return true;
  size_t colon = w.find(':');
  return colon != std::string_view::npos && colon > 0 && w.find('/') > colon;
}

}  // namespace

const ShellCommands& AnalyzeCommands(const ToolCallFacts& facts) {
  thread_local ShellCommands last;
  if (last.lines == facts.commands && !last.lines.empty()) return last;
  last = ShellCommands();
  last.lines = facts.commands;
  for (const std::string& line : facts.commands) {
    shell::Analysis a = shell::Analyze(line);
    last.resolved = last.resolved && a.resolved;
    for (shell::SimpleCommand& c : a.commands) last.commands.push_back(std::move(c));
  }
  return last;
}

std::vector<PathUse> PathsOf(const SimpleCommand& cmd) {
  std::vector<PathUse> out;
  for (const shell::Redirect& r : cmd.redirects) {
    bool heredoc = r.op == "<<" || r.op == "<<-" || r.op == "<<<";
    if (r.writes) Add(&out, r.target, PathAccess::kWrite, r.dynamic);
    if (!r.writes && !heredoc && (r.op == "<" || r.op == "<>")) {
      Add(&out, r.target, r.op == "<>" ? PathAccess::kAny : PathAccess::kRead, r.dynamic);
    }
  }
  if (cmd.argv.empty() || SpecialCase(cmd, &out)) return out;
  const CompiledRule* rule = RuleFor(cmd.name);
  Args args = rule ? rule->args : Args::kAny;
  bool pattern_given = false;  // grep -e / sed -e / awk -f: no positional pattern
  bool in_place = false;       // sed -i
  std::vector<std::pair<std::string, bool>> positional;
  bool remote_target = false;  // scp/rsync to host:path: every local path is a source
  auto in = [](const std::set<std::string, std::less<>>& set, std::string_view opt) {
    return set.find(opt) != set.end();
  };
  bool options_done = false;
  for (size_t k = 1; k < cmd.argv.size(); ++k) {
    std::string_view w = cmd.argv[k];
    bool dyn = cmd.dynamic[k];
    if (!options_done && w == "--") {
      options_done = true;
      continue;
    }
    if (options_done || w.size() < 2 || w[0] != '-') {
      if (!w.empty() && w[0] == '@') {  // curl -d @file, and response files
        Add(&out, std::string(w.substr(1)), PathAccess::kRead, dyn);
      } else if (!IsRemote(w)) {
        positional.emplace_back(std::string(w), dyn);
        remote_target = false;
      } else {
        remote_target = true;
      }
      continue;
    }
    if (cmd.name == "sed" && (w.rfind("-i", 0) == 0 || w == "--in-place")) {
      in_place = true;
      continue;
    }
    std::string opt(w.substr(0, w.find('=')));
    bool has_inline = w.find('=') != std::string_view::npos;
    std::string value = has_inline ? std::string(w.substr(w.find('=') + 1)) : std::string();
    bool value_dyn = dyn;
    bool reads = rule && in(rule->read, opt);
    bool writes = rule && in(rule->write, opt);
    bool takes_value = reads || writes || (rule && in(rule->value, opt));
    if (!has_inline && takes_value && k + 1 < cmd.argv.size()) {
      value = cmd.argv[++k];
      value_dyn = cmd.dynamic[k];
    }
    if (opt == "-e" || opt == "--expression" ||
        (opt == "-f" && rule && rule->args == Args::kSkipFirst)) {
      pattern_given = true;
    }
    if (reads) {
      Add(&out, value, PathAccess::kRead, value_dyn);
    } else if (writes) {
      Add(&out, value, PathAccess::kWrite, value_dyn);
    } else if (has_inline && !rule) {
      Add(&out, value, PathAccess::kAny, value_dyn);  // --file=PATH of unknown programs
    } else if (!value.empty() && value[0] == '@') {
      Add(&out, value.substr(1), PathAccess::kRead, value_dyn);
    } else if (size_t at = value.find("=@"); at != std::string::npos) {
      Add(&out, value.substr(at + 2), PathAccess::kRead, value_dyn);  // curl -F name=@file
    }
  }
  if (in_place) args = Args::kWrite;  // sed -i: the files are rewritten
  for (size_t i = 0; i < positional.size(); ++i) {
    auto [path, dyn] = positional[i];
    bool first = i == 0, last = i + 1 == positional.size();
    PathAccess access = PathAccess::kAny;
    switch (args) {
      case Args::kAny:
        access = PathAccess::kAny;
        break;
      case Args::kRead:
        access = PathAccess::kRead;
        break;
      case Args::kWrite:
        if (first && !pattern_given && cmd.name == "sed") continue;  // sed -i SCRIPT files
        access = PathAccess::kWrite;
        break;
      case Args::kNone:
        continue;
      case Args::kSkipFirst:
        if (first && !pattern_given) continue;
        access = PathAccess::kRead;
        break;
      case Args::kModeFirst:
        if (first) continue;
        access = PathAccess::kWrite;
        break;
      case Args::kLastWrites:
        access = last && !remote_target ? PathAccess::kWrite : PathAccess::kRead;
        break;
      case Args::kAllWrite:
        access = PathAccess::kWrite;
        break;
      case Args::kFirstWrites:
        access = first ? PathAccess::kWrite : PathAccess::kRead;
        break;
      case Args::kFirstRead:
        if (!first) continue;
        access = cmd.name == "sqlite3" ? PathAccess::kAny : PathAccess::kRead;
        break;
    }
    Add(&out, path, access, dyn);
  }
  return out;
}

const std::vector<std::vector<PathUse>>& Paths(const ShellCommands& sh) {
  if (!sh.paths) {
    sh.paths.emplace();
    for (const SimpleCommand& c : sh.commands) sh.paths->push_back(PathsOf(c));
  }
  return *sh.paths;
}

std::string RefspecTarget(std::string_view refspec) {
  if (!refspec.empty() && refspec[0] == '+') refspec.remove_prefix(1);
  size_t colon = refspec.find(':');
  std::string_view dst = colon == std::string_view::npos ? refspec : refspec.substr(colon + 1);
  if (dst.rfind("refs/heads/", 0) == 0) dst.remove_prefix(11);
  return std::string(dst);
}

std::optional<GitPush> ParseGitPush(const SimpleCommand& cmd) {
  size_t k = shell::InvocationEnd(cmd, "git", {"push"});
  if (k == std::string::npos) return std::nullopt;
  GitPush p;
  std::vector<std::pair<std::string, bool>> positional;
  for (; k < cmd.argv.size(); ++k) {
    const std::string& w = cmd.argv[k];
    bool dyn = cmd.dynamic[k];
    if (w.size() > 1 && w[0] == '-' && w != "--") {
      std::string opt = w.substr(0, w.find('='));
      if (opt == "--force" || opt == "--force-with-lease" || opt == "--force-if-includes") {
        p.force = true;
      } else if (opt == "--delete") {
        p.remove = true;
      } else if (opt == "--tags" || opt == "--follow-tags") {
        p.tags = true;
      } else if (opt == "--mirror" || opt == "--all" || opt == "--branches" || opt == "--prune") {
        p.mirror = true;
      } else if (opt == "--repo") {
        if (w.find('=') != std::string::npos) {
          p.remote = w.substr(w.find('=') + 1);
        } else if (k + 1 < cmd.argv.size()) {
          p.remote = cmd.argv[++k];
        }
      } else if (opt == "-o" || opt == "--push-option" || opt == "--receive-pack" ||
                 opt == "--exec") {
        if (w.find('=') == std::string::npos) ++k;
      } else if (w[1] != '-') {  // bundled short flags: -fu, -d, -n
        for (char c : w.substr(1)) {
          if (c == 'f') p.force = true;
          if (c == 'd') p.remove = true;
        }
      }
      p.dynamic = p.dynamic || dyn;
      continue;
    }
    if (w != "--") positional.emplace_back(w, dyn);
  }
  size_t i = 0;
  if (p.remote.empty() && i < positional.size()) {
    p.remote = positional[i].first;
    p.remote_dynamic = positional[i].second;
    ++i;
  }
  for (; i < positional.size(); ++i) {
    const std::string& ref = positional[i].first;
    p.dynamic = p.dynamic || positional[i].second;
    if (ref == "tag" && i + 1 < positional.size()) {  // git push origin tag v1.0
      p.tags = true;
      p.refspecs.push_back("refs/tags/" + positional[++i].first);
      continue;
    }
    if (!ref.empty() && ref[0] == '+') p.force = true;
    if (!ref.empty() && ref[0] == ':') p.remove = true;
    if (ref.find("refs/tags/") != std::string::npos) p.tags = true;
    p.refspecs.push_back(ref);
  }
  return p;
}

Remote ClassifyRemote(std::string_view remote) {
  Remote r;
  std::string_view rest;
  std::string host;
  if (size_t scheme = remote.find("://"); scheme != std::string_view::npos) {
    rest = remote.substr(scheme + 3);
    size_t slash = rest.find('/');
    host = std::string(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
    if (size_t port = host.find(':'); port != std::string::npos) host = host.substr(0, port);
  } else if (size_t colon = remote.find(':');
             colon != std::string_view::npos && remote.find('/') > colon) {
    host = std::string(remote.substr(0, colon));  // scp-like: [user@]host:owner/repo
    if (size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
    rest = remote.substr(colon + 1);
  } else if (!remote.empty() && (remote[0] == '/' || remote[0] == '.' || remote[0] == '~' ||
                                 remote.find('/') != std::string_view::npos)) {
    r.kind = Remote::kOtherHost;  // a local path
    return r;
  } else {
    return r;  // an alias such as "origin"
  }
  host = Lower(host);
  r.host = host;
  if (host != "github.com" && host != "www.github.com" && host != "ssh.github.com") {
    r.kind = Remote::kOtherHost;
    return r;
  }
  r.kind = Remote::kGitHub;
  std::string path = Lower(rest);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.size() > 4 && path.substr(path.size() - 4) == ".git") path.resize(path.size() - 4);
  size_t first = path.find('/');
  size_t second = first == std::string::npos ? std::string::npos : path.find('/', first + 1);
  r.repo = first == std::string::npos ? path : path.substr(0, second);
  return r;
}

void KeepStricter(std::optional<PolicyResult>* best, PolicyResult candidate) {
  auto rank = [](Verdict v) {
    switch (v) {
      case Verdict::kDeny:
        return 3;
      case Verdict::kAsk:
        return 2;
      case Verdict::kModify:
        return 1;
      case Verdict::kAllow:
        return 0;
    }
    return 0;
  };
  if (!*best || rank(candidate.verdict) > rank((*best)->verdict)) *best = std::move(candidate);
}

}  // namespace reins
