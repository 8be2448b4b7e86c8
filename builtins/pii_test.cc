#include <catch2/catch.hpp>

#include "builtins/builtins_testing.h"

using namespace reins;
using namespace reins::testing;

TEST_CASE("deny_pii_in_llm_request: each kind is found and never echoed", "[pii]") {
  BuiltinHarness h("  pii: {use: deny_pii_in_llm_request}\n");
  struct Case {
    std::string text;
    std::string label;
  } cases[] = {
      {"my ssn is 123-45-6789", "US Social Security number"},
      {"card 4111 1111 1111 1111 exp 12/29", "credit card number"},
      {"mail ann.smith+work@example.co.uk today", "email address"},
      {"call +1 (415) 555-0134", "phone number"},
      {"IBAN GB82 WEST 1234 5698 7654 32", "IBAN"},
      {"key AKIAIOSFODNN7EXAMPLE", "AWS access key"},
      {"token ghp_0123456789abcdefghijABCDEFGHIJ012345", "GitHub token"},
      {"xoxb-123456789012-abcdefghijkl", "Slack token"},
      {"-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----",
       "private key block"},
      {"export API_KEY=sk_live_abcdef123456", "API key or secret assignment"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    Decision d = h.Must({{"type", "request"}, {"text", c.text}});
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(d.reason.find(c.label + " (1)") != std::string::npos);
    CHECK(d.reason.find("6789") == std::string::npos);
    CHECK(d.reason.find("1111") == std::string::npos);
    CHECK(d.reason.find("example.co.uk") == std::string::npos);
  }
}

TEST_CASE("deny_pii_in_llm_request: checksums and ranges cut false positives", "[pii]") {
  BuiltinHarness h("  pii: {use: deny_pii_in_llm_request}\n");
  for (const char* benign : {"order 4111 1111 1111 1112 shipped",     // fails Luhn
                             "ssn-like 000-12-3456 and 666-12-3456",  // invalid areas
                             "build 20261121093015 finished",         // bare digits
                             "version 1.2.3 released on 2026-11-21",
                             "IBAN GB00 WEST 1234 5698 7654 32"}) {  // bad mod 97
    INFO(benign);
    CHECK(h.Must({{"type", "request"}, {"text", benign}}).verdict == Verdict::kAllow);
  }
}

TEST_CASE("deny_pii_in_llm_request: llm_request fields, attachments, ask and type filter",
          "[pii]") {
  BuiltinHarness h(
      "  pii: {use: deny_pii_in_llm_request, with: {pii_types: [secrets], action: ASK}}\n");
  CHECK(
      h.Must({{"type", "llm_request"}, {"model", "m"}, {"text", "mail ann@example.com"}}).verdict ==
      Verdict::kAllow);  // email is not a secret
  Decision d =
      h.Must({{"type", "llm_request"}, {"model", "m"}, {"system", "use AKIAIOSFODNN7EXAMPLE"}});
  CHECK(d.verdict == Verdict::kAsk);
  d = h.Must({{"type", "request"},
              {"text", "see file"},
              {"attachments", {{{"name", "a.env"}, {"text", "password: hunter2hunter2"}}}}});
  CHECK(d.verdict == Verdict::kAsk);
  CHECK(BuiltinConfigErrors("  p: {use: deny_pii_in_llm_request, with: {pii_types: [passport]}}\n")
            .find("unknown PII type 'passport'") != std::string::npos);
}

TEST_CASE("deny_pii_in_llm_request: REDACT masks the values", "[pii]") {
  BuiltinHarness h("  pii: {use: deny_pii_in_llm_request, with: {action: redact}}\n");
  Decision d =
      h.Must({{"type", "request"},
              {"text", "email ann@example.com, card 4111-1111-1111-1111, API_KEY=abcdef123456"},
              {"attachments", {{{"name", "n.txt"}, {"text", "ssn 123-45-6789"}}}}});
  CHECK(d.verdict == Verdict::kModify);
  CHECK(d.patch["text"] ==
        "email [REDACTED:email], card [REDACTED:credit_card], API_KEY=[REDACTED:api_key]");
  CHECK(d.patch["attachments"][0]["text"] == "ssn [REDACTED:ssn]");
  CHECK(d.reason.find("redacted") != std::string::npos);
}
