#include <catch2/catch.hpp>

#include "builtins/builtins_testing.h"

using namespace reins;
using namespace reins::testing;

TEST_CASE("enforce_sandbox: session starts get the required sandbox", "[enforce_sandbox]") {
  BuiltinHarness h(R"(  box:
    use: enforce_sandbox
    with: {sandbox_type: linux_bwrap, allow_network: false, write_paths: [/work]}
)");
  Decision d = h.Must({{"type", "session_start"},
                       {"sandbox",
                        {{"type", "none"},
                         {"allow_network", true},
                         {"write_paths", {"/"}},
                         {"egress_rules", {"*"}},
                         {"unknown_key", 1}}}});
  CHECK(d.verdict == Verdict::kModify);
  CHECK(d.patch == Json::parse(R"({"sandbox": {"type": "linux_bwrap", "allow_network": false,
                                   "write_paths": ["/work"], "unknown_key": null}})"));
  // Without a requested sandbox the required one is added.
  d = h.Must({{"session", "s2"}, {"type", "session_start"}});
  CHECK(d.patch["sandbox"]["type"] == "linux_bwrap");
  // sys_agent_start tool calls get the same treatment.
  d = h.Must({{"type", "tool_call"},
              {"tool", "sys_agent_start"},
              {"input", {{"agent_name", "helper"}, {"sandbox", {{"allow_network", true}}}}}});
  CHECK(d.verdict == Verdict::kModify);
  CHECK(d.patch["input"]["sandbox"]["allow_network"] == false);
  CHECK(h.Must(Bash()).verdict == Verdict::kAllow);
}

TEST_CASE("enforce_sandbox: allow_network true keeps a requested false", "[enforce_sandbox]") {
  BuiltinHarness h("  box: {use: enforce_sandbox}\n");
  Decision d = h.Must({{"type", "session_start"},
                       {"sandbox", {{"type", "linux_bwrap"}, {"allow_network", false}}}});
  CHECK(d.verdict == Verdict::kAllow);  // already compliant: no change
}

TEST_CASE("block_skills: tools and slash commands", "[block_skills]") {
  BuiltinHarness h("  skills: {use: block_skills, with: {blocked: [Deploy-Prod]}}\n");
  Decision d =
      h.Must({{"type", "tool_call"}, {"tool", "Skill"}, {"input", {{"skill", "deploy-prod"}}}});
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason == "Skill 'deploy-prod' is blocked by policy");
  CHECK(h.Must({{"type", "tool_call"},
                {"tool", "load_skill"},
                {"input", {{"name", "ops:deploy-prod"}}}})
            .verdict == Verdict::kDeny);
  CHECK(h.Must({{"type", "tool_call"}, {"tool", "activate_skill"}, {"input", {{"name", "docs"}}}})
            .verdict == Verdict::kAllow);
  CHECK(h.Must(Request("/deploy-prod now please")).verdict == Verdict::kDeny);
  CHECK(h.Must(Request("how does /deploy-prod work?")).verdict == Verdict::kAllow);
  CHECK(BuiltinConfigErrors("  s: {use: block_skills}\n")
            .find("missing required parameter 'blocked'") != std::string::npos);
}

TEST_CASE("ask_on_os_tools: shell and file tools ask with a preview", "[ask_on_os_tools]") {
  BuiltinHarness h("  os: {use: ask_on_os_tools, with: {shell_tools: [my_shell]}}\n");
  Decision d = h.Must(Bash("rm -rf build"));
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(d.reason == "os: Agent wants to call Bash (rm -rf build). Approve?");
  CHECK(
      h.Must(
           {{"type", "tool_call"}, {"tool", "read_file"}, {"input", {{"file_path", "/etc/hosts"}}}})
          .reason == "os: Agent wants to call read_file (/etc/hosts). Approve?");
  CHECK(h.Must({{"type", "tool_call"}, {"tool", "my_shell"}, {"input", {{"command", "ls"}}}})
            .verdict == Verdict::kAsk);
  CHECK(
      h.Must({{"type", "tool_call"}, {"tool", "WebSearch"}, {"input", {{"query", "x"}}}}).verdict ==
      Verdict::kAllow);
}
