// Server files: engine settings, pricing, `scripts:`, `agents:`, sections
// registered by other components, and the default policies.
#include <algorithm>
#include <filesystem>

#include "engine/config_internal.h"
#include "engine/yaml_json.h"

namespace reins {

using namespace config_internal;

namespace {

namespace fs = std::filesystem;

void ParseEngineSettings(const YAML::Node& node, const Ctx& ctx, EngineSettings* s) {
  if (!node.IsMap()) {
    ctx.Error(node, "'engine' must be a mapping");
    return;
  }
  CheckKeys(node, ctx, {"db", "durability", "ask_timeout", "max_event_bytes"}, "'engine'");
  if (auto db = node["db"]) {
    if (!db.IsScalar() || db.Scalar().empty())
      ctx.Error(db, "engine.db must be a path");
    else
      s->db_path = db.Scalar() == ":memory:" ? "" : ResolvePath(ctx.base_dir, db.Scalar());
  }
  if (auto d = node["durability"]) {
    std::string v = d.IsScalar() ? d.Scalar() : "";
    if (v == "normal")
      s->durability = Durability::kNormal;
    else if (v == "full")
      s->durability = Durability::kFull;
    else
      ctx.Error(d, "engine.durability must be 'normal' or 'full'");
  }
  if (auto t = node["ask_timeout"]) {
    if (auto v = ParseTimeout(t, ctx, "engine.ask_timeout")) s->ask_timeout = *v;
  }
  if (auto m = node["max_event_bytes"]) {
    auto v = YamlToJson(m);
    if (v.ok() && v->is_number_integer() && v->get<int64_t>() >= 1024 &&
        v->get<int64_t>() <= (1LL << 30)) {
      s->limits.max_bytes = v->get<size_t>();
    } else {
      ctx.Error(m, "engine.max_event_bytes must be an integer between 1024 and 1073741824");
    }
  }
}

void ParsePricing(const YAML::Node& node, const Ctx& ctx, PriceTable* prices) {
  if (!node.IsMap()) {
    ctx.Error(node, "'pricing' must be a mapping");
    return;
  }
  CheckKeys(node, ctx, {"file", "models"}, "'pricing'");
  if (auto f = node["file"]) {
    std::string path = f.IsScalar() ? ResolvePath(ctx.base_dir, f.Scalar()) : "";
    auto text = ReadFile(path);
    if (!text.ok()) {
      ctx.Error(f, "pricing.file: " + text.status().message());
    } else {
      try {
        Status st = prices->MergeLiteLlm(Json::parse(*text));
        if (!st.ok()) ctx.Error(f, "pricing.file " + path + ": " + st.message());
      } catch (const Json::exception& e) {
        ctx.Error(f, "pricing.file " + path + ": malformed JSON: " + e.what());
      }
    }
  }
  if (auto models = node["models"]) {
    if (!models.IsMap()) {
      ctx.Error(models, "pricing.models must map model ids to {input, output, ...}");
      return;
    }
    for (const auto& kv : models) {
      auto entry = YamlToJson(kv.second);
      Status st = entry.ok() ? prices->MergeConfigEntry(kv.first.Scalar(), *entry) : entry.status();
      if (!st.ok()) ctx.Error(kv.second, st.message());
    }
  }
}

// `scripts: {NAME: file.lua}`: each script becomes a policy type named NAME
// in `registry`, usable by `use: NAME` in every layer of this server.
void ParseScripts(const YAML::Node& node, const Ctx& ctx, PolicyRegistry* registry,
                  std::vector<std::string>* files) {
  if (!node.IsMap()) {
    ctx.Error(node, "'scripts' must map policy names to Lua files (NAME: file.lua)");
    return;
  }
  const PolicyLoader* lua = registry->FindLoader("lua");
  for (const auto& kv : node) {
    std::string name = kv.first.Scalar();
    if (!kv.second.IsScalar() || kv.second.Scalar().empty()) {
      ctx.Error(kv.second, "scripts." + name + " must be the path of a Lua file");
      continue;
    }
    if (!lua) {
      ctx.Error(kv.first, "scripts." + name + ": Lua policies are not available in this build");
      continue;
    }
    std::string path = ResolvePath(ctx.base_dir, kv.second.Scalar());
    auto type = (*lua)(path);
    if (!type.ok()) {
      ctx.Error(kv.second, "scripts." + name + ": " + type.status().message());
      continue;
    }
    type->name = name;
    Status st = registry->Register(std::move(type).value());
    if (!st.ok()) {
      ctx.Error(kv.first, "scripts." + name + ": the name is taken by a builtin policy");
      continue;
    }
    files->push_back(path);
  }
}

// `agents: [spec.yaml, ...]`: agent specs, by their names.
void ParseAgents(const YAML::Node& node, const Ctx& ctx, ServerConfig* config) {
  if (!node.IsSequence()) {
    ctx.Error(node, "'agents' must be a list of agent spec files");
    return;
  }
  ConfigLoader loader(config->registry.get());
  for (const YAML::Node& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      ctx.Error(item, "each item of 'agents' must be the path of an agent spec file");
      continue;
    }
    std::string path = ResolvePath(ctx.base_dir, item.Scalar());
    auto spec = loader.LoadAgent(path, ctx.errors);
    if (!spec.ok()) continue;
    if (spec->name.empty()) {
      ctx.Error(item, "agent spec " + path + " has no 'name'");
      continue;
    }
    if (config->agents.count(spec->name)) {
      ctx.Error(item, "agent '" + spec->name + "' is defined twice (" + path + ")");
      continue;
    }
    config->files.push_back(path);
    std::string name = spec->name;
    config->agents[name] = std::make_shared<const AgentSpec>(std::move(spec).value());
  }
}

class SectionCtx : public SectionContext {
 public:
  SectionCtx(const Ctx& ctx, std::vector<std::string>* protect) : ctx_(ctx), protect_(protect) {}
  void Error(const YAML::Node& at, std::string message) const override {
    ctx_.Error(at, std::move(message));
  }
  std::string ResolvePath(const std::string& path) const override {
    return config_internal::ResolvePath(ctx_.base_dir, path);
  }
  void Protect(const std::string& path) const override { protect_->push_back(path); }

 private:
  const Ctx& ctx_;
  std::vector<std::string>* protect_;
};

// Appends the registry's default policies that the server layer does not
// configure itself.
void AddDefaults(const Ctx& ctx, const EngineSettings& settings,
                 const std::vector<std::string>& files, PolicyLayer* layer) {
  for (const DefaultPolicy& d : ctx.registry->defaults()) {
    bool configured = std::any_of(layer->entries.begin(), layer->entries.end(),
                                  [&](const PolicyEntry& e) { return e.type == d.type; });
    if (configured) continue;
    const PolicyType* type = ctx.registry->Find(d.type);
    if (!type) continue;
    DefaultContext dc{settings.db_path, files};
    // Scripts the layer loads (`lua: FILE` entries) are configuration too.
    for (const PolicyEntry& e : layer->entries) {
      if (size_t colon = e.type.find(':'); colon != std::string::npos) {
        dc.config_files.push_back(e.type.substr(colon + 1));
      }
    }
    std::vector<ParamError> errors;
    auto params = ValidateParams(type->params, d.params(dc), &errors);
    auto policy = params.ok() ? type->create(*params, &errors) : params.status();
    if (!policy.ok()) {
      ctx.errors->push_back(
          {ctx.source, 0, 0, "default policy '" + d.name + "': " + policy.status().message()});
      continue;
    }
    PolicyEntry e;
    e.name = d.name;
    e.layer = Layer::kServer;
    e.type = type->name;
    e.location = "<default>";
    e.params = std::move(params).value();
    e.events = type->events;
    e.policy = std::move(policy).value();
    layer->entries.push_back(std::move(e));
  }
}

}  // namespace

Result<ServerConfig> ConfigLoader::ParseServer(std::string_view text, const std::string& source,
                                               const std::string& base_dir,
                                               std::vector<ConfigError>* errors) const {
  size_t before = errors->size();
  auto registry = std::make_shared<PolicyRegistry>(*registry_);
  Ctx ctx{registry.get(), source, base_dir, errors, Layer::kServer};
  ServerConfig config;
  if (!source.empty() && source[0] != '<') {
    config.files.push_back(fs::absolute(source).lexically_normal().string());
  }
  auto prices = std::make_shared<PriceTable>(PriceTable::OverBuiltin());
  std::vector<std::string> protect;
  if (auto doc = Root(text, ctx)) {
    const YAML::Node& root = *doc;
    std::vector<std::string> known = {"engine", "pricing", "policies", "scripts", "agents"};
    for (const auto& [key, parser] : sections_) known.push_back(key);
    CheckKeys(root, ctx, known, "a server configuration");
    if (root["engine"]) ParseEngineSettings(root["engine"], ctx, &config.settings);
    if (root["pricing"]) ParsePricing(root["pricing"], ctx, prices.get());
    if (root["scripts"]) ParseScripts(root["scripts"], ctx, registry.get(), &config.files);
    config.registry = registry;
    if (root["agents"]) ParseAgents(root["agents"], ctx, &config);
    for (const auto& [key, parser] : sections_) {
      config.sections[key] = parser(root[key], SectionCtx(ctx, &protect));
    }
    ParsePolicies(root["policies"], ctx, &config.policies);
    std::vector<std::string> files = config.files;
    files.insert(files.end(), protect.begin(), protect.end());
    if (ctx.errors->size() == before) AddDefaults(ctx, config.settings, files, &config.policies);
  }
  config.registry = std::move(registry);
  config.settings.prices = std::move(prices);
  if (errors->size() != before) return ConfigStatus(*errors);
  return config;
}

Result<ServerConfig> ConfigLoader::LoadServer(const std::string& path,
                                              std::vector<ConfigError>* errors) const {
  return LoadFile<ServerConfig>(path, errors, [&](auto& text, auto& src, auto dir) {
    return ParseServer(text, src, dir, errors);
  });
}

}  // namespace reins
