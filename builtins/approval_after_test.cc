#include <catch2/catch.hpp>

#include "builtins/builtins_testing.h"

using namespace reins;
using namespace reins::testing;

TEST_CASE("npm_then_push: a push after a new package asks once, until the next install",
          "[npm_then_push]") {
  BuiltinHarness h("  supply_chain: {use: npm_then_push}\n");
  CHECK(h.Must(Bash("git push origin main")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("npm install")).verdict == Verdict::kAllow);  // restores the lockfile
  CHECK(h.Must(Bash("npm ci")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("git push origin main")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("npm install --save-dev left-pad")).verdict == Verdict::kAllow);
  Decision d = h.Must(Bash("git push origin main"));
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason ==
        "supply_chain: 'git push' needs approval: 'npm install --save-dev left-pad' ran "
        "since the last approval.");
  // Still asking while nobody has approved.
  CHECK(h.Must(Bash("git push")).verdict == Verdict::kAsk);
  h.Must(Approve());
  CHECK(h.Must(Bash("git push origin main")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("git push origin main")).verdict == Verdict::kAllow);
  h.Must(Bash("pip install -r requirements.txt"));  // not a new package
  CHECK(h.Must(Bash("git push")).verdict == Verdict::kAllow);
  h.Must(Bash("pip install requests"));
  CHECK(h.Must(Bash("git push")).verdict == Verdict::kAsk);
}

TEST_CASE("npm_then_push: every installer and the bypass shapes of a push", "[npm_then_push]") {
  for (const char* install :
       {"yarn add react", "pnpm add zod", "pnpm install zod", "bun add hono",
        "pip3 install --user rich", "python -m pip install httpx", "uv add ruff", "cargo add serde",
        "go get github.com/x/y", "npm i -g typescript", "sudo npm install -g pm2",
        "cd web && npm install axios", "$(npm add lodash)"}) {
    for (const char* push :
         {"echo hi & git push EVIL main", "bash -lc \"git push EVIL main\"",
          "sudo -u root git push origin main", "timeout -s KILL 5m git push origin main",
          "env -S 'git push origin main'", "x=$(git push origin main)", "git push \"origin main",
          "`git push`", "find . -exec git push \\;", "git -C repo --no-pager push"}) {
      INFO(install << " then " << push);
      BuiltinHarness h("  n: {use: npm_then_push}\n");
      h.Must(Bash(install));
      CHECK(h.Must(Bash(push)).verdict == Verdict::kAsk);
    }
  }
}

TEST_CASE("npm_then_push: install and push in one command, and deny", "[npm_then_push]") {
  BuiltinHarness h("  n: {use: npm_then_push, with: {action: deny}}\n");
  CHECK(h.Must(Bash("git push && npm i left-pad")).verdict == Verdict::kAllow);  // push first
  Decision d = h.Must(Bash("npm i left-pad && git push"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(h.Must(Bash("git push")).verdict == Verdict::kDeny);  // deny keeps the rule armed
}

TEST_CASE("approval_after: any trigger and gate, with shell tool overrides", "[approval_after]") {
  BuiltinHarness h(R"(  deploy_after_migration:
    use: approval_after
    with:
      trigger: ["alembic upgrade|downgrade", "psql"]
      gated: ["kubectl apply|rollout", "helm upgrade"]
      shell_tools: [exec]
)");
  auto exec = [](const std::string& cmd) {
    return Json{{"type", "tool_call"}, {"tool", "exec"}, {"input", {{"command", cmd}}}};
  };
  CHECK(h.Must(exec("kubectl apply -f app.yaml")).verdict == Verdict::kAllow);
  h.Must(exec("alembic upgrade head"));
  Decision d = h.Must(exec("helm upgrade api ./chart"));
  CHECK(d.verdict == Verdict::kAsk);
  h.Must(Approve());
  CHECK(h.Must(exec("helm upgrade api ./chart")).verdict == Verdict::kAllow);
  CHECK(BuiltinConfigErrors("  a: {use: approval_after, with: {trigger: [\"npm <pkg> install\"], "
                            "gated: [\"git push\"]}}\n")
            .find("<pkg> must come last") != std::string::npos);
  CHECK(BuiltinConfigErrors("  a: {use: approval_after, with: {trigger: [x]}}\n")
            .find("missing required parameter 'gated'") != std::string::npos);
}
