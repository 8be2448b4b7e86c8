// Shared by the configuration loader's source files: config.cc (files,
// layers, settings) and config_entry.cc (policy entries).
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.h"
#include "engine/yaml_json.h"

namespace reins::config_internal {

struct Ctx {
  const PolicyRegistry* registry;
  std::string source;
  std::string base_dir;
  std::vector<ConfigError>* errors;
  Layer layer;
  TimeUs layer_ask_timeout = 0;
  // False for layers that arrive through the API: they may not name files.
  bool allow_files = true;

  void Error(const YAML::Node& at, std::string message) const {
    errors->push_back({source, YamlLine(at), YamlColumn(at), std::move(message)});
  }
  std::string Where(const YAML::Node& at) const {
    return source + ":" + std::to_string(YamlLine(at)) + ":" + std::to_string(YamlColumn(at));
  }
};

// `path` made absolute against `base_dir` ("~" is the home directory).
std::string ResolvePath(const std::string& base_dir, const std::string& path);
Result<std::string> ReadFile(const std::string& path);
// Parses YAML text; a syntax error becomes a ConfigError at its position.
std::optional<YAML::Node> LoadYaml(std::string_view text, const std::string& source,
                                   std::vector<ConfigError>* errors);
std::optional<TimeUs> ParseTimeout(const YAML::Node& node, const Ctx& ctx, const char* what);

// Parses a `policies:` section (a mapping, or the reference engine's list of
// entries with a `name`) into `layer`.
void ParsePolicies(const YAML::Node& node, const Ctx& ctx, PolicyLayer* layer);
// Reports keys of `root` that are not in `known`.
void CheckKeys(const YAML::Node& root, const Ctx& ctx, std::initializer_list<const char*> known,
               const char* what);

// Reports keys of `root` that are not in `known` (a list built at run time).
void CheckKeys(const YAML::Node& root, const Ctx& ctx, const std::vector<std::string>& known,
               const char* what);

// The document's top-level mapping (an empty one for an empty document).
// Callers index it through a const reference: yaml-cpp's non-const
// operator[] inserts missing keys.
std::optional<YAML::Node> Root(std::string_view text, const Ctx& ctx);

std::string DirOf(const std::string& path);

// Reads `path` and hands its text, name and directory to `parse`.
template <typename T, typename Parse>
Result<T> LoadFile(const std::string& path, std::vector<ConfigError>* errors, Parse parse) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    errors->push_back({path, 0, 0, text.status().message()});
    return ConfigStatus(*errors);
  }
  return parse(*text, path, DirOf(path));
}

}  // namespace reins::config_internal
