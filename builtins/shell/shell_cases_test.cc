// The shell analyzer against a table of command lines: each with every
// command it should find, rendered by shell_testing.h's Render():
//   ARGV (dynamic words prefixed with %) @DEPTH(SOURCE) w=WRAPPERS
//   a=ASSIGNMENTS >WRITTEN <READ !unresolved
#include <catch2/catch.hpp>

#include "builtins/shell/shell.h"
#include "builtins/shell/shell_testing.h"

namespace reins::shell {
namespace {

using testing::RenderAll;

struct Case {
  const char* input;
  std::vector<std::string> commands;
  bool resolved = true;
};

// One command a line, so that a failure shows a readable difference.
std::string Lines(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += "\n  " + x;
  return s;
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      // Words, quoting, comments, continuations.
      {"git push origin main", {"git push origin main"}},
      {"git push origin main # comment", {"git push origin main"}},
      {"echo 'git push'", {"echo 'git push'"}},
      {"echo \"git push\"", {"echo 'git push'"}},
      {"printf 'a;b' ; git status", {"printf a;b", "git status"}},
      {"echo a\\ b", {"echo 'a b'"}},
      {"echo \"a \\\"b\\\" \\$c \\\\ \\d\"", {"echo 'a \"b\" $c \\ \\d'"}},
      {"echo \"it's\" 'say \"hi\"'", {"echo it's 'say \"hi\"'"}},
      {"echo $'a\\tb\\x41\\101\\n' $'it\\'s'", {"echo a\\tbAA\\n it's"}},
      {"echo $'\\u00e9\\cA' $\"x y\"", {"echo \xc3\xa9\x01 'x y'"}},
      {"git \\\n  push", {"git push"}},
      {"echo \"a\\\nb\"", {"echo ab"}},
      {"echo a#b #c", {"echo a#b"}},
      {"#only a comment", {}},
      {"echo $HOME ${HOME}/x \"$1\" $@", {"echo %$HOME %${HOME}/x %$1 %$@"}},
      {"echo *.txt '*.txt' a?c [ab]x", {"echo %*.txt *.txt %a?c %[ab]x"}},
      {"echo {a,b} {1..3} {} {x}", {"echo %{a,b} %{1..3} {} {x}"}},
      {"echo ~/x \"~/y\"", {"echo ~/x ~/y"}},
      {"echo $ a$ \"$\"", {"echo $ a$ $"}},
      {"$'git' push", {"git push"}},
      {"g\\it push", {"git push"}},
      {"\"git\" 'push'", {"git push"}},
      {"'/usr/bin/git' push", {"/usr/bin/git push"}},
      {"[ -f x ] && test -d y", {"[ -f x ]", "test -d y"}},
      {"a[x y]=1 git push", {"git push a=a[x y]=1"}},
      {"a[x; git push; y]=1 ls", {"ls a=a[x; git push; y]=1"}},
      {"a[$(git push)]=1", {"git push @1($(...))"}},
      {"echo a[x; git push; y]", {"echo a[x", "git push", "y]"}},
      {"echo then a[x; git push; y]=1", {"echo then a[x", "git push", "y]=1"}},
      {"echo $[1+2] $[ $(git push) ]", {"echo %$[1+2] %'$[ $(git push) ]'", "git push @1($(...))"}},
      {"x[1 + 2", {"%'x[1 + 2' !unresolved"}, false},
      {">x[; git push; ]", {">x[", "git push", "]"}},
      {">f a[x; git push; y]=1 ls", {"ls a=a[x; git push; y]=1 >f"}},
      {"time -p a[x y]=1 git push", {"git push w=time a=a[x y]=1"}},
      {"case x in (a[x) git push;; b|c[x) ls;; esac", {"git push", "ls"}},
      // Lists and pipelines.
      {"a; b", {"a", "b"}},
      {"a && b || c", {"a", "b", "c"}},
      {"a | b |& c", {"a", "b", "c"}},
      {"echo hi & git push EVIL main", {"echo hi", "git push EVIL main"}},
      {"a\nb\n\nc", {"a", "b", "c"}},
      {"a &&\n  b |\n  c", {"a", "b", "c"}},
      {"a&b;c|d", {"a", "b", "c", "d"}},
      {"! git push", {"git push"}},
      // Compound commands.
      {"(cd repo && git push)", {"cd repo", "git push"}},
      {"{ git push; }", {"git push"}},
      {"{ echo }", {"echo }"}, false},
      {"if true; then git push; fi", {"true", "git push"}},
      {"if a; then b; elif c; then d; else e; fi", {"a", "b", "c", "d", "e"}},
      {"if true\nthen\n  git push\nfi", {"true", "git push"}},
      {"while read r; do git push $r; done < remotes",
       {"read r <remotes", "git push %$r <remotes"}},
      {"until false; do x; done", {"false", "x"}},
      {"for r in a b; do git push $r; done", {"git push %$r"}},
      {"for f in $(ls); do rm \"$f\"; done", {"ls @1($(...))", "rm %$f"}},
      {"for ((i=0; i<3; i++)); do echo $i; done", {"echo %$i"}},
      {"for x do echo $x; done", {"echo %$x"}},
      {"for x in a b; { echo $x; }", {"echo %$x"}},
      {"select x in a b; do echo $x; done", {"echo %$x"}},
      {"case $x in a|b) git push;; *) echo no;; esac", {"git push", "echo no"}},
      {"case x in (a) git push ;; esac", {"git push"}},
      {"case \"$1\" in\n  start) run ;;\n  stop) halt\n  ;;\nesac", {"run", "halt"}},
      {"case x in a) one;& b) two;;& c) three; esac", {"one", "two", "three"}},
      {"f() { git push; }; f", {"git push", "f"}},
      {"function deploy { git push; }", {"git push"}},
      {"function deploy() {\n  git push\n}\ndeploy", {"git push", "deploy"}},
      {"[[ -f x && $(git push) ]]", {"git push @1($(...))"}},
      {"[[ $a < $b || ( -n $c ) ]] && echo yes", {"echo yes"}},
      {"(( x > 1 )) && git push", {"git push"}},
      {"time git push", {"git push w=time"}},
      {"time -p git push | cat", {"git push w=time", "cat"}},
      {"time { git push; }", {"git push w=time"}},
      {"coproc git push", {"git push w=coproc"}},
      {"((", {}, false},
      // Command, process and arithmetic substitution.
      {"x=$(git push origin main)", {"git push origin main @1($(...))"}},
      {"`git push`", {"%'`git push`' !unresolved", "git push @1(`...`)"}, false},
      {"echo $(sudo bash -c \"git push\")",
       {"echo %'$(sudo bash -c \"git push\")'", "bash -c 'git push' @1($(...)) w=sudo",
        "git push @2(sh -c) w=sudo"}},
      {"$(echo git) push", {"%'$(echo git)' push !unresolved", "echo git @1($(...))"}, false},
      {"\"$(which git)\" push",
       {"%'$(which git)' push !unresolved", "which git @1($(...))"},
       false},
      {"echo \"$(git push)\"", {"echo %'$(git push)'", "git push @1($(...))"}},
      {"echo \"`git push`\"", {"echo %'`git push`'", "git push @1(`...`)"}},
      {"echo '$(git push)' \\$HOME", {"echo '$(git push)' $HOME"}},
      {"cat <(git log) >(tee x)",
       {"cat %'<(git log)' %'>(tee x)'", "git log @1(<(...))", "tee x @1(>(...))"}},
      {"echo $(echo $(git push))",
       {"echo %'$(echo $(git push))'", "echo %'$(git push)' @1($(...))", "git push @2($(...))"}},
      {"echo `echo \\`git push\\``",
       {"echo %'`echo \\`git push\\``'", "echo %'`git push`' @1(`...`)", "git push @2(`...`)"}},
      {"x=$(case y in y) git push;; esac)", {"git push @1($(...))"}},
      {"echo $( (git push) )", {"echo %'$( (git push) )'", "git push @1($(...))"}},
      {"echo ${x:-$(git push)}", {"echo %'${x:-$(git push)}'", "git push @1($(...))"}},
      {"echo \"${x:-\"$(git push)\"}\"", {"echo %'${x:-\"$(git push)\"}'", "git push @1($(...))"}},
      {"a=(one \"$(git push)\" three) b=2", {"git push @1($(...))"}},
      {"a=(x # note\n  y) && ls @(a|b)", {"ls %@(a|b)"}},
      {"a=(x; git push) ls", {"ls a=a=(x; git push) !unresolved"}, false},
      {"echo $((1+2)) $(( (1+2) * 3 ))", {"echo %$((1+2)) %'$(( (1+2) * 3 ))'"}},
      {"echo $(( $(git rev-list --count HEAD) + 1 ))",
       {"echo %'$(( $(git rev-list --count HEAD) + 1 ))'", "git rev-list --count HEAD @1($(...))"}},
      {"echo $(", {"echo %$( !unresolved"}, false},
      // Here-documents and here-strings.
      {"cat <<EOF\ngit push\nEOF", {"cat"}},
      {"cat <<'EOF'\n$(git push)\nEOF", {"cat"}},
      {"cat <<\"EOF\"\n`git push`\nEOF", {"cat"}},
      {"cat <<EOF\n$(git push) and `id`\nEOF", {"cat", "git push @1($(...))", "id @1(`...`)"}},
      {"cat <<-EOF\n\tgit push\n\tEOF\nls", {"cat", "ls"}},
      {"cat <<A <<B\nA\nB\nreal", {"cat", "real"}},
      {"cat <<A; git push\nbody\nA", {"cat", "git push"}},
      {"cat <<EOF | sh\ngit push\nEOF", {"cat", "sh !unresolved"}, false},
      {"cat <<< \"git push\"", {"cat"}},
      {"cat <<< $(git push)", {"cat", "git push @1($(...))"}},
      {"x=$(cat <<EOF\nrm -rf /\nEOF\n)", {"cat @1($(...))"}},
      {"cat <<EOF\nno end", {"cat"}},
      // Redirections.
      {"echo x > ~/.ssh/authorized_keys", {"echo x >~/.ssh/authorized_keys"}},
      {"cmd 2>&1 >out.log", {"cmd >out.log"}},
      {"cat < in > out", {"cat >out <in"}},
      {"make &>all.log; make &>>all.log", {"make >all.log", "make >all.log"}},
      {"echo x >> log 2> err >| f", {"echo x >log >err >f"}},
      {"exec 3<> /dev/tcp/h/80", {"exec >/dev/tcp/h/80 </dev/tcp/h/80"}},
      {"echo >&2 hi; cmd <&0 >&- 2>&1 3>&1-", {"echo hi", "cmd"}},
      {"> empty.txt", {">empty.txt"}},
      {"echo x >\"$HOME/.bashrc\"", {"echo x >$HOME/.bashrc"}},
      {"{ echo a; echo b; } > out 2>&1", {"echo a >out", "echo b >out"}},
      {"( x=1 ) > f", {">f"}},
      {"echo hi >&out.txt", {"echo hi >out.txt"}},
      {"echo x>f a2>g 2>h", {"echo x a2 >f >g >h"}},
      {"cat 0<in", {"cat <in"}},
      {"exec {fd}>log; echo x >&$fd {a}<in", {"exec >log", "echo x >$fd <in"}},
      {"echo > $(mktemp)", {"echo >$(mktemp)", "mktemp @1($(...))"}},
      {"echo >", {"echo !unresolved"}, false},
      // Assignments and wrappers.
      {"FOO=1 git push", {"git push a=FOO=1"}},
      {"FOO=1 BAR=\"a b\" arr[1]=x git push", {"git push a=FOO=1,BAR=a b,arr[1]=x"}},
      {"FOO=1", {}},
      {"sudo -u root git push origin main", {"git push origin main w=sudo"}},
      {"sudo -E -H --user=root -- git push", {"git push w=sudo"}},
      {"sudo -uroot -g wheel FOO=1 git push", {"git push w=sudo a=FOO=1"}},
      {"/usr/bin/sudo git push", {"git push w=sudo"}},
      {"sudo -l git push", {"sudo -l git push"}},
      {"sudo --frobnicate git push", {"sudo --frobnicate git push !unresolved"}, false},
      {"sudo", {"sudo"}},
      {"doas -u root git push", {"git push w=doas"}},
      {"timeout -s KILL 5m git push origin main", {"git push origin main w=timeout"}},
      {"timeout --signal=TERM --kill-after 5 -v 10 git push", {"git push w=timeout"}},
      {"nice -n 10 git push; nice -5 ls", {"git push w=nice", "ls w=nice"}},
      {"nohup git push &", {"git push w=nohup"}},
      {"stdbuf -oL -e 0 --input=L git push", {"git push w=stdbuf"}},
      {"setsid -f git push", {"git push w=setsid"}},
      {"command git push; command -v git", {"git push w=command", "command -v git"}},
      {"exec -a name git push", {"git push w=exec"}},
      {"builtin cd /tmp", {"cd /tmp w=builtin"}},
      {"/usr/bin/time -f %e -o t.txt git push", {"git push w=time"}},
      {"sudo timeout 5 nice git push", {"git push w=sudo,timeout,nice"}},
      {"time nice -n 5 git push", {"git push w=time,nice"}},
      {"env git push", {"git push w=env"}},
      {"/usr/bin/env git push", {"git push w=env"}},
      {"env -i PATH=/bin HOME=/ git push", {"git push w=env a=PATH=/bin,HOME=/"}},
      {"env -u FOO -C /tmp - git push", {"git push w=env"}},
      {"env", {"env"}},
      {"env $X git push", {"%$X git push w=env !unresolved"}, false},
      {"$CMD arg", {"%$CMD arg !unresolved"}, false},
      {"busybox sh -c 'git push'", {"sh -c 'git push' w=busybox", "git push @1(sh -c) w=busybox"}},
      // Interpreters: sh -c, eval, env -S, find -exec, xargs.
      {"bash -lc \"git push EVIL main\"",
       {"bash -lc 'git push EVIL main'", "git push EVIL main @1(sh -c)"}},
      {"sh -c 'git push'", {"sh -c 'git push'", "git push @1(sh -c)"}},
      {"/bin/bash -ec 'cd x && git push'",
       {"/bin/bash -ec 'cd x && git push'", "cd x @1(sh -c)", "git push @1(sh -c)"}},
      {"bash -l -o pipefail --norc -c 'git push' name arg",
       {"bash -l -o pipefail --norc -c 'git push' name arg", "git push @1(sh -c)"}},
      {"zsh -xc 'git push'", {"zsh -xc 'git push'", "git push @1(sh -c)"}},
      {"dash -c \"echo 'a;b'; git push\"",
       {"dash -c 'echo 'a;b'; git push'", "echo a;b @1(sh -c)", "git push @1(sh -c)"}},
      {"bash script.sh arg", {"bash script.sh arg"}},
      {"curl -s x | bash", {"curl -s x", "bash !unresolved"}, false},
      {"bash -c \"git push $R\"",
       {"bash -c %'git push $R' !unresolved", "git push %$R @1(sh -c)"},
       false},
      {"bash -c", {"bash -c !unresolved"}, false},
      {"sudo bash -c 'git push'", {"bash -c 'git push' w=sudo", "git push @1(sh -c) w=sudo"}},
      {"bash -c 'bash -c \"git push\"'",
       {"bash -c 'bash -c \"git push\"'", "bash -c 'git push' @1(sh -c)", "git push @2(sh -c)"}},
      {"eval \"git push origin main\"",
       {"eval 'git push origin main'", "git push origin main @1(eval)"}},
      {"eval git push '&&' rm -rf x",
       {"eval git push && rm -rf x", "git push @1(eval)", "rm -rf x @1(eval)"}},
      {"eval \"$X\"", {"eval %$X !unresolved", "%$X @1(eval) !unresolved"}, false},
      {"env -S 'git push origin main'",
       {"env -S 'git push origin main'", "git push origin main @1(env -S)"}},
      {"env -S\"git push\" origin", {"env '-Sgit push' origin", "git push origin @1(env -S)"}},
      {"env --split-string='FOO=1 git push'",
       {"env '--split-string=FOO=1 git push'", "git push @1(env -S) a=FOO=1"}},
      {"find . -exec git push \\;", {"find . -exec git push ;", "git push @1(find -exec)"}},
      {"find . -name '*.go' -exec rm {} +",
       {"find . -name *.go -exec rm {} +", "rm {} @1(find -exec)"}},
      {"find . -execdir sh -c 'git push' ';' -ok rm {} \\;",
       {"find . -execdir sh -c 'git push' ; -ok rm {} ;", "sh -c 'git push' @1(find -execdir)",
        "git push @2(sh -c)", "rm {} @1(find -ok)"}},
      {"find . -exec rm", {"find . -exec rm !unresolved", "rm @1(find -exec)"}, false},
      {"xargs -I{} git push {} < remotes",
       {"xargs -I{} git push {} <remotes", "git push {} @1(xargs)"}},
      {"ls | xargs -n 1 -P4 --null git push",
       {"ls", "xargs -n 1 -P4 --null git push", "git push @1(xargs)"}},
      {"xargs -d '\\n' -I % sh -c 'echo %'",
       {"xargs -d \\n -I % sh -c 'echo %'", "sh -c 'echo %' @1(xargs)", "echo % @2(sh -c)"}},
      {"xargs", {"xargs"}},
      {"sudo xargs git push", {"xargs git push w=sudo", "git push @1(xargs) w=sudo"}},
      // Unresolved input and parse errors.
      {"git push \"origin main", {"git push 'origin main' !unresolved"}, false},
      {"echo 'oops; git push", {"echo 'oops; git push' !unresolved"}, false},
      {"echo $(git push", {"echo %'$(git push' !unresolved", "git push @1($(...))"}, false},
      {"echo `git push", {"echo %'`git push' !unresolved", "git push @1(`...`)"}, false},
      {"if true; then git push", {"true", "git push"}, false},
      {"echo ) ; git push", {"echo", "git push"}, false},
      {"echo ${x", {"echo %${x !unresolved"}, false},
      {"; git push", {"git push"}, false},
      {"git push &&", {"git push"}, false},
      {"in x; ]] y", {}, false},
  };
  return cases;
}

TEST_CASE("shell: the table of command lines", "[shell]") {
  REQUIRE(Cases().size() >= 120);
  for (const Case& c : Cases()) {
    Analysis a = Analyze(c.input);
    INFO("input: " << c.input);
    for (const std::string& e : a.errors) UNSCOPED_INFO("error: " << e);
    CHECK(Lines(RenderAll(a)) == Lines(c.commands));
    CHECK(a.resolved == c.resolved);
  }
}

TEST_CASE("shell: every known bypass shape still finds the git push", "[shell]") {
  const char* bypasses[] = {
      "echo hi & git push EVIL main",
      "bash -lc \"git push EVIL main\"",
      "sudo -u root git push origin main",
      "timeout -s KILL 5m git push origin main",
      "env -S 'git push origin main'",
      "x=$(git push origin main)",
      "git push \"origin main",
      "`git push`",
      "find . -exec git push \\;",
      "FOO=1 git push",
      "/usr/bin/env git push",
      "nohup git push &",
      "(cd repo && git push)",
      "{ git push; }",
      "if true; then git push; fi",
      "for r in a b; do git push $r; done",
      "echo $(sudo bash -c \"git push\")",
      "eval \"git push origin main\"",
      "xargs -I{} git push {} < remotes",
      "git push origin main # comment",
      "g\\it p'us'h",
      "$'\\x67it' push",
      "git -C repo --no-pager push",
      "sudo -u root timeout 5 nice -n 1 env A=1 /usr/bin/git push",
      "bash -c 'eval \"git push\"'",
      "echo ok;git push",
      "echo ok\ngit push",
      "true || git push",
      "case x in *) git push;; esac",
      "cat <<EOF\n$(git push)\nEOF",
      "f() { git push; }",
      "echo $(( $(git push) ))",
      "diff <(git push) x",
      "[[ $(git push) ]]",
      "time git push",
      "command git push",
      "exec git push",
      "xargs sh -c 'git push'",
      "find . -execdir bash -lc 'git push' \\;",
  };
  for (const char* input : bypasses) {
    Analysis a = Analyze(input);
    INFO("input: " << input);
    bool found = false;
    for (const SimpleCommand& c : a.commands) found = found || IsInvocation(c, "git", {"push"});
    CHECK(found);
  }
}

TEST_CASE("shell: quoted text and here-documents are never commands", "[shell]") {
  const char* data[] = {
      "echo 'git push'",
      "echo \"git push\"",
      "cat <<EOF\ngit push\nEOF",
      "cat <<'EOF'\n$(git push)\nEOF",
      "cat <<< 'git push'",
      "echo \\`git push\\`",
      "printf '%s\\n' 'a; git push'",
      "echo $'git push'",
      "# git push",
      "echo x # ; git push",
      "grep -r 'git push' .",
  };
  for (const char* input : data) {
    Analysis a = Analyze(input);
    INFO("input: " << input);
    for (const SimpleCommand& c : a.commands) CHECK_FALSE(c.name == "git");
  }
}

}  // namespace
}  // namespace reins::shell
