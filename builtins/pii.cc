// deny_pii_in_llm_request: personal data and secrets must not leave in a
// prompt (docs/policies.md#deny_pii_in_llm_request).
//
// Scans a request's text and attachments, and an llm_request's text, context
// and system prompt, with RE2 patterns (linear time, whatever the input), each
// followed by a check that cuts false positives (Luhn for card numbers,
// mod 97 for IBANs, invalid SSN ranges). The reason names the kinds found,
// never the values. REDACT answers modify with each match masked as
// [REDACTED:KIND].
#include <re2/re2.h>

#include <algorithm>
#include <memory>

#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "engine/session_view.h"

namespace reins {

namespace {

std::string Digits(std::string_view s) {
  std::string d;
  for (char c : s) {
    if (c >= '0' && c <= '9') d += c;
  }
  return d;
}

bool Luhn(std::string_view match) {
  std::string d = Digits(match);
  if (d.size() < 13 || d.size() > 19) return false;
  int sum = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    int v = d[d.size() - 1 - i] - '0';
    if (i % 2 == 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  return sum % 10 == 0;
}

bool ValidSsn(std::string_view match) {
  std::string d = Digits(match);
  if (d.size() != 9) return false;
  std::string area = d.substr(0, 3);
  return area != "000" && area != "666" && area[0] != '9' && d.substr(3, 2) != "00" &&
         d.substr(5) != "0000";
}

bool ValidIban(std::string_view match) {
  std::string s;
  for (char c : match) {
    if (c != ' ') s += c;
  }
  if (s.size() < 15 || s.size() > 34) return false;
  std::string moved = s.substr(4) + s.substr(0, 4);
  int rem = 0;
  for (char c : moved) {
    int v = c >= 'A' && c <= 'Z' ? c - 'A' + 10 : c - '0';
    rem = (v >= 10 ? rem * 100 + v : rem * 10 + v) % 97;
  }
  return rem == 1;
}

// A phone number is written with a separator, parentheses or a leading +
// (a bare run of digits is more often an id); with a country code it has 10
// to 15 digits, without one 10 (or 11 starting with 1, as in North America),
// so groups of card-like digits are not taken for one.
bool LooksLikePhone(std::string_view match) {
  std::string d = Digits(match);
  if (match.find_first_of(" .-()+") == std::string_view::npos) return false;
  if (!match.empty() && match[0] == '+') return d.size() >= 10 && d.size() <= 15;
  return d.size() == 10 || (d.size() == 11 && d[0] == '1');
}

struct Kind {
  const char* id;
  const char* label;
  const char* pattern;  // group 1, when present, is the part to mask
  bool (*valid)(std::string_view);
  bool secret;
};

// Order matters: longer digit runs (cards, IBANs) are found and masked
// before the phone pattern could claim pieces of them.
const Kind kKinds[] = {
    {"private_key", "private key block",
     R"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?s:.*?)(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$))",
     nullptr, true},
    {"aws_access_key", "AWS access key", R"(\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b)", nullptr,
     true},
    {"github_token", "GitHub token",
     R"(\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b)", nullptr, true},
    {"slack_token", "Slack token", R"(\bxox[abposr]-[A-Za-z0-9-]{10,}\b)", nullptr, true},
    {"api_key", "API key or secret assignment",
     R"((?i)\b(?:api[_-]?key|secret|access[_-]?token|auth[_-]?token|password|passwd)\b["']?\s*[:=]\s*["']?([A-Za-z0-9_\-./+=]{8,}))",
     nullptr, true},
    {"credit_card", "credit card number", R"(\b(?:\d[ -]?){12,18}\d\b)", Luhn, false},
    {"iban", "IBAN", R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b)", ValidIban, false},
    {"ssn", "US Social Security number", R"(\b\d{3}-\d{2}-\d{4}\b)", ValidSsn, false},
    {"email", "email address",
     R"(\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b)", nullptr, false},
    {"phone", "phone number",
     R"((?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)|\b\d{2,4})[ .-]?\d{3,4}[ .-]?\d{3,4}\b)", LooksLikePhone,
     false},
};

struct Compiled {
  const Kind* kind;
  std::unique_ptr<RE2> re;
};

class DenyPii : public Policy {
 public:
  DenyPii(const Json& params, std::vector<ParamError>* errors)
      : action_(params.at("action").get<std::string>()) {
    std::vector<std::string> types = StringList(params, "pii_types");
    if (types.empty()) types = {"all"};
    for (const Kind& k : kKinds) {
      bool wanted = std::any_of(types.begin(), types.end(), [&](const std::string& t) {
        std::string l = Lower(t);
        return l == "all" || l == k.id || (l == "secrets" && k.secret);
      });
      if (!wanted) continue;
      RE2::Options opts;
      opts.set_log_errors(false);
      auto re = std::make_unique<RE2>(k.pattern, opts);
      if (!re->ok())
        errors->push_back({"", std::string("internal pattern ") + k.id + ": " + re->error()});
      compiled_.push_back({&k, std::move(re)});
    }
    for (const std::string& t : types) {
      std::string l = Lower(t);
      bool known = l == "all" || l == "secrets" ||
                   std::any_of(std::begin(kKinds), std::end(kKinds),
                               [&](const Kind& k) { return l == k.id; });
      if (!known) {
        std::string list = "all, secrets";
        for (const Kind& k : kKinds) list += std::string(", ") + k.id;
        errors->push_back({"pii_types", "unknown PII type '" + t + "' (known: " + list + ")"});
      }
    }
  }

  EvalResult Evaluate(const Event& event, const SessionView&) const override {
    std::map<std::string, int> found;  // label -> count
    Json patch = Json::object();
    auto scan = [&](std::string text) {
      bool changed = false;
      for (const Compiled& c : compiled_) changed |= Mask(c, &text, &found);
      return std::make_pair(changed, text);
    };
    for (const char* field : {"text", "context", "system"}) {
      const Json* v = event.Get(field);
      if (!v || !v->is_string()) continue;
      auto [changed, masked] = scan(v->get<std::string>());
      if (changed) patch[field] = masked;
    }
    if (const Json* attachments = event.Get("attachments")) {
      Json copy = *attachments;
      bool any = false;
      for (Json& a : copy) {
        if (!a.contains("text")) continue;
        auto [changed, masked] = scan(a["text"].get<std::string>());
        if (changed) a["text"] = masked, any = true;
      }
      if (any) patch["attachments"] = copy;
    }
    if (found.empty()) return std::optional<PolicyResult>();
    std::string kinds;
    for (const auto& [label, n] : found) {
      kinds += (kinds.empty() ? "" : ", ") + label + " (" + std::to_string(n) + ")";
    }
    if (action_ == "redact") return PolicyResult::Modify(std::move(patch), "redacted " + kinds);
    std::string reason = "Sensitive data in the " + std::string(event.type_name()) + ": " + kinds;
    return action_ == "ask" ? PolicyResult::Ask(reason) : PolicyResult::Deny(reason);
  }

 private:
  // Masks every valid match of one kind in `text`; counts them in `found`.
  static bool Mask(const Compiled& c, std::string* text, std::map<std::string, int>* found) {
    bool changed = false;
    std::string out;
    re2::StringPiece input(*text);
    re2::StringPiece groups[2];
    int ngroups = std::min(2, 1 + c.re->NumberOfCapturingGroups());
    size_t pos = 0;
    while (pos <= text->size() &&
           c.re->Match(input, pos, text->size(), RE2::UNANCHORED, groups, ngroups)) {
      re2::StringPiece whole = groups[0];
      re2::StringPiece secret = ngroups > 1 && groups[1].data() ? groups[1] : whole;
      size_t start = whole.data() - text->data();
      size_t end = start + whole.size();
      if (whole.empty()) {  // cannot advance on an empty match: copy one character
        out.append(*text, pos, start + 1 - pos);
        pos = start + 1;
        continue;
      }
      if (c.kind->valid && !c.kind->valid(std::string_view(secret.data(), secret.size()))) {
        out.append(*text, pos, end - pos);
      } else {
        size_t s = secret.data() - text->data();
        out.append(*text, pos, s - pos);
        out += std::string("[REDACTED:") + c.kind->id + "]";
        out.append(*text, s + secret.size(), end - s - secret.size());
        ++(*found)[c.kind->label];
        changed = true;
      }
      pos = end;
    }
    if (!changed) return false;
    if (pos < text->size()) out.append(*text, pos, std::string::npos);
    *text = std::move(out);
    return true;
  }

  std::string action_;
  std::vector<Compiled> compiled_;
};

}  // namespace

Status RegisterPiiPolicies(PolicyRegistry* registry) {
  PolicyType t;
  t.name = "deny_pii_in_llm_request";
  t.description =
      "Finds personal data (SSN, card numbers, email, phone, IBAN) and secrets (cloud, GitHub and "
      "Slack tokens, private keys, api_key= assignments) in prompts; denies, asks, or redacts.";
  t.events = {EventType::kRequest, EventType::kLlmRequest};
  t.params = {
      {"pii_types", ParamType::kStringList, Json::array({"all"}), false,
       "Kinds to look for: all, secrets, or any of ssn, credit_card, email, phone, iban, "
       "aws_access_key, github_token, slack_token, private_key, api_key."},
      {"action",
       ParamType::kString,
       "deny",
       false,
       "deny, ask, or redact (modify with masks).",
       {"deny", "ask", "redact"}},
  };
  t.create = FactoryOf<DenyPii>();
  return registry->Register(std::move(t), {ReferenceHandler("safety", "deny_pii_in_llm_request")});
}

}  // namespace reins
