#include "harness-adapters/proxy_config.h"

#include <yaml-cpp/yaml.h>

#include "engine/yaml_json.h"
#include "harness-adapters/llm_upstream.h"

namespace reins {

namespace {

// What the two parsers leave in ServerConfig::sections.
struct ProxySection {
  std::optional<ProxyOptions> proxy;
};
struct LlmSection {
  std::optional<ClassifierOptions> llm;
};

std::string KnownKeys(std::initializer_list<const char*> keys) {
  std::string out;
  for (const char* k : keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

bool Bool(const YAML::Node& n, const SectionContext& ctx, const std::string& key, bool* out) {
  auto v = YamlToJson(n);
  if (v.ok() && v->is_boolean()) {
    *out = v->get<bool>();
    return true;
  }
  ctx.Error(n, key + " must be true or false");
  return false;
}

void ParseUpstreams(const YAML::Node& node, const SectionContext& ctx, ProxyOptions* o) {
  if (!node.IsMap()) {
    ctx.Error(node, "proxy.upstreams must map provider names to URLs");
    return;
  }
  for (const auto& kv : node) {
    std::string name = kv.first.Scalar(), url;
    if (!SectionString(kv.second, ctx, "proxy.upstreams." + name, &url)) continue;
    if (name != "anthropic" && name != "openai" && name != "gemini") {
      ctx.Error(kv.first, "proxy.upstreams: unknown provider '" + name +
                              "' (known: anthropic, openai, gemini)");
      continue;
    }
    auto parsed = UpstreamUrl::Parse(name, url);
    if (!parsed.ok()) {
      ctx.Error(kv.second, "proxy.upstreams." + name + ": " + parsed.status().message());
      continue;
    }
    o->upstreams[name] = url;
  }
}

std::optional<ProxyOptions> ParseProxy(const YAML::Node& node, const SectionContext& ctx) {
  if (!node) return std::nullopt;
  ProxyOptions o;
  o.upstreams = DefaultUpstreams();
  if (node.IsNull()) return o;  // `proxy:` alone: every default
  if (!node.IsMap()) {
    ctx.Error(node, "'proxy' must be a mapping");
    return o;
  }
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar(), name = "proxy." + key;
    const YAML::Node& v = kv.second;
    int64_t n = 0;
    if (key == "listen") {
      SectionString(v, ctx, name, &o.listen);
    } else if (key == "user") {
      SectionString(v, ctx, name, &o.user);
    } else if (key == "ca_file") {
      if (SectionString(v, ctx, name, &o.ca_file)) o.ca_file = ctx.ResolvePath(o.ca_file);
    } else if (key == "upstreams") {
      ParseUpstreams(v, ctx, &o);
    } else if (key == "ask_wait") {
      SectionDuration(v, ctx, name, &o.ask_wait);
    } else if (key == "upstream_timeout") {
      SectionDuration(v, ctx, name, &o.upstream_timeout);
    } else if (key == "threads") {
      if (SectionInteger(v, ctx, name, 1, 64, &n)) o.threads = static_cast<int>(n);
    } else if (key == "max_body_bytes") {
      if (SectionInteger(v, ctx, name, 1024, 1LL << 30, &n)) o.max_body_bytes = n;
    } else if (key == "record_tool_calls") {
      Bool(v, ctx, name, &o.record_tool_calls);
    } else {
      ctx.Error(kv.first,
                "unknown key '" + key + "' in 'proxy' (known: " +
                    KnownKeys({"listen", "upstreams", "ca_file", "ask_wait", "user", "threads",
                               "max_body_bytes", "upstream_timeout", "record_tool_calls"}) +
                    ")");
    }
  }
  return o;
}

std::optional<ClassifierOptions> ParseLlm(const YAML::Node& node, const SectionContext& ctx) {
  if (!node) return std::nullopt;
  ClassifierOptions o;
  if (!node.IsMap()) {
    ctx.Error(node, "'llm' must be a mapping with base_url and model");
    return std::nullopt;
  }
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar(), name = "llm." + key;
    const YAML::Node& v = kv.second;
    int64_t n = 0;
    if (key == "base_url") {
      if (SectionString(v, ctx, name, &o.base_url)) {
        auto parsed = UpstreamUrl::Parse("llm", o.base_url);
        if (!parsed.ok()) ctx.Error(v, "llm.base_url: " + parsed.status().message());
      }
    } else if (key == "api") {
      if (SectionString(v, ctx, name, &o.api) && o.api != "anthropic" && o.api != "openai") {
        ctx.Error(v, "llm.api must be anthropic or openai");
      }
    } else if (key == "model") {
      SectionString(v, ctx, name, &o.model);
    } else if (key == "api_key_env") {
      SectionString(v, ctx, name, &o.api_key_env);
    } else if (key == "timeout") {
      SectionDuration(v, ctx, name, &o.timeout);
    } else if (key == "retry_after") {
      SectionDuration(v, ctx, name, &o.retry_after);
    } else if (key == "cache_entries") {
      if (SectionInteger(v, ctx, name, 0, 10000000, &n)) o.cache_entries = n;
    } else {
      ctx.Error(kv.first, "unknown key '" + key + "' in 'llm' (known: " +
                              KnownKeys({"base_url", "api", "model", "api_key_env", "timeout",
                                         "cache_entries", "retry_after"}) +
                              ")");
    }
  }
  if (o.base_url.empty()) ctx.Error(node, "llm.base_url is required");
  if (o.model.empty()) ctx.Error(node, "llm.model is required (a small, cheap model)");
  return o;
}

template <typename T>
T SectionOf(const ServerConfig& config, const char* key) {
  auto it = config.sections.find(key);
  return it == config.sections.end() ? T{} : std::any_cast<T>(it->second);
}

}  // namespace

void RegisterProxySections(ConfigLoader* loader) {
  loader->AddSection("proxy", [](const YAML::Node& node, const SectionContext& ctx) -> std::any {
    return ProxySection{ParseProxy(node, ctx)};
  });
  loader->AddSection("llm", [](const YAML::Node& node, const SectionContext& ctx) -> std::any {
    return LlmSection{ParseLlm(node, ctx)};
  });
}

std::optional<ProxyOptions> ProxySectionOf(const ServerConfig& config) {
  auto proxy = SectionOf<ProxySection>(config, "proxy").proxy;
  if (proxy) proxy->classifier = SectionOf<LlmSection>(config, "llm").llm;
  return proxy;
}

ProxyOptions ProxyOptionsOf(const ServerConfig& config) {
  if (auto section = ProxySectionOf(config)) return *section;
  ProxyOptions o;
  o.upstreams = DefaultUpstreams();
  o.classifier = SectionOf<LlmSection>(config, "llm").llm;
  return o;
}

std::string ClassifierWarning(const ServerConfig& config) {
  if (SectionOf<LlmSection>(config, "llm").llm) return "";
  std::string names;
  for (const PolicyEntry& e : config.policies.entries) {
    if (e.params.is_object() && e.params.value("classifier", "") == "llm") {
      names += (names.empty() ? "" : ", ") + e.name;
    }
  }
  if (names.empty()) return "";
  return "policies " + names +
         " use classifier: llm but the configuration has no llm: section; their heuristic "
         "decides every prompt";
}

}  // namespace reins
