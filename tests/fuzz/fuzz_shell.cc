// Fuzzes the shell-command analyzer (builtins/shell/shell.h) with arbitrary
// command lines, and what builtins derive from its commands (shell_facts.h).
//
// Invariants beyond "no crash, no sanitizer report": Analyze() is
// deterministic; every command's argv, dynamic flags and name agree; an
// unresolved command or a parse error makes the Analysis unresolved;
// IsInvocation implies MightBeInvocation and InvocationEnd points within
// argv.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "builtins/shell/shell.h"
#include "builtins/shell_facts.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using reins::shell::Analysis;
using reins::shell::SimpleCommand;

std::string Describe(const SimpleCommand& c) {
  std::string out = "program='" + c.program + "' name='" + c.name + "' argv=[";
  for (const std::string& a : c.argv) out += "'" + a + "' ";
  return out + "]";
}

void CheckCommand(const SimpleCommand& c, const Analysis& a, const reins::shell::Options& opts) {
  FUZZ_CHECK(c.dynamic.size() == c.argv.size(), Describe(c));
  if (c.argv.empty()) {
    FUZZ_CHECK(c.program.empty(), Describe(c));
  } else {
    FUZZ_CHECK(c.argv[0] == c.program, Describe(c));
  }
  // name is the basename of program.
  std::string_view program = c.program;
  size_t slash = program.rfind('/');
  std::string_view base = slash == std::string_view::npos ? program : program.substr(slash + 1);
  FUZZ_CHECK(c.name == base || c.program.empty(), Describe(c));
  if (!c.resolved) {
    FUZZ_CHECK(!a.resolved, Describe(c));
    FUZZ_CHECK(!c.unresolved_reason.empty(), Describe(c));
  }
  FUZZ_CHECK(c.depth >= 0 && c.depth <= opts.max_depth + 1, Describe(c));
  FUZZ_CHECK(c.stage >= 0, Describe(c));
  for (const auto& r : c.redirects) {
    FUZZ_CHECK(!r.op.empty(), Describe(c));
  }

  // Matching: the command against its own name and its leading words.
  if (!c.name.empty()) {
    std::vector<std::string> words;
    for (size_t i = 1; i < c.argv.size() && i <= 3; ++i) {
      bool is = reins::shell::IsInvocation(c, c.name, words);
      if (is) {
        FUZZ_CHECK(reins::shell::MightBeInvocation(c, c.name), Describe(c));
      }
      words.push_back(c.argv[i]);
    }
    if (reins::shell::IsInvocation(c, c.name)) {
      size_t end = reins::shell::InvocationEnd(c, c.name);
      FUZZ_CHECK(end != std::string::npos && end <= c.argv.size(),
                 Describe(c) + " end=" + std::to_string(end));
    }
    for (const char* sub : {"push", "reset", "branch", "commit"}) {
      if (reins::shell::IsInvocation(c, "git", {sub})) {
        FUZZ_CHECK(reins::shell::MightBeInvocation(c, "git", {sub}), Describe(c));
        size_t end = reins::shell::InvocationEnd(c, "git", {sub});
        FUZZ_CHECK(end >= 2 && end <= c.argv.size(), Describe(c));
        FUZZ_CHECK(c.argv[end - 1] == sub, Describe(c));
      }
    }
  }

  // What builtins read from a command.
  for (const reins::PathUse& p : reins::PathsOf(c)) (void)p.path.size();
  if (auto push = reins::ParseGitPush(c)) {
    for (const std::string& r : push->refspecs) (void)reins::RefspecTarget(r);
    reins::Remote remote = reins::ClassifyRemote(push->remote);
    if (remote.kind == reins::Remote::kGitHub) {
      FUZZ_CHECK(remote.repo.find('/') != std::string::npos, push->remote + " -> " + remote.repo);
    }
  }
}

bool SameAnalysis(const Analysis& a, const Analysis& b) {
  if (a.resolved != b.resolved || a.errors != b.errors || a.commands.size() != b.commands.size()) {
    return false;
  }
  for (size_t i = 0; i < a.commands.size(); ++i) {
    const SimpleCommand& x = a.commands[i];
    const SimpleCommand& y = b.commands[i];
    if (x.argv != y.argv || x.dynamic != y.dynamic || x.wrappers != y.wrappers ||
        x.written_paths != y.written_paths || x.read_paths != y.read_paths ||
        x.resolved != y.resolved || x.depth != y.depth || x.source != y.source ||
        x.pipeline != y.pipeline || x.stage != y.stage) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  reins::shell::Options opts;
  Analysis a = reins::shell::Analyze(line, opts);
  if (!a.errors.empty()) FUZZ_CHECK(!a.resolved, a.errors.front());
  for (const SimpleCommand& c : a.commands) CheckCommand(c, a, opts);
  // Deterministic: a second analysis gives the same commands.
  Analysis again = reins::shell::Analyze(line, opts);
  FUZZ_CHECK(SameAnalysis(a, again), std::string(line));
  // Tight limits must bound the work and still give a consistent answer.
  reins::shell::Options tight;
  tight.max_depth = 1;
  tight.max_bytes = 64;
  tight.max_nesting = 4;
  Analysis small = reins::shell::Analyze(line, tight);
  if (size > tight.max_bytes) FUZZ_CHECK(!small.resolved, std::string(line));
  for (const SimpleCommand& c : small.commands) CheckCommand(c, small, tight);
  return 0;
}
