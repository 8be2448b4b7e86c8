#include <catch2/catch.hpp>

#include "builtins/builtins_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {
Json Call(const std::string& tool, Json input = Json::object()) {
  return {{"type", "tool_call"}, {"tool", tool}, {"input", input}};
}
Json ToolResult(const std::string& tool, Json output) {
  return {{"type", "tool_result"}, {"tool", tool}, {"output", output}};
}
}  // namespace

TEST_CASE("gmail_policy: read and draft, never send or modify by default", "[google]") {
  BuiltinHarness h("  mail: {use: gmail_policy}\n");
  CHECK(h.Must(Call("mcp__google__gmail_search")).verdict == Verdict::kAllow);
  CHECK(h.Must(Call("mcp__gmail__search_emails")).verdict == Verdict::kAllow);
  Decision d = h.Must(Call("mcp__gmail__send_email"));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason ==
        "Gmail operation blocked by policy. Sending mail is not permitted (drafts only).");
  CHECK(h.Must(Call("mcp__google__gmail_message_modify")).verdict == Verdict::kDeny);
  CHECK(h.Must(Call("mcp__google__gmail_draft_create")).verdict == Verdict::kAllow);
  h.Must(ToolResult("mcp__google__gmail_draft_create", R"({"draft": {"id": "d-1"}})"));
  CHECK(h.Must(Call("mcp__google__gmail_draft_update", {{"draft_id", "d-1"}})).verdict ==
        Verdict::kAllow);
  CHECK(h.Must(Call("mcp__google__gmail_draft_update", {{"draft_id", "d-9"}}))
            .reason.find("Only drafts created in this session") != std::string::npos);
  // Unknown tools behind a Gmail prefix fail closed; other tools are not Gmail's business.
  CHECK(h.Must(Call("mcp__google__gmail_forward_everything")).verdict == Verdict::kDeny);
  CHECK(h.Must(Call("mcp__github__create_issue")).verdict == Verdict::kAllow);
}

TEST_CASE("gmail_policy: send can be allowed", "[google]") {
  BuiltinHarness h("  mail: {use: gmail_policy, with: {allow_send: true}}\n");
  CHECK(h.Must(Call("mcp__google-workspace__send_gmail_message")).verdict == Verdict::kAllow);
}

TEST_CASE("gdrive_policy: writes only to files created here or listed", "[google]") {
  BuiltinHarness h(
      "  drive: {use: gdrive_policy, with: {allow_create: true, write_files: "
      "['https://docs.google.com/document/d/KEEP/edit']}}\n");
  CHECK(h.Must(Call("mcp__google__drive_file_get", {{"file_id", "ANY"}})).verdict ==
        Verdict::kAllow);
  CHECK(
      h.Must(Call("mcp__google__docs_document_batch_update", {{"document_id", "OTHER"}})).verdict ==
      Verdict::kDeny);
  CHECK(
      h.Must(Call("mcp__google__docs_document_batch_update", {{"document_id", "KEEP"}})).verdict ==
      Verdict::kAllow);
  CHECK(h.Must(Call("mcp__google__docs_document_create")).verdict == Verdict::kAllow);
  h.Must(ToolResult("mcp__google__docs_document_create", Json{{"documentId", "NEW"}}));
  CHECK(h.Must(Call("mcp__google__docs_document_batch_update", {{"document_id", "NEW"}})).verdict ==
        Verdict::kAllow);
  CHECK(h.Must(Call("mcp__google__drive_comment_create", {{"file_id", "OTHER"}})).verdict ==
        Verdict::kDeny);
}

TEST_CASE("gdrive_policy: no creation by default; restricted reads", "[google]") {
  BuiltinHarness h("  drive: {use: gdrive_policy, with: {read_all: false, read_files: [R1]}}\n");
  CHECK(h.Must(Call("mcp__google__drive_file_create")).verdict == Verdict::kDeny);
  CHECK(h.Must(Call("mcp__google__drive_file_get", {{"file_id", "R1"}})).verdict ==
        Verdict::kAllow);
  CHECK(h.Must(Call("mcp__google__drive_file_get", {{"file_id", "R2"}})).verdict == Verdict::kDeny);
}

TEST_CASE("gcalendar_policy: read-only unless allowed", "[google]") {
  BuiltinHarness h("  cal: {use: gcalendar_policy, with: {allow_create_events: true}}\n");
  CHECK(h.Must(Call("mcp__calendar__list-events")).verdict == Verdict::kAllow);
  CHECK(h.Must(Call("mcp__calendar__create-event")).verdict == Verdict::kAllow);
  CHECK(h.Must(Call("mcp__calendar__delete-event")).verdict == Verdict::kDeny);
  CHECK(h.Must(Call("mcp__google-workspace__manage_event", {{"action", "create"}})).verdict ==
        Verdict::kAllow);
  CHECK(h.Must(Call("mcp__google-workspace__manage_event", {{"action", "delete"}})).verdict ==
        Verdict::kDeny);
}

TEST_CASE("builtins read tool inputs of the wrong JSON type as absent, not as an error",
          "[google][github][enforce_sandbox]") {
  // nlohmann's value() throws on a type mismatch; the policy then failed
  // and denied for a reason that named a JSON exception, whatever it was
  // configured to do.
  BuiltinHarness cal("  cal: {use: gcalendar_policy, with: {allow_create_events: true}}\n");
  Decision d = cal.Must(Call("mcp__google-workspace__manage_event", {{"action", 5}}));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.reason.find("json") == std::string::npos);

  BuiltinHarness gh("  gh: {use: github_policy}\n");
  d = gh.Must(Call("mcp__github__create_or_update_file_write", {{"method", 1}}));
  CHECK(d.reason.find("json") == std::string::npos);
  CHECK(d.verdict != Verdict::kDeny);

  BuiltinHarness box(
      "  box: {use: enforce_sandbox, with: {sandbox_type: linux_bwrap, allow_network: true}}\n");
  d = box.Must({{"type", "session_start"}, {"sandbox", {{"allow_network", "yes"}}}});
  CHECK(d.verdict == Verdict::kModify);
  CHECK(d.patch["sandbox"]["allow_network"] == true);
}
