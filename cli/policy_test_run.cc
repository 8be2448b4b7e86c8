// Running one policy test case (policy_test.h) and describing what differs.
#include <algorithm>
#include <cmath>

#include "cli/policy_test.h"
#include "engine/sqlite_store.h"

namespace reins {

namespace {

constexpr TimeUs kSecond = 1000000;

bool Fits(const ExpectedDecision& want, const Decision& got) {
  if (want.verdict != got.verdict) return false;
  if (got.reason.find(want.reason) == std::string::npos) return false;
  for (const std::string& p : want.policies) {
    if (std::find(got.policies.begin(), got.policies.end(), p) == got.policies.end()) return false;
  }
  return !want.patch || *want.patch == got.patch;
}

std::string Quote(const std::string& s) { return Json(s).dump(); }

std::string Describe(const ExpectedDecision& want) {
  std::string out(VerdictName(want.verdict));
  std::string by;
  for (const std::string& p : want.policies) by += (by.empty() ? "" : ", ") + p;
  if (!by.empty()) out += " by " + by;
  if (!want.reason.empty()) out += ", reason containing " + Quote(want.reason);
  if (want.patch) out += ", patch " + want.patch->dump();
  return out;
}

std::string Describe(const Decision& got) {
  std::string out(VerdictName(got.verdict));
  std::string by;
  for (const std::string& p : got.policies) by += (by.empty() ? "" : ", ") + p;
  if (!by.empty()) out += " by " + by;
  if (!got.reason.empty()) out += ", reason " + Quote(got.reason);
  if (!got.patch.is_null()) out += ", patch " + got.patch.dump();
  return out;
}

bool SameNumber(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)});
}

// Numbers within tolerance (2.1 spent may be 2.0999999999999996), the rest
// exactly.
bool SameScalar(const Json& want, const Json& got) {
  if (want.is_number() && got.is_number()) {
    return SameNumber(want.get<double>(), got.get<double>());
  }
  return want == got;
}

struct Difference {
  std::string path, want, got;
};

// Collects where `got` differs from the subset `want`: objects by the keys
// `want` names, arrays element by element, numbers within tolerance.
void Compare(const Json& want, const Json& got, const std::string& path,
             std::vector<Difference>* diffs) {
  if (want.is_object() && got.is_object()) {
    for (const auto& [key, value] : want.items()) {
      std::string sub = path.empty() ? key : path + "." + key;
      auto it = got.find(key);
      if (it == got.end()) {
        diffs->push_back({sub, value.dump(), "nothing"});
      } else {
        Compare(value, *it, sub, diffs);
      }
    }
  } else if (want.is_array() && got.is_array() && want.size() == got.size()) {
    for (size_t i = 0; i < want.size(); ++i) {
      Compare(want[i], got[i], path + "[" + std::to_string(i) + "]", diffs);
    }
  } else if (!SameScalar(want, got)) {
    diffs->push_back({path, want.dump(), got.dump()});
  }
}

}  // namespace

Result<std::vector<TestFailure>> RunPolicyTestCase(const PolicyTestCase& c) {
  SqliteOptions sqlite;
  sqlite.durability = c.config->settings.durability;
  auto store = OpenSqliteLogStore(":memory:", sqlite);
  if (!store.ok()) return store.status();
  ManualClock clock(c.clock);
  EngineOptions options;
  options.default_ask_timeout = c.config->settings.ask_timeout;
  Engine engine(store->get(), c.config->settings.prices, &clock, options);
  engine.SetPolicies(c.config->policies);

  std::vector<TestFailure> failures;
  // The engine stamps an event without `ts` from the clock; one with `ts`
  // moves the clock, so later events without one follow it.
  auto submit = [&](const TestEvent& te) {
    Event event = te.event;
    if (event.has_ts()) {
      clock.Set(event.ts());
    } else {
      clock.Advance(kSecond);
    }
    auto d = engine.Submit(std::move(event));
    if (!d.ok()) {
      failures.push_back({te.where, te.label, "", "rejected: " + d.status().message()});
    }
    return d;
  };
  for (const TestEvent& te : c.given) {
    if (!submit(te).ok()) return failures;
  }
  for (const TestEvent& te : c.events) {
    auto d = submit(te);
    if (!d.ok()) return failures;
    const ExpectedDecision* want = te.expect ? &*te.expect : c.otherwise ? &*c.otherwise : nullptr;
    if (want && !Fits(*want, *d)) {
      failures.push_back({want->where, te.label, Describe(*want), Describe(*d)});
    }
  }
  for (const StateCheck& check : c.after) {
    std::string what = "after, session '" + check.session + "'";
    auto state = engine.State(check.session);
    if (!state.ok()) {
      failures.push_back({check.where, what, "", "no state: " + state.status().message()});
      continue;
    }
    std::vector<Difference> diffs;
    Compare(check.fields, state->ToJson(), "", &diffs);
    for (const Difference& d : diffs) {
      failures.push_back({check.where, what + ": " + d.path, d.want, d.got});
    }
  }
  return failures;
}

}  // namespace reins
