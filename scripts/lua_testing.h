// Test support for Lua policies: scripts written into a temporary directory,
// a registry with the "lua" loader, and an engine over a real SQLite log.
#pragma once

#include <fstream>
#include <memory>
#include <string>

#include "engine/testing.h"
#include "scripts/lua_loader.h"

namespace reins::testing {

inline std::unique_ptr<PolicyRegistry> LuaRegistry(
    LuaOptions options = {}, std::shared_ptr<LuaScriptCache> cache = nullptr) {
  auto r = TestRegistry();
  REQUIRE(RegisterLuaLoader(r.get(), options, std::move(cache)).ok());
  return r;
}

// A policy file named "t" whose evaluate(event, session, params) has `body`;
// `extra` adds fields to the returned table.
inline std::string PolicyText(const std::string& body, const std::string& events = "\"tool_call\"",
                              const std::string& extra = "") {
  return "return {\n  name = \"t\",\n  events = {" + events + "},\n" + extra +
         "  evaluate = function(event, session, params)\n" + body + "\n  end,\n}\n";
}

// Lua files in a fresh directory, and `policies:` entries that name them.
class LuaScripts {
 public:
  std::string Write(const std::string& name, const std::string& text) const {
    std::string path = dir_.File(name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    REQUIRE(out.good());
    return path;
  }
  // "  NAME: {lua: DIR/FILE, with: {WITH}, OPTIONS}\n"
  std::string Entry(const std::string& name, const std::string& file, const std::string& with = "",
                    const std::string& options = "") const {
    std::string e = "  " + name + ": {lua: " + dir_.File(file);
    if (!with.empty()) e += ", with: {" + with + "}";
    if (!options.empty()) e += ", " + options;
    return e + "}\n";
  }
  std::string Path(const std::string& file) const { return dir_.File(file); }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
};

// Every configuration error for a server file with these policies, one per
// line ("" when it loads).
inline std::string LuaConfigErrors(const std::string& policies_yaml, LuaOptions options = {}) {
  auto registry = LuaRegistry(options);
  ConfigLoader loader(registry.get());
  std::vector<ConfigError> errors;
  (void)loader.ParseServer("policies:\n" + policies_yaml, "t.yaml", "/", &errors);
  std::string out;
  for (const ConfigError& e : errors) out += e.ToString() + "\n";
  return out;
}

struct LuaHarness : EngineHarness {
  explicit LuaHarness(const std::string& policies_yaml, LuaOptions options = {},
                      std::string db = ":memory:")
      : EngineHarness(policies_yaml, std::move(db), LuaRegistry(options)) {}
};

// The note records of a session: {"source", "message"} bodies, in order.
inline std::vector<Json> Notes(EngineHarness& h, const std::string& session = "s") {
  std::vector<Json> notes;
  Status st = h.store->Scan(session, 0, 0, [&](const Record& r) {
    if (r.kind == RecordKind::kNote) notes.push_back(r.body);
    return true;
  });
  REQUIRE(st.ok());
  return notes;
}

inline Json ApprovalEvent(bool approved = true) {
  return {{"type", "approval"}, {"approved", approved}, {"by", "tester"}};
}
inline Json UserRequest(const std::string& text = "continue") {
  return {{"type", "request"}, {"text", text}};
}
inline Json CostEvent(double usd) { return {{"type", "cost"}, {"cost_usd", usd}}; }

inline Json ToolCall(const std::string& tool, Json input = Json::object()) {
  return {{"type", "tool_call"}, {"tool", tool}, {"input", std::move(input)}};
}
inline Json BashCall(const std::string& command) {
  return ToolCall("Bash", {{"command", command}});
}
inline Json ToolResult(const std::string& tool, Json output, bool is_error = false) {
  return {{"type", "tool_result"},
          {"tool", tool},
          {"output", std::move(output)},
          {"is_error", is_error}};
}

}  // namespace reins::testing
