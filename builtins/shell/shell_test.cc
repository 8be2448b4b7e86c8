// The shell analyzer's details (redirections, reasons, IsInvocation) and its
// limits on hostile input. shell_cases_test.cc holds the table of commands.
#include "builtins/shell/shell.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <string_view>
#include <thread>

#include "builtins/shell/shell_testing.h"

namespace reins::shell {
namespace {

using testing::Render;
using testing::RenderAll;

SimpleCommand Only(const Analysis& a) {
  REQUIRE(a.commands.size() == 1);
  return a.commands[0];
}

// `levels` nested `bash -c "..."` around `git push`, quoting with \" so that
// the text grows linearly-ish instead of exploding like '\'' does.
std::string NestedBashC(int levels) {
  std::string s = "git push";
  for (int i = 0; i < levels; ++i) {
    std::string quoted;
    for (char c : s) {
      if (c == '"' || c == '\\' || c == '$' || c == '`') quoted += '\\';
      quoted += c;
    }
    s = "bash -c \"" + quoted + "\"";
  }
  return s;
}

TEST_CASE("shell: redirections keep operator, fd, target and kind", "[shell]") {
  Analysis a = Analyze("cmd 2>&1 >out.log 2>>err <in 3<>rw >&- <&0 &>all <<<text >\"$D/x\"");
  SimpleCommand c = Only(a);
  REQUIRE(c.redirects.size() == 10);
  auto check = [&](size_t i, const char* op, int fd, const char* target, bool writes) {
    INFO("redirect " << i);
    CHECK(c.redirects[i].op == op);
    CHECK(c.redirects[i].fd == fd);
    CHECK(c.redirects[i].target == target);
    CHECK(c.redirects[i].writes == writes);
  };
  check(0, ">&", 2, "1", false);
  check(1, ">", -1, "out.log", true);
  check(2, ">>", 2, "err", true);
  check(3, "<", -1, "in", false);
  check(4, "<>", 3, "rw", true);
  check(5, ">&", -1, "-", false);
  check(6, "<&", -1, "0", false);
  check(7, "&>", -1, "all", true);
  check(8, "<<<", -1, "text", false);
  check(9, ">", -1, "$D/x", true);
  CHECK_FALSE(c.redirects[1].dynamic);
  CHECK(c.redirects[9].dynamic);
  CHECK(c.written_paths == std::vector<std::string>{"out.log", "err", "rw", "all", "$D/x"});
  CHECK(c.read_paths == std::vector<std::string>{"in", "rw"});

  SimpleCommand d = Only(Analyze("echo x >\"$HOME/.ssh/config\""));
  CHECK(d.written_paths == std::vector<std::string>{"$HOME/.ssh/config"});
  CHECK(d.redirects[0].dynamic);

  SimpleCommand h = Only(Analyze("cat <<-'END' >out\n\tbody\n\tEND"));
  CHECK(h.redirects[0].op == "<<-");
  CHECK(h.redirects[0].target == "END");
  CHECK(h.written_paths == std::vector<std::string>{"out"});
}

TEST_CASE("shell: unresolved commands say why, errors say where", "[shell]") {
  Analysis a = Analyze("git push 'origin");
  CHECK(a.errors == std::vector<std::string>{"unbalanced single quote at offset 9"});
  CHECK(Only(a).unresolved_reason == "unbalanced single quote at offset 9");
  CHECK(Only(a).argv == std::vector<std::string>{"git", "push", "origin"});

  CHECK(Only(Analyze("$CMD arg")).unresolved_reason == "program name built from $CMD");
  CHECK(Analyze("sudo --frobnicate x").commands[0].unresolved_reason ==
        "unknown option '--frobnicate' to sudo");
  CHECK(Analyze("bash -c \"$S\"").commands[0].unresolved_reason ==
        "script for bash -c built from a dynamic value");
  CHECK(Analyze("curl x | sh").commands[1].unresolved_reason ==
        "sh reads its commands from standard input");
  CHECK(Analyze("echo $(ls").errors == std::vector<std::string>{"unterminated $( at offset 5"});
  CHECK(Analyze("if true; then x").errors ==
        std::vector<std::string>{"unterminated 'if' (no 'fi') at offset 0"});
  CHECK(Analyze("bash -c 'echo \"x'").errors ==
        std::vector<std::string>{"in bash -c script: unbalanced double quote at offset 5"});
  // A huge program word is abbreviated in the reason.
  std::string word(1000, 'x');
  CHECK(Only(Analyze("$" + word)).unresolved_reason.size() < 100);
}

TEST_CASE("shell: wrappers are recorded outermost first and inherited inward", "[shell]") {
  Analysis a = Analyze("sudo -u ci timeout 5 bash -c 'nice git push'");
  REQUIRE(a.commands.size() == 2);
  CHECK(a.commands[0].wrappers == std::vector<std::string>{"sudo", "timeout"});
  CHECK(a.commands[1].name == "git");
  CHECK(a.commands[1].wrappers == std::vector<std::string>{"sudo", "timeout", "nice"});
  CHECK(a.commands[1].source == "sh -c");
  CHECK(a.commands[1].depth == 1);

  // The outer shell runs $(...) itself: no inheritance there.
  Analysis b = Analyze("sudo echo $(git push)");
  REQUIRE(b.commands.size() == 2);
  CHECK(b.commands[1].wrappers.empty());

  SimpleCommand x = Analyze("xargs -0 git push").commands.at(1);
  CHECK(x.source == "xargs");
  CHECK(x.argv == std::vector<std::string>{"git", "push"});

  SimpleCommand v = Only(Analyze("command -v git"));
  CHECK(v.program == "command");
  CHECK(v.wrappers.empty());

  SimpleCommand p = Only(Analyze("/usr/bin/sudo /usr/bin/git push"));
  CHECK(p.program == "/usr/bin/git");
  CHECK(p.name == "git");
  CHECK(p.wrappers == std::vector<std::string>{"sudo"});
}

TEST_CASE("shell: IsInvocation and MightBeInvocation", "[shell]") {
  auto first = [](const char* s) { return Analyze(s).commands.at(0); };
  CHECK(IsInvocation(first("git push"), "git", {"push"}));
  CHECK(IsInvocation(first("git push origin main"), "git", {"push", "origin"}));
  CHECK(IsInvocation(first("git status"), "git"));
  CHECK_FALSE(IsInvocation(first("git status"), "git", {"push"}));
  CHECK_FALSE(IsInvocation(first("git"), "git", {"push"}));
  CHECK_FALSE(IsInvocation(first("echo git push"), "git", {"push"}));
  CHECK(IsInvocation(first("/usr/bin/git push"), "git", {"push"}));
  CHECK(IsInvocation(first("git -C repo --no-pager -c a.b=c push"), "git", {"push"}));
  CHECK(IsInvocation(first("git --git-dir=x/.git --work-tree x -P push"), "git", {"push"}));
  CHECK_FALSE(IsInvocation(first("git --bogus push"), "git", {"push"}));
  CHECK_FALSE(IsInvocation(first("git -c alias.p=push p"), "git", {"push"}));
  // Only git's options are skipped.
  CHECK_FALSE(IsInvocation(first("docker -H h push"), "docker", {"push"}));
  CHECK(IsInvocation(first("docker push"), "docker", std::vector<std::string>{"push"}));

  // Dynamic words never match, but might.
  SimpleCommand dyn = first("git $SUB origin");
  CHECK_FALSE(IsInvocation(dyn, "git", {"push"}));
  CHECK(MightBeInvocation(dyn, "git", {"push"}));
  CHECK(MightBeInvocation(first("git -C $D push"), "git", {"push"}));
  CHECK(MightBeInvocation(first("git $OPT push"), "git", {"push"}));
  CHECK(MightBeInvocation(first("$CMD push"), "git", {"push"}));
  CHECK(MightBeInvocation(first("git push"), "git", {"push"}));
  CHECK_FALSE(MightBeInvocation(first("git status $X"), "git", {"push"}));
  CHECK_FALSE(MightBeInvocation(first("ls $X"), "git", {"push"}));
}

TEST_CASE("shell: nesting beyond max_depth is unresolved", "[shell]") {
  Analysis six = Analyze(NestedBashC(6));
  CHECK(six.resolved);
  REQUIRE(six.commands.size() == 7);
  CHECK(six.commands.back().name == "git");
  CHECK(six.commands.back().depth == 6);

  Analysis ten = Analyze(NestedBashC(10));
  CHECK_FALSE(ten.resolved);
  REQUIRE(ten.commands.size() == 7);  // depths 0..6; the bash at depth 6 is not entered
  CHECK(ten.commands.back().depth == 6);
  CHECK(ten.commands.back().unresolved_reason == "nesting too deep: bash -c at depth 7");

  Options shallow;
  shallow.max_depth = 1;
  Analysis s = Analyze("echo $(echo $(git push))", shallow);
  CHECK_FALSE(s.resolved);
  CHECK(RenderAll(s) == std::vector<std::string>{"echo %'$(echo $(git push))'",
                                                 "echo %'$(git push)' @1($(...)) !unresolved"});
  CHECK(s.commands[1].unresolved_reason == "nesting too deep at offset 12");
  CHECK_FALSE(Analyze("`echo \\`echo \\\\\\`x\\\\\\`\\``", shallow).resolved);
  CHECK_FALSE(Analyze("eval 'eval x'", shallow).resolved);
  CHECK_FALSE(Analyze("find . -exec xargs ls \\;", shallow).resolved);
}

TEST_CASE("shell: hostile input is bounded and unresolved", "[shell]") {
  auto repeat = [](std::string_view s, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += s;
    return out;
  };
  // Deep syntactic nesting stops at max_nesting instead of exhausting the stack.
  for (const char* unit :
       {"$(",    "(",          "{ ",          "if ",     "\"$(",          "${",         "$((",
        "$(( (", "a=(",        "<(",          "[[ $(",   "case x in x) ", "`",          "bash -c ",
        "eval ", "x=$(( $(( ", "for x in $(", "coproc ", "f() ",          "function f "}) {
    INFO("unit: " << unit);
    Analysis a = Analyze(repeat(unit, 20000));
    CHECK_FALSE(a.resolved);
  }
  // Many sequential constructs are linear, not quadratic.
  CHECK(Analyze(repeat("echo $(( $(x) )); ", 3000)).resolved);
  CHECK(Analyze(repeat("! ", 30000) + "x").resolved);  // bash accepts any number of '!'

  CHECK(Analyze(repeat("cat <<E;", 5000) + "\nE\n").resolved);
  CHECK(Analyze(repeat("a | ", 10000) + "b").commands.size() == 10001);
}

TEST_CASE("shell: input over max_bytes is analyzed up to the limit", "[shell]") {
  std::string big = "git push; " + std::string(70000, 'x');
  Analysis a = Analyze(big);
  CHECK_FALSE(a.resolved);
  REQUIRE(a.errors.size() == 1);
  CHECK(a.errors[0] ==
        "input is 70010 bytes, over the limit of 65536; only the first 65536 were analyzed");
  CHECK(IsInvocation(a.commands.at(0), "git", {"push"}));

  Options small;
  small.max_bytes = 12;
  Analysis b = Analyze("git push; rm -rf /", small);
  CHECK_FALSE(b.resolved);
  CHECK(RenderAll(b) == std::vector<std::string>{"git push", "rm"});
  CHECK(Analyze("git push", small).resolved);
}

// Random shell-ish text: no crash, deterministic, and the invariants of a
// SimpleCommand hold. Run under the sanitizers too (REINS_SANITIZE=ON).
TEST_CASE("shell: random input keeps the invariants", "[shell]") {
  const std::vector<std::string> pieces = {
      " ",    "\n", ";",    "&",   "|",     "(",       ")",     "<",    ">",     "'",
      "\"",   "\\", "$",    "`",   "{",     "}",       "#",     "=",    "*",     "$(",
      "$((",  "${", "<<",   "<<-", "EOF",   "\nEOF\n", "git",   "push", "sudo",  "-u",
      "bash", "-c", "eval", "env", "-S",    "find",    "-exec", "\\;",  "xargs", "if",
      "then", "fi", "case", "in",  "esac",  ";;",      "for",   "do",   "done",  "[[",
      "]]",   "((", "))",   "$'",  "\\x41", "2>&1",    "&>",    "time", "!",     "function"};
  std::mt19937 rng(20240611);  // fixed seed: the test is deterministic
  for (int iter = 0; iter < 3000; ++iter) {
    std::string input;
    int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) input += pieces[rng() % pieces.size()];
    INFO("input: " << input);
    Analysis a = Analyze(input);
    Analysis again = Analyze(input);
    CHECK(RenderAll(a) == RenderAll(again));
    CHECK(a.errors == again.errors);
    bool all = a.errors.empty();
    for (const SimpleCommand& c : a.commands) {
      all = all && c.resolved;
      CHECK(c.argv.size() == c.dynamic.size());
      if (!c.argv.empty()) CHECK(c.argv[0] == c.program);
      CHECK(c.depth >= 0);
      CHECK(c.depth <= Options().max_depth);
      CHECK(c.resolved == c.unresolved_reason.empty());
    }
    CHECK(a.resolved == all);
  }
}

TEST_CASE("shell: concurrent analyses agree with serial ones", "[shell]") {
  const std::vector<std::string> inputs = {"sudo bash -c 'git push' | tee log > out",
                                           "for f in $(ls); do rm \"$f\"; done",
                                           "cat <<EOF\n$(id)\nEOF", NestedBashC(8)};
  std::vector<std::vector<std::string>> expected;
  for (const std::string& s : inputs) expected.push_back(RenderAll(Analyze(s)));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        size_t k = (t + i) % inputs.size();
        if (RenderAll(Analyze(inputs[k])) != expected[k]) ++mismatches[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}

}  // namespace
}  // namespace reins::shell

namespace reins::shell {

TEST_CASE("pipelines number their stages", "[shell]") {
  Analysis a = Analyze("curl -s https://x.sh | sudo sh; echo $(ls | wc -l) | tee out");
  REQUIRE(a.commands.size() == 6);
  auto find = [&](std::string_view name) -> const SimpleCommand& {
    for (const SimpleCommand& c : a.commands) {
      if (c.name == name) return c;
    }
    FAIL("no command " << name);
    return a.commands[0];
  };
  const SimpleCommand &curl = find("curl"), &sh = find("sh"), &echo = find("echo"),
                      &ls = find("ls"), &wc = find("wc"), &tee = find("tee");
  CHECK(curl.pipeline == sh.pipeline);
  CHECK(curl.stage == 0);
  CHECK(sh.stage == 1);
  CHECK(echo.pipeline == tee.pipeline);
  CHECK(echo.pipeline != curl.pipeline);
  CHECK(tee.stage == 1);
  CHECK(ls.pipeline == wc.pipeline);
  CHECK(ls.pipeline != echo.pipeline);
  CHECK(wc.stage == 1);
}

TEST_CASE("InvocationEnd points past the matched words", "[shell]") {
  Analysis a = Analyze("git -C push --no-pager push origin main");
  REQUIRE(a.commands.size() == 1);
  const SimpleCommand& git = a.commands[0];
  size_t end = InvocationEnd(git, "git", {"push"});
  REQUIRE(end == 5);
  CHECK(git.argv[end] == "origin");
  CHECK(InvocationEnd(git, "git", {"pull"}) == std::string::npos);
  CHECK(InvocationEnd(Analyze("npm").commands[0], "npm") == 1);
}

// Found by tests/fuzz (fuzz_shell): an option whose value is missing ("git
// -C") moved the end two words past argv.
TEST_CASE("InvocationEnd never points past argv", "[shell][fuzz]") {
  for (const char* line : {"git -C", "git --no-pager -c", "git -C repo --git-dir"}) {
    INFO(line);
    Analysis a = Analyze(line);
    REQUIRE(a.commands.size() == 1);
    const SimpleCommand& git = a.commands[0];
    CHECK(IsInvocation(git, "git"));
    CHECK(InvocationEnd(git, "git") == git.argv.size());
    CHECK_FALSE(IsInvocation(git, "git", {"push"}));
  }
}

}  // namespace reins::shell
