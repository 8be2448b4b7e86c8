#include "builtins/command_pattern.h"

#include <set>
#include <sstream>

#include "builtins/builtin_util.h"

namespace reins {

namespace {

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::vector<std::string> Alternatives(const std::string& word) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t bar = word.find('|', start);
    out.push_back(word.substr(start, bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return out;
}

// Options of package installers whose next word is a value, not a package.
constexpr const char* kInstallerValueOptions =
    "-r --requirement -c --constraint -e --editable -i --index-url --extra-index-url -f "
    "--find-links -t --target --prefix --root --registry --cache -C --cwd --dir --filter -w "
    "--workspace --manifest-path -p --package --path --git --branch --rev --tag --features -F "
    "--python --only-binary --no-binary --platform --src --trusted-host --proxy --index "
    "--default-index --group";

// Whether the words from `from` on name at least one new package.
bool NamesPackage(const shell::SimpleCommand& cmd, size_t from) {
  bool options_done = false;
  for (size_t k = from; k < cmd.argv.size(); ++k) {
    if (cmd.dynamic[k]) return true;  // it could be one
    const std::string& w = cmd.argv[k];
    if (!options_done && w == "--") {
      options_done = true;
      continue;
    }
    if (!options_done && !w.empty() && w[0] == '-') {
      if (w.find('=') == std::string::npos && InWordList(kInstallerValueOptions, w)) ++k;
      continue;
    }
    if (w.empty() || w[0] == '.' || w[0] == '/' || w[0] == '~') continue;  // a local path
    return true;
  }
  return false;
}

// A command word as a glob: '*' may cross '/' (URLs and paths are one word).
Glob WordGlob(const std::string& pattern) {
  std::string p;
  for (size_t i = 0; i < pattern.size(); ++i) {
    p += pattern[i];
    if (pattern[i] == '*' && (i + 1 >= pattern.size() || pattern[i + 1] != '*') &&
        (i == 0 || pattern[i - 1] != '*')) {
      p += '*';
    }
  }
  return Glob(p);
}

}  // namespace

Result<InvocationPattern> InvocationPattern::Parse(const std::string& text) {
  std::vector<std::string> words = Words(text);
  if (words.empty()) return Status::InvalidArgument("empty command pattern");
  InvocationPattern p;
  p.text_ = text;
  p.programs_ = Alternatives(words[0]);
  for (size_t i = 1; i < words.size(); ++i) {
    if (words[i] == "<pkg>" || words[i] == "<arg>") {
      if (i + 1 != words.size()) {
        return Status::InvalidArgument("'" + text + "': " + words[i] + " must come last");
      }
      p.needs_package_ = true;
    } else {
      p.words_.push_back(Alternatives(words[i]));
    }
  }
  return p;
}

bool InvocationPattern::Matches(const shell::SimpleCommand& cmd) const {
  for (const std::string& program : programs_) {
    size_t k = shell::InvocationEnd(cmd, program);  // past git's global options
    if (k == std::string::npos) continue;
    bool ok = true;
    for (const auto& alts : words_) {
      if (k >= cmd.argv.size() || cmd.dynamic[k] ||
          std::find(alts.begin(), alts.end(), cmd.argv[k]) == alts.end()) {
        ok = false;
        break;
      }
      ++k;
    }
    if (ok && (!needs_package_ || NamesPackage(cmd, k))) return true;
  }
  return false;
}

bool InvocationPattern::MightMatch(const shell::SimpleCommand& cmd) const {
  if (Matches(cmd)) return true;
  bool program_unknown = cmd.argv.empty() || cmd.dynamic[0];
  bool program_matches = std::find(programs_.begin(), programs_.end(), cmd.name) != programs_.end();
  if (!cmd.resolved && (program_unknown || program_matches)) return true;
  if (!program_matches) return false;
  // A dynamic word where the pattern expects one of its words.
  size_t k = shell::InvocationEnd(cmd, cmd.name);
  for (size_t i = 0; i < words_.size() && k != std::string::npos; ++i, ++k) {
    if (k >= cmd.argv.size()) return false;
    if (cmd.dynamic[k]) return true;
    if (std::find(words_[i].begin(), words_[i].end(), cmd.argv[k]) == words_[i].end()) {
      return false;
    }
  }
  return false;
}

Result<CommandGlob> CommandGlob::Parse(const std::string& text) {
  CommandGlob g;
  g.text_ = text;
  size_t start = 0;
  while (start <= text.size()) {
    size_t bar = text.find(" | ", start);
    std::vector<std::string> words = Words(text.substr(start, bar - start));
    if (words.empty()) return Status::InvalidArgument("'" + text + "': an empty pipeline segment");
    Segment seg{WordGlob(words[0]), {}, {}, {}};
    for (size_t i = 1; i < words.size(); ++i) {
      const std::string& w = words[i];
      if (w.size() > 2 && w[0] == '-' && w[1] == '-') {
        seg.long_flags.push_back(w);
      } else if (w.size() > 1 && w[0] == '-') {
        seg.short_flags += w.substr(1);
      } else if (w != "*") {
        seg.positional.push_back(WordGlob(w));
      }
    }
    g.segments_.push_back(std::move(seg));
    if (bar == std::string::npos) break;
    start = bar + 3;
  }
  return g;
}

bool CommandGlob::MatchSegment(const Segment& seg, const shell::SimpleCommand& cmd) {
  if (cmd.argv.empty()) return false;
  if (!seg.program.Match(cmd.name) && !seg.program.Match(cmd.program)) return false;
  std::set<char> shorts;
  std::vector<std::string> longs, positional;
  bool options_done = false;
  for (size_t k = 1; k < cmd.argv.size(); ++k) {
    const std::string& w = cmd.argv[k];
    if (!options_done && w == "--") {
      options_done = true;
    } else if (!options_done && w.size() > 2 && w[0] == '-' && w[1] == '-') {
      longs.push_back(w.substr(0, w.find('=')));
    } else if (!options_done && w.size() > 1 && w[0] == '-') {
      shorts.insert(w.begin() + 1, w.end());
    } else {
      positional.push_back(w);
    }
  }
  for (char c : seg.short_flags) {
    if (!shorts.count(c)) return false;
  }
  for (const std::string& l : seg.long_flags) {
    if (std::find(longs.begin(), longs.end(), l) == longs.end()) return false;
  }
  // Positional words must appear in order; other arguments may come between.
  size_t next = 0;
  for (const Glob& p : seg.positional) {
    while (next < positional.size() && !p.Match(positional[next])) ++next;
    if (next == positional.size()) return false;
    ++next;
  }
  return true;
}

bool CommandGlob::MatchesAt(const std::vector<shell::SimpleCommand>& commands, size_t i) const {
  const shell::SimpleCommand& first = commands[i];
  if (!MatchSegment(segments_[0], first)) return false;
  for (size_t s = 1; s < segments_.size(); ++s) {
    bool found = false;
    for (const shell::SimpleCommand& c : commands) {
      if (c.pipeline == first.pipeline && c.stage == first.stage + static_cast<int>(s) &&
          MatchSegment(segments_[s], c)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

bool CommandGlob::MightMatchAt(const std::vector<shell::SimpleCommand>& commands, size_t i) const {
  const shell::SimpleCommand& c = commands[i];
  if (c.resolved) return false;
  return c.argv.empty() || c.dynamic[0] || segments_[0].program.Match(c.name);
}

}  // namespace reins
