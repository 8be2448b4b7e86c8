#include "server/settings.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>

#include "engine/yaml_json.h"
#include "harness-adapters/proxy_config.h"

namespace reins {

namespace {

constexpr const char* kKeys[] = {"listen",       "socket",          "token_dir",
                                 "tokens",       "max_body_bytes",  "header_timeout",
                                 "idle_timeout", "max_connections", "max_waiters",
                                 "max_wait",     "workers"};

void ParseTokens(const YAML::Node& node, const SectionContext& ctx, ServerSettings* s) {
  if (!node.IsSequence()) {
    ctx.Error(node, "server.tokens must be a list of {name, role, sha256}");
    return;
  }
  for (const YAML::Node& t : node) {
    auto j = YamlToJson(t);
    if (!j.ok() || !j->is_object() || !j->value("name", Json()).is_string() ||
        !j->value("sha256", Json()).is_string()) {
      ctx.Error(t, "server.tokens: each token needs a name, a role and a sha256");
      continue;
    }
    auto role = RoleFromName(j->value("role", ""));
    std::string hash = (*j)["sha256"];
    if (!role) {
      ctx.Error(t, "server.tokens: role must be agent, approver or admin");
    } else if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != hash.npos) {
      ctx.Error(t, "server.tokens: sha256 must be 64 lowercase hex digits (reins token hash)");
    } else {
      s->tokens.push_back({(*j)["name"], *role, hash});
    }
  }
}

ServerSettings ParseSection(const YAML::Node& node, const SectionContext& ctx) {
  ServerSettings s;
  s.token_dir = DefaultTokenDir();
  if (!node) return s;
  if (!node.IsMap()) {
    ctx.Error(node, "'server' must be a mapping");
    return s;
  }
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    int64_t n = 0;
    std::string name = "server." + key;
    if (key == "listen" || key == "socket" || key == "token_dir") {
      std::string str;
      if (!SectionString(v, ctx, name, &str)) continue;
      if (key == "listen") {
        s.listen = str;
      } else if (key == "socket") {
        s.socket = ctx.ResolvePath(str);
      } else {
        s.token_dir = ctx.ResolvePath(str);
      }
    } else if (key == "tokens") {
      ParseTokens(v, ctx, &s);
    } else if (key == "max_body_bytes") {
      if (SectionInteger(v, ctx, name, 1024, 1LL << 30, &n)) s.max_body_bytes = n;
    } else if (key == "max_connections") {
      if (SectionInteger(v, ctx, name, 1, 1 << 20, &n)) s.max_connections = n;
    } else if (key == "max_waiters") {
      if (SectionInteger(v, ctx, name, 0, 1 << 20, &n)) s.max_waiters = n;
    } else if (key == "workers") {
      if (SectionInteger(v, ctx, name, 1, 1024, &n)) s.workers = static_cast<int>(n);
    } else if (key == "header_timeout") {
      SectionDuration(v, ctx, name, &s.header_timeout);
    } else if (key == "idle_timeout") {
      SectionDuration(v, ctx, name, &s.idle_timeout);
    } else if (key == "max_wait") {
      SectionDuration(v, ctx, name, &s.max_wait);
    } else {
      std::string known;
      for (const char* k : kKeys) known += (known.empty() ? "" : ", ") + std::string(k);
      ctx.Error(kv.first, "unknown key '" + key + "' in 'server' (known: " + known + ")");
    }
  }
  return s;
}

}  // namespace

Result<std::shared_ptr<const ServerConfig>> LoadServerFile(ConfigLoader& loader,
                                                           const std::string& path) {
  std::vector<ConfigError> errors;
  auto config = path.empty() ? loader.ParseServer("", "<defaults>",
                                                  std::filesystem::current_path().string(), &errors)
                             : loader.LoadServer(path, &errors);
  if (!config.ok()) {
    std::string all;
    for (const ConfigError& e : errors) all += (all.empty() ? "" : "\n") + e.ToString();
    return Status::InvalidArgument(all.empty() ? config.status().message() : all);
  }
  return std::shared_ptr<const ServerConfig>(
      std::make_shared<ServerConfig>(std::move(config).value()));
}

std::string LogPathOf(const ServerConfig& config, const std::string& db_override) {
  if (!db_override.empty()) return db_override;
  if (!config.settings.db_path.empty()) return config.settings.db_path;
  return ServerSettingsOf(config).token_dir + "/reins.db";
}

std::string DefaultTokenDir() {
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.reins";
}

void RegisterServerSection(ConfigLoader* loader, ServerOverrides overrides) {
  RegisterProxySections(loader);
  loader->AddSection("server",
                     [overrides](const YAML::Node& node, const SectionContext& ctx) -> std::any {
                       ServerSettings s = ParseSection(node, ctx);
                       if (overrides.listen) s.listen = *overrides.listen;
                       if (overrides.socket)
                         s.socket = *overrides.socket;  // absolute (the CLI resolves it)
                       if (overrides.token_dir) s.token_dir = *overrides.token_dir;
                       ctx.Protect(s.token_dir + "/**");
                       if (overrides.db && !overrides.db->empty()) {
                         for (const char* suffix : {"", "-wal", "-shm", "-journal"})
                           ctx.Protect(*overrides.db + suffix);
                       }
                       return s;
                     });
}

ServerSettings ServerSettingsOf(const ServerConfig& config) {
  auto it = config.sections.find("server");
  if (it != config.sections.end()) return std::any_cast<ServerSettings>(it->second);
  ServerSettings s;
  s.token_dir = DefaultTokenDir();
  return s;
}

}  // namespace reins
