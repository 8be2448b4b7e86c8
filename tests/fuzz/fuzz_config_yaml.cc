// Fuzzes YAML configuration loading (engine/config.h) with the loader the
// CLI and the server use: every builtin, the Lua loader and the server's
// `server:`, `proxy:` and `llm:` sections (cli/setup.cc does the same).
//
// Each input is parsed as a server file, an agent spec and a session layer,
// from a temporary directory that holds the example Lua scripts (so `lua:`
// and `scripts:` entries can load real scripts) and stands in for $HOME.
//
// Invariants: a load succeeds exactly when it reports no error; every error
// has a message and a position; a loaded layer's entries carry their layer,
// a type and a policy, and compose into a policy set with a digest.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "builtins/builtins.h"
#include "engine/config.h"
#include "engine/policy_set.h"
#include "scripts/lua_loader.h"
#include "server/settings.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace fs = std::filesystem;
using reins::ConfigError;

struct Setup {
  std::string dir;
  reins::PolicyRegistry registry;
  std::unique_ptr<reins::ConfigLoader> loader;

  Setup() {
    dir = reins::fuzz::MakeTempDir("reins-fuzz-config");
    // "~/x" in a configuration resolves here, not in the real home.
    setenv("HOME", dir.c_str(), 1);
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(REINS_SOURCE_DIR "/examples/policies", ec)) {
      if (e.path().extension() == ".lua") fs::copy_file(e.path(), dir / e.path().filename(), ec);
    }
    std::ofstream(dir + "/agent.yaml") << "name: coder\npolicies:\n  loops:\n    use: loop_guard\n";
    if (!reins::RegisterBuiltins(&registry).ok() || !reins::RegisterLuaLoader(&registry).ok()) {
      abort();
    }
    loader = std::make_unique<reins::ConfigLoader>(&registry);
    reins::ServerOverrides overrides;
    overrides.token_dir = dir + "/tokens";
    reins::RegisterServerSection(loader.get(), overrides);
  }
};

Setup& S() {
  static Setup* s = new Setup();
  return *s;
}

std::string Errors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors) out += e.ToString() + "\n";
  return out;
}

void CheckErrors(bool ok, const std::vector<ConfigError>& errors) {
  FUZZ_CHECK(ok == errors.empty(),
             (ok ? "loaded with errors:\n" : "failed without an error\n") + Errors(errors));
  for (const ConfigError& e : errors) {
    FUZZ_CHECK(!e.message.empty() && !e.file.empty(), Errors(errors));
    FUZZ_CHECK(e.line >= 0 && e.column >= 0, Errors(errors));
  }
}

void CheckLayer(const reins::PolicyLayer& layer, reins::Layer expected) {
  FUZZ_CHECK(layer.layer == expected, "layer");
  for (const reins::PolicyEntry& e : layer.entries) {
    FUZZ_CHECK(e.layer == expected, e.name);
    FUZZ_CHECK(!e.name.empty() && !e.type.empty(), e.name + " " + e.type);
    FUZZ_CHECK(e.policy != nullptr, e.name);
    FUZZ_CHECK(e.params.is_object(), e.name + " " + e.params.dump());
    (void)e.ToJson().dump();
  }
}

void Compose(const reins::PolicyLayer* session, const reins::PolicyLayer* agent,
             const reins::PolicyLayer* server) {
  auto set = reins::PolicySet::Compose(session, agent, server);
  if (!set.ok()) return;  // a name in two layers
  FUZZ_CHECK((*set)->digest().size() == 64, (*set)->digest());
  (void)(*set)->ToJson().dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Setup& s = S();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Files outside the temporary directory may be named by absolute path.
  if (reins::fuzz::NamesSpecialFile(text)) return 0;

  std::vector<ConfigError> server_errors, agent_errors, session_errors;
  auto server = s.loader->ParseServer(text, "fuzz.yaml", s.dir, &server_errors);
  CheckErrors(server.ok(), server_errors);
  auto agent = s.loader->ParseAgent(text, "fuzz.yaml", s.dir, &agent_errors);
  CheckErrors(agent.ok(), agent_errors);
  auto session = s.loader->ParseSession(text, "fuzz.yaml", s.dir, &session_errors);
  CheckErrors(session.ok(), session_errors);

  if (server.ok()) {
    CheckLayer(server->policies, reins::Layer::kServer);
    FUZZ_CHECK(server->registry != nullptr, "no registry");
    (void)reins::ServerSettingsOf(*server);
    FUZZ_CHECK(server->settings.limits.max_bytes >= 1024, "max_event_bytes");
    for (const auto& [name, spec] : server->agents) {
      FUZZ_CHECK(spec != nullptr, name);
      CheckLayer(spec->policies, reins::Layer::kAgent);
    }
  }
  if (agent.ok()) CheckLayer(agent->policies, reins::Layer::kAgent);
  if (session.ok()) CheckLayer(*session, reins::Layer::kSession);
  Compose(session.ok() ? &*session : nullptr, agent.ok() ? &agent->policies : nullptr,
          server.ok() ? &server->policies : nullptr);
  return 0;
}
