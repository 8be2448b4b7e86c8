#include <catch2/catch.hpp>

#include "builtins/builtins_testing.h"

using namespace reins;
using namespace reins::testing;

TEST_CASE("protected_branches: anything touching main pauses", "[protected_branches]") {
  BuiltinHarness h("  protect: {use: protected_branches}\n");
  CHECK(h.Must(Bash("git push origin feature/x")).verdict == Verdict::kAllow);
  for (const char* cmd : {"git push origin main", "git push --force origin master",
                          "git push origin HEAD:release/2.0", "git push origin --delete main",
                          "git push", "git push origin HEAD", "git reset --hard origin/main",
                          "git reset --hard", "git branch -D main", "git branch -m master old",
                          "git push --all origin", "sudo git push origin main"}) {
    INFO(cmd);
    CHECK(h.Must(Bash(cmd)).verdict == Verdict::kAsk);
  }
  CHECK(h.Must(Bash("git reset --soft HEAD~1")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("git branch -d feature/x")).verdict == Verdict::kAllow);
  Decision d = h.Must(Bash("git push --force origin main"));
  CHECK(d.reason ==
        "protect: A force push to protected branch 'main' needs approval (git push "
        "--force origin main)");
  CHECK(h.Must({{"type", "tool_call"},
                {"tool", "mcp__github__push_files"},
                {"input", {{"owner", "a"}, {"repo", "b"}, {"branch", "main"}}}})
            .verdict == Verdict::kAsk);
}

TEST_CASE("protected_branches: custom branches and deny", "[protected_branches]") {
  BuiltinHarness h(
      "  protect: {use: protected_branches, with: {branches: [prod, \"hotfix/*\"], action: "
      "deny}}\n");
  CHECK(h.Must(Bash("git push origin main")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("git push origin hotfix/db")).verdict == Verdict::kDeny);
}

TEST_CASE("blast_radius: irreversible denies, risky asks", "[blast_radius]") {
  BuiltinHarness h("  blast: {use: blast_radius}\n");
  for (const char* cmd :
       {"git push --force origin main", "git push origin :old", "rm -rf /", "rm -rf ~",
        "rm -fr $HOME", "sudo rm -r /etc", "rm -r --no-preserve-root /", "rm -rf /usr/local/lib",
        "git reset --hard origin/main", "gh repo delete acme/x", "bash -c 'rm -rf /*'"}) {
    INFO(cmd);
    Decision d = h.Must(Bash(cmd));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(d.reason.find("Blocked by the blast-radius policy:") == 0);
  }
  for (const char* cmd :
       {"git push origin feature", "rm -rf build/", "rm -r node_modules", "gh pr merge 12 --squash",
        "kubectl apply -f deploy.yaml", "helm upgrade api ./chart",
        "terraform destroy -auto-approve", "$TOOL apply"}) {
    INFO(cmd);
    CHECK(h.Must(Bash(cmd)).verdict == Verdict::kAsk);
  }
  for (const char* cmd : {"rm file.txt", "kubectl get pods", "terraform plan", "git status"}) {
    INFO(cmd);
    CHECK(h.Must(Bash(cmd)).verdict == Verdict::kAllow);
  }
}

TEST_CASE("blast_radius: pushes can pass, risky can deny", "[blast_radius]") {
  BuiltinHarness h(
      "  blast: {use: blast_radius, with: {gate_pushes: false, risky_action: deny}}\n");
  CHECK(h.Must(Bash("git push origin main")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("kubectl delete ns prod")).verdict == Verdict::kDeny);
}
