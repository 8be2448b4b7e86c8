// The Lua policies shipped in examples/policies/, against expected verdicts.
// (tests/cli_test.cc runs their example sessions against golden files.)
#include "scripts/lua_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

std::string Example(const std::string& name, const std::string& file,
                    const std::string& with = "") {
  std::string e =
      "  " + name + ": {lua: " + std::string(REINS_SOURCE_DIR) + "/examples/policies/" + file;
  if (!with.empty()) e += ", with: {" + with + "}";
  return e + "}\n";
}

std::string Npm(const std::string& with = "") {
  return Example("npm_then_push", "npm_then_push.lua", with);
}

}  // namespace

TEST_CASE("npm_then_push.lua: what installs a new package", "[lua][examples]") {
  for (const char* command : {
           "npm install left-pad",
           "npm i -D typescript",
           "npm add @types/node",
           "yarn add lodash",
           "pnpm add zod",
           "pnpm i zod",
           "bun add hono",
           "pip install requests",
           "pip3 install --upgrade requests",
           "python -m pip install flask",
           "uv add httpx",
           "cargo add serde --features derive",
           "go get example.com/mod@v1.2.0",
           "gem install rails",
           "sudo npm install -g left-pad",
           "cd app && npm install express",
           "npm install $PKG",
           "bash -c 'npm install left-pad'",
       }) {
    INFO(command);
    LuaHarness h(Npm());
    Decision d = h.Must(BashCall(command));
    CHECK(d.verdict == Verdict::kAllow);
    CHECK(d.policies == std::vector<std::string>{"npm_then_push"});
    d = h.Must(BashCall("git push origin main"));
    CHECK(d.verdict == Verdict::kAsk);
    CHECK(d.reason.find("'git push' needs approval: '") != std::string::npos);
  }
  for (const char* command : {
           "npm install",
           "npm ci",
           "npm i",
           "yarn",
           "yarn install",
           "pnpm install",
           "pip install -r requirements.txt",
           "pip install -e .",
           "pip install .",
           "go get ./...",
           "npm install ./local-pkg",
           "npm install --registry https://registry.example.com",
           "npm test",
           "echo npm install left-pad",
       }) {
    INFO(command);
    LuaHarness h(Npm());
    CHECK(h.Must(BashCall(command)).policies.empty());
    CHECK(h.Must(BashCall("git push origin main")).verdict == Verdict::kAllow);
  }
}

TEST_CASE("npm_then_push.lua: what a push is, and the approval cycle", "[lua][examples]") {
  LuaHarness h(Npm());
  h.Must(BashCall("npm install left-pad"));
  for (const char* push : {"git push", "git -C web push", "git --no-pager push origin main",
                           "sudo git push", "bash -c 'git push --force'"}) {
    INFO(push);
    Decision d = h.Must(BashCall(push));
    CHECK(d.verdict == Verdict::kAsk);
    CHECK(d.reason ==
          "npm_then_push: 'git push' needs approval: 'npm install left-pad' ran since the last "
          "approval.");
    h.Must(ApprovalEvent(false));  // denied: still armed
  }
  for (const char* other : {"git status", "git commit -m push", "echo git push", "git pull"}) {
    INFO(other);
    CHECK(h.Must(BashCall(other)).verdict == Verdict::kAllow);
  }
  // Approved: pushes pass until the next install.
  h.Must(BashCall("git push"));
  h.Must(ApprovalEvent(true));
  CHECK(h.Must(BashCall("git push")).verdict == Verdict::kAllow);
  CHECK(h.Must(BashCall("git push")).verdict == Verdict::kAllow);
  // An install and a push in one command: the push asks.
  Decision d = h.Must(ToolCall("exec_command", {{"cmd", "yarn add lodash && git push"}}));
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason ==
        "npm_then_push: 'git push' needs approval: 'yarn add lodash' ran since the last approval.");
  // Codex's argv lists are commands too.
  h.Must(ApprovalEvent(true));
  h.Must(ToolCall("shell", {{"command", {"bash", "-lc", "pnpm add zod"}}}));
  CHECK(h.Must(ToolCall("shell", {{"command", {"git", "push"}}})).verdict == Verdict::kAsk);
  // Other tools are not shell commands.
  h.Must(ApprovalEvent(true));
  h.Must(ToolCall("Write", {{"command", "npm install left-pad"}}));
  CHECK(h.Must(BashCall("git push")).verdict == Verdict::kAllow);
}

TEST_CASE("npm_then_push.lua: parameters", "[lua][examples]") {
  LuaHarness deny(Npm("action: deny, gated: [git push, gh pr create]"));
  deny.Must(BashCall("npm install left-pad"));
  Decision d = deny.Must(BashCall("gh pr create --fill"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason ==
        "'gh pr create' needs approval: 'npm install left-pad' ran since the last "
        "approval.");
  LuaHarness custom(Npm("installers: [\"brew install <pkg>\"], shell_tools: [my_shell]"));
  custom.Must(ToolCall("my_shell", {{"command", "brew install jq"}}));
  CHECK(custom.Must(BashCall("git push")).verdict == Verdict::kAsk);
  LuaHarness bad(Npm("installers: [\"npm <pkg> install\"]"));
  d = bad.Must(BashCall("npm install x"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason.find("'npm <pkg> install': <pkg> must come last") != std::string::npos);
}

TEST_CASE("confidential_then_no_web.lua", "[lua][examples]") {
  LuaHarness h(
      Example("no_web", "confidential_then_no_web.lua", "markers: [confidential, secret]"));
  CHECK(h.Must(ToolCall("WebFetch", {{"url", "https://example.com"}})).verdict == Verdict::kAllow);
  h.Must(ToolResult("Read", "a nonconfidential note"));  // not a whole word
  h.Must(ToolResult("Read", {{"title", "plan"}, {"body", "Top SECRET"}}));
  Decision d = h.Must(ToolCall("WebSearch", {{"query", "x"}}));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason ==
        "WebSearch is blocked for the rest of this session: the agent read confidential content "
        "(marked \"SECRET\", Read at seq 5).");
  CHECK(h.Must(ToolCall("Read", {{"file_path", "x"}})).verdict == Verdict::kAllow);
  auto notes = Notes(h);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0]["message"] == "confidential content read through Read (marked \"SECRET\")");
}

TEST_CASE("deploys_per_day.lua", "[lua][examples]") {
  LuaHarness h(Example("deploys", "deploys_per_day.lua", "limit: 2"));
  h.Must({{"type", "session_start"}, {"user", "ops"}});
  CHECK(h.Must(BashCall("kubectl apply -f a.yaml")).verdict == Verdict::kAllow);
  CHECK(h.Must(BashCall("kubectl get pods")).policies.empty());
  CHECK(h.Must(BashCall("helm upgrade web ./chart")).verdict == Verdict::kAllow);
  Decision d = h.Must(BashCall("make deploy"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason ==
        "Deploy limit reached: ops has deployed 2 times today (2026-11-21 UTC, limit 2). Tell the "
        "user; the next deploy is allowed tomorrow.");
  // The next UTC day starts over.
  CHECK(h.Must(BashCall("make deploy"), kStart + 86400 * kSecond).verdict == Verdict::kAllow);
}

TEST_CASE("cost_per_model_cap.lua", "[lua][examples]") {
  LuaHarness h(Example("caps", "cost_per_model_cap.lua",
                       "caps: {opus: 1, gpt: {usd: 2, fallback: claude-haiku-4-5}}"));
  Json request = {{"type", "llm_request"}, {"model", "claude-opus-4-1"}};
  CHECK(h.Must(request).policies.empty());
  h.Must({{"type", "cost"}, {"model", "claude-opus-4-1"}, {"cost_usd", 1.5}});
  Decision d = h.Must(request);
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason == "opus models have spent $1.50 of their $1.00 cap in this session.");
  h.Must({{"type", "cost"}, {"model", "gpt-5"}, {"cost_usd", 2.5}});
  d = h.Must({{"type", "llm_request"}, {"model", "gpt-5"}});
  CHECK(d.verdict == Verdict::kModify);
  CHECK(d.patch == Json{{"model", "claude-haiku-4-5"}});
  LuaHarness bad(Example("caps", "cost_per_model_cap.lua", "caps: {opus: cheap}"));
  d = bad.Must(request);
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason.find("caps.opus must be a number or {usd = ..., fallback = ...}") !=
        std::string::npos);
}

TEST_CASE("repeated_failures.lua", "[lua][examples]") {
  LuaHarness h(Example("retry", "repeated_failures.lua", "max_failures: 2"));
  auto run = [&](const std::string& command, const std::string& id, bool fails) {
    Json call = BashCall(command);
    call["call_id"] = id;
    Decision d = h.Must(call);
    Json result = ToolResult("Bash", fails ? "FAIL" : "ok", fails);
    result["call_id"] = id;
    h.Must(result);
    return d;
  };
  CHECK(run("make test", "c1", true).verdict == Verdict::kAllow);
  CHECK(run("make lint", "c2", true).verdict == Verdict::kAllow);
  CHECK(run("make test", "c3", true).verdict == Verdict::kAllow);
  Decision d = run("make test", "c4", false);
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason ==
        "retry: `make test` already failed 2 times just now; run it again, or stop and rethink?");
  CHECK(run("make lint", "c5", false).verdict == Verdict::kAllow);
}
