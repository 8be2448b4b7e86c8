// What every CLI command needs: the policy registry and the layered
// configuration loaded from --server / --agent / --session files.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "engine/config.h"
#include "engine/policy_set.h"
#include "engine/registry.h"

namespace reins {

// Every policy type this build knows (builtins and file loaders).
const PolicyRegistry& DefaultRegistry();
// A loader over DefaultRegistry() that also knows the server's `server:`
// section, so every command accepts the file `reins serve` reads.
ConfigLoader DefaultConfigLoader();

struct LoadedConfig {
  EngineSettings settings;
  std::shared_ptr<const PolicySet> policies;
};

// Loads the given files (any may be empty) and composes their layers.
// Prints every error as "file:line:column: message" to `err` and returns
// nullopt when there was any.
std::optional<LoadedConfig> LoadLayers(const std::string& server, const std::string& agent,
                                       const std::string& session, std::ostream& err);

// `path` made absolute and normalized (empty stays empty): commands that
// hand paths to another process or directory (a server, a hook setting).
std::string AbsolutePath(const std::string& path);

}  // namespace reins
