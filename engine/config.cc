#include "engine/config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "engine/config_internal.h"
#include "engine/yaml_json.h"

namespace reins {

using namespace config_internal;

namespace {

namespace fs = std::filesystem;

}  // namespace

std::string_view LayerName(Layer layer) {
  switch (layer) {
    case Layer::kSession:
      return "session";
    case Layer::kAgent:
      return "agent";
    case Layer::kServer:
      return "server";
  }
  return "?";
}

std::string ConfigError::ToString() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

Status ConfigStatus(const std::vector<ConfigError>& errors) {
  if (errors.empty()) return Status::OK();
  std::string msg = errors.front().ToString();
  if (errors.size() > 1) msg += " (and " + std::to_string(errors.size() - 1) + " more errors)";
  return Status::InvalidArgument(msg);
}

bool SectionInteger(const YAML::Node& node, const SectionContext& ctx, const std::string& key,
                    int64_t lo, int64_t hi, int64_t* out) {
  auto v = YamlToJson(node);
  if (v.ok() && v->is_number_integer() && v->get<int64_t>() >= lo && v->get<int64_t>() <= hi) {
    *out = v->get<int64_t>();
    return true;
  }
  ctx.Error(node,
            key + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  return false;
}

bool SectionDuration(const YAML::Node& node, const SectionContext& ctx, const std::string& key,
                     TimeUs* out) {
  auto v = YamlToJson(node);
  Result<TimeUs> d = Status::InvalidArgument("");
  if (v.ok() && v->is_number() && v->get<double>() > 0) {
    d = static_cast<TimeUs>(v->get<double>() * 1e6);
  } else if (v.ok() && v->is_string()) {
    d = ParseDuration(v->get<std::string>());
  }
  if (d.ok() && *d > 0) {
    *out = *d;
    return true;
  }
  ctx.Error(node, key + " must be a duration such as 30s or 5m");
  return false;
}

bool SectionString(const YAML::Node& node, const SectionContext& ctx, const std::string& key,
                   std::string* out) {
  if (node.IsScalar()) {
    *out = node.Scalar();
    return true;
  }
  ctx.Error(node, key + " must be a string");
  return false;
}

std::string PolicyEntry::state_key() const { return std::string(LayerName(layer)) + ":" + name; }

bool PolicyEntry::Handles(const Event& event) const {
  if (!enabled || !events.Has(event.type())) return false;
  if (on.empty()) return true;
  for (const auto& [type, tool] : on) {
    if (type == event.type() && (tool.empty() || tool == event.tool())) return true;
  }
  return false;
}

Json PolicyEntry::ToJson() const {
  Json on_json = Json::array();
  for (const auto& [type, tool] : on) {
    on_json.push_back(std::string(EventTypeName(type)) + (tool.empty() ? "" : ":" + tool));
  }
  Json j = {{"name", name},
            {"layer", LayerName(layer)},
            {"type", type},
            {"params", params},
            {"on_error", on_error == OnError::kAllow ? "allow" : "deny"},
            {"ask_timeout_s", ask_timeout / 1000000},
            {"enabled", enabled},
            {"on", on_json}};
  if (policy && !policy->SourceDigest().empty()) j["source_sha256"] = policy->SourceDigest();
  return j;
}

namespace {

void ParseAgentDoc(const YAML::Node& root, Ctx& ctx, AgentSpec* spec) {
  CheckKeys(root, ctx, {"name", "description", "policies", "guardrails"}, "an agent spec");
  if (auto n = root["name"]) spec->name = n.IsScalar() ? n.Scalar() : "";
  if (auto d = root["description"]) spec->description = d.IsScalar() ? d.Scalar() : "";
  YAML::Node policies = root["policies"] ? YAML::Node(root["policies"]) : YAML::Node();
  if (const YAML::Node g = root["guardrails"]) {
    if (!g.IsMap()) {
      ctx.Error(g, "'guardrails' must be a mapping");
    } else {
      CheckKeys(g, ctx, {"policies", "ask_timeout"}, "'guardrails'");
      if (g["ask_timeout"]) {
        if (auto t = ParseTimeout(g["ask_timeout"], ctx, "guardrails.ask_timeout")) {
          ctx.layer_ask_timeout = *t;
        }
      }
      if (g["policies"]) {
        if (root["policies"]) {
          ctx.Error(g["policies"], "policies given both at the top level and under guardrails");
        }
        policies.reset(g["policies"]);
      }
    }
  }
  ParsePolicies(policies, ctx, &spec->policies);
}

// Parses JSON from the API as YAML (a superset) with `parse`, then names
// the field at fault in each new error.
template <typename T, typename Parse>
Result<T> ParseApi(const Json& value, const PolicyRegistry* registry, Layer layer,
                   std::vector<ConfigError>* errors, Parse parse) {
  size_t before = errors->size();
  std::string text = value.dump(2);
  Ctx ctx{registry, "request", "/", errors, layer};
  ctx.allow_files = false;
  T out;
  auto doc = Root(text, ctx);
  if (doc) parse(*doc, ctx, &out);
  for (size_t i = before; i < errors->size(); ++i) {
    ConfigError& e = (*errors)[i];
    if (doc) e.field = YamlPathAt(*doc, e.line, e.column);
  }
  if (errors->size() != before) return ConfigStatus(*errors);
  return out;
}

}  // namespace

Result<AgentSpec> ConfigLoader::ParseAgent(std::string_view text, const std::string& source,
                                           const std::string& base_dir,
                                           std::vector<ConfigError>* errors) const {
  size_t before = errors->size();
  Ctx ctx{registry_, source, base_dir, errors, Layer::kAgent};
  AgentSpec spec;
  if (auto doc = Root(text, ctx)) ParseAgentDoc(*doc, ctx, &spec);
  if (errors->size() != before) return ConfigStatus(*errors);
  return spec;
}

Result<PolicyLayer> ConfigLoader::ParseApiLayer(const Json& policies, Layer layer,
                                                std::vector<ConfigError>* errors) const {
  return ParseApi<PolicyLayer>(Json{{"policies", policies}}, registry_, layer, errors,
                               [](const YAML::Node& root, Ctx& ctx, PolicyLayer* out) {
                                 ParsePolicies(root["policies"], ctx, out);
                                 out->file = "";
                                 for (PolicyEntry& e : out->entries) e.location = "api";
                               });
}

Result<AgentSpec> ConfigLoader::ParseApiAgent(const Json& spec,
                                              std::vector<ConfigError>* errors) const {
  if (!spec.is_object()) {
    errors->push_back({"request", 0, 0, "an agent spec must be an object", "agent"});
    return ConfigStatus(*errors);
  }
  return ParseApi<AgentSpec>(spec, registry_, Layer::kAgent, errors,
                             [](const YAML::Node& root, Ctx& ctx, AgentSpec* out) {
                               ParseAgentDoc(root, ctx, out);
                               for (PolicyEntry& e : out->policies.entries) e.location = "api";
                             });
}

Result<PolicyLayer> ConfigLoader::ParseSession(std::string_view text, const std::string& source,
                                               const std::string& base_dir,
                                               std::vector<ConfigError>* errors) const {
  size_t before = errors->size();
  Ctx ctx{registry_, source, base_dir, errors, Layer::kSession};
  PolicyLayer layer;
  if (auto doc = Root(text, ctx)) {
    const YAML::Node& root = *doc;
    CheckKeys(root, ctx, {"policies"}, "a session configuration");
    ParsePolicies(root["policies"], ctx, &layer);
  }
  if (errors->size() != before) return ConfigStatus(*errors);
  return layer;
}

Result<AgentSpec> ConfigLoader::LoadAgent(const std::string& path,
                                          std::vector<ConfigError>* errors) const {
  return LoadFile<AgentSpec>(path, errors, [&](auto& text, auto& src, auto dir) {
    return ParseAgent(text, src, dir, errors);
  });
}

Result<PolicyLayer> ConfigLoader::LoadSession(const std::string& path,
                                              std::vector<ConfigError>* errors) const {
  return LoadFile<PolicyLayer>(path, errors, [&](auto& text, auto& src, auto dir) {
    return ParseSession(text, src, dir, errors);
  });
}

Status ConfigLoader::Check(const std::string& path, std::vector<ConfigError>* errors) const {
  auto text = ReadFile(path);
  if (!text.ok()) {
    errors->push_back({path, 0, 0, text.status().message()});
    return ConfigStatus(*errors);
  }
  std::vector<ConfigError> scratch;
  auto doc = LoadYaml(*text, path, &scratch);
  const YAML::Node root = doc ? *doc : YAML::Node();
  bool agent = root.IsMap() && (root["name"] || root["guardrails"] || root["description"]);
  if (agent) return LoadAgent(path, errors).status();
  return LoadServer(path, errors).status();
}

}  // namespace reins
