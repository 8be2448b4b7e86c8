// Test support: an engine harness whose registry holds the builtins.
#pragma once

#include "builtins/builtins.h"
#include "engine/testing.h"

namespace reins::testing {

inline std::unique_ptr<PolicyRegistry> BuiltinRegistry() {
  auto r = std::make_unique<PolicyRegistry>();
  REQUIRE(RegisterBuiltins(r.get()).ok());
  return r;
}

// An engine with these builtins configured in the server layer. The default
// self_protect is switched off (the way an administrator would) unless the
// test configures it, so each test sees only the policies it names.
struct BuiltinHarness : EngineHarness {
  explicit BuiltinHarness(const std::string& policies_yaml)
      : EngineHarness(WithoutDefaults(policies_yaml), ":memory:", BuiltinRegistry()) {}

  static std::string WithoutDefaults(const std::string& yaml) {
    if (yaml.find("self_protect") != std::string::npos) return yaml;
    return yaml + "  default_self_protect: {use: self_protect, enabled: false}\n";
  }
};

// Configuration errors for a server file with these policies, one per line.
inline std::string BuiltinConfigErrors(const std::string& policies_yaml) {
  auto registry = BuiltinRegistry();
  ConfigLoader loader(registry.get());
  std::vector<ConfigError> errors;
  (void)loader.ParseServer("policies:\n" + policies_yaml, "t.yaml", "/", &errors);
  std::string out;
  for (const ConfigError& e : errors) out += e.ToString() + "\n";
  return out;
}

inline Json Spend(double usd) { return {{"type", "cost"}, {"cost_usd", usd}}; }
inline Json Request(const std::string& text = "continue") {
  return {{"type", "request"}, {"text", text}};
}
inline Json Bash(const std::string& command = "ls") {
  return {{"type", "tool_call"}, {"tool", "Bash"}, {"input", {{"command", command}}}};
}
inline Json Approve(const std::string& id = "") {
  Json j = {{"type", "approval"}, {"approved", true}, {"by", "tester"}};
  if (!id.empty()) j["approval_id"] = id;
  return j;
}

}  // namespace reins::testing
