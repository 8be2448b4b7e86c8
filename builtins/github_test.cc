#include <catch2/catch.hpp>

#include "builtins/builtins_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {
Json Mcp(const std::string& tool, Json input) {
  return {{"type", "tool_call"}, {"tool", "mcp__github__" + tool}, {"input", input}};
}
}  // namespace

TEST_CASE("github_policy: force, tag and destructive pushes deny", "[github]") {
  BuiltinHarness h("  gh: {use: github_policy}\n");
  CHECK(h.Must(Bash("git push origin feature/x")).verdict == Verdict::kAllow);
  for (const char* cmd :
       {"git push --force origin main", "git push -f", "git push origin +main",
        "git push --force-with-lease origin main", "git push origin --delete x",
        "git push origin :x", "git push --tags", "git push origin tag v1",
        "git push --mirror backup", "gh repo delete acme/x --yes", "gh release delete v1",
        "gh api -X DELETE repos/acme/x/git/refs/heads/y", "ls && git push -f origin main"}) {
    INFO(cmd);
    CHECK(h.Must(Bash(cmd)).verdict == Verdict::kDeny);
  }
  CHECK(
      h.Must(Mcp("delete_file", {{"owner", "acme"}, {"repo", "x"}, {"path", "a"}, {"branch", "b"}}))
          .verdict == Verdict::kDeny);
}

TEST_CASE("github_policy: repository and branch allow-lists", "[github]") {
  BuiltinHarness h(R"(  gh:
    use: github_policy
    with:
      write_repos: [acme/widgets]
      write_branches: ["feature/*"]
)");
  CHECK(h.Must(Bash("git push git@github.com:acme/widgets.git feature/login")).verdict ==
        Verdict::kAllow);
  Decision d = h.Must(Bash("git push https://github.com/acme/widgets main"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason.find("branch 'main' is not allowed") != std::string::npos);
  CHECK(h.Must(Bash("git push https://github.com/evil/fork feature/x")).verdict == Verdict::kDeny);
  d = h.Must(Bash("git push https://evil-github.com/acme/widgets feature/x"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason.find("not to evil-github.com") != std::string::npos);
  d = h.Must(Bash("git push origin feature/x"));  // an alias: which repository?
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(h.Must(Bash("git push https://github.com/acme/widgets")).verdict == Verdict::kAsk);
  CHECK(h.Must(Bash("gh pr create -R acme/widgets --fill")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("gh pr create -R acme/other --fill")).verdict == Verdict::kDeny);
  CHECK(h.Must(Bash("gh pr create --fill")).verdict == Verdict::kAsk);
  CHECK(h.Must(Bash("gh pr list")).verdict == Verdict::kAllow);
  CHECK(h.Must(Mcp("push_files", {{"owner", "acme"}, {"repo", "widgets"}, {"branch", "feature/a"}}))
            .verdict == Verdict::kAllow);
  CHECK(h.Must(Mcp("push_files", {{"owner", "acme"}, {"repo", "widgets"}, {"branch", "main"}}))
            .verdict == Verdict::kDeny);
  CHECK(h.Must(Mcp("create_issue", {{"owner", "acme"}, {"repo", "other"}})).verdict ==
        Verdict::kDeny);
  CHECK(h.Must(Mcp("get_file_contents", {{"owner", "x"}, {"repo", "y"}})).verdict ==
        Verdict::kAllow);
  CHECK(h.Must(Mcp("frobnicate_everything", Json::object())).verdict == Verdict::kAsk);
  // The most restrictive answer across the commands of one call wins.
  CHECK(h.Must(Bash("git push origin feature/x; git push https://github.com/acme/widgets main"))
            .verdict == Verdict::kDeny);
}

TEST_CASE("github_policy: reads when read_all is off, and ask on violations", "[github]") {
  BuiltinHarness h(R"(  gh:
    use: github_policy
    with: {read_all: false, read_repos: ["acme/*"], write_repos: [acme/widgets], write_violation_action: ask}
)");
  CHECK(h.Must(Bash("git clone https://github.com/acme/docs")).verdict == Verdict::kAllow);
  CHECK(h.Must(Bash("git clone https://github.com/other/docs")).verdict == Verdict::kDeny);
  CHECK(h.Must(Bash("git fetch")).verdict == Verdict::kAsk);
  CHECK(h.Must(Bash("git clone https://gitlab.com/x/y")).verdict == Verdict::kAllow);  // not GitHub
  CHECK(h.Must(Bash("git push https://github.com/acme/other main")).verdict == Verdict::kAsk);
  CHECK(h.Must(Bash("git push -f https://github.com/acme/widgets main")).verdict == Verdict::kDeny);
  CHECK(BuiltinConfigErrors(R"(  g:
    type: function
    handler: omnigent.policies.builtins.github.github_policy
    factory_params: {write_repos: [myorg/my-repo], write_branches: ["feature/*"]}
)") == "");
}
