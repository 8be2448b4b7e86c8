// Policy entries of a configuration layer: `NAME: {use: ..., with: ...}`.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "engine/config_internal.h"
#include "engine/yaml_json.h"

namespace reins::config_internal {

namespace fs = std::filesystem;

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  fs::path p(path);
  if (!path.empty() && path[0] == '~') {
    const char* home = std::getenv("HOME");
    if (home) p = fs::path(home) / path.substr(path.size() > 1 && path[1] == '/' ? 2 : 1);
  }
  if (p.is_relative()) p = fs::path(base_dir.empty() ? "." : base_dir) / p;
  return fs::absolute(p).lexically_normal().string();
}

Result<std::string> ReadFile(const std::string& path) {
  // A directory opens as a stream that reads nothing: taken for an empty
  // file, a configuration replaced by one would reload as "no policies".
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return Status::InvalidArgument("cannot read " + path + ": it is a directory, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path + ": " + std::strerror(errno));
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
  return text;
}

namespace {

// Offset of the first byte that is not well-formed UTF-8 (RFC 3629: no
// overlong forms, surrogates or code points past U+10FFFF), or npos.
size_t InvalidUtf8At(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t more;                         // continuation bytes
    unsigned char lo = 0x80, hi = 0xBF;  // range of the first of them
    if (c >= 0xC2 && c <= 0xDF) {
      more = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      more = 2;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      more = 3;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
    } else {
      return i;
    }
    for (size_t k = 1; k <= more; ++k) {
      if (i + k >= s.size()) return i;
      unsigned char b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return i;
    }
    i += more + 1;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<YAML::Node> LoadYaml(std::string_view text, const std::string& source,
                                   std::vector<ConfigError>* errors) {
  // yaml-cpp passes any bytes through, but names and values end up in JSON
  // (decisions, API answers, hook output), whose writer throws on invalid
  // UTF-8: refused here, where the error can say where.
  if (size_t at = InvalidUtf8At(text); at != std::string_view::npos) {
    std::string_view before = text.substr(0, at);
    size_t newline = before.rfind('\n');
    int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    int column = static_cast<int>(newline == std::string_view::npos ? at : at - newline - 1) + 1;
    char byte[8];
    snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[at]));
    errors->push_back({source, line, column, std::string("invalid UTF-8 (byte ") + byte + ")"});
    return std::nullopt;
  }
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    errors->push_back({source, e.mark.line + 1, e.mark.column + 1, "YAML syntax error: " + e.msg});
    return std::nullopt;
  }
}

std::optional<TimeUs> ParseTimeout(const YAML::Node& node, const Ctx& ctx, const char* what) {
  auto value = YamlToJson(node);
  if (value.ok() && value->is_number()) {
    double s = value->get<double>();
    if (s > 0 && s < 1e10) return static_cast<TimeUs>(s * 1e6);
  } else if (value.ok() && value->is_string()) {
    auto d = ParseDuration(value->get<std::string>());
    if (d.ok() && *d > 0) return *d;
  }
  ctx.Error(node, std::string(what) +
                      ": expected a positive number of seconds or a duration such as 15m, 24h");
  return std::nullopt;
}

namespace {

// Keys of the reference engine's entries that reins does not implement. They
// change what a policy does, so ignoring them silently would be unsafe.
constexpr const char* kUnsupportedKeys[] = {"condition", "set_labels", "config", "action"};

// Finds the YAML node of parameter `param` inside the entry's parameter map,
// so an error can point at it: the value of a known parameter, the key of an
// unknown one.
YAML::Node ParamNode(const YAML::Node& params, const YAML::Node& fallback, const std::string& param,
                     const ParamSchema& schema) {
  bool known = false;
  for (const ParamSpec& p : schema) known = known || p.name == param;
  if (params && params.IsMap() && !param.empty()) {
    for (const auto& kv : params) {
      if (kv.first.Scalar() != param) continue;
      return !known || kv.second.IsNull() ? kv.first : kv.second;
    }
  }
  return params && params.IsMap() ? params : fallback;
}

bool ParseOn(const YAML::Node& node, const Ctx& ctx, const std::string& name, PolicyEntry* entry) {
  if (!node.IsSequence()) {
    ctx.Error(node,
              "policy '" + name + "': 'on' must be a list such as [tool_call, \"tool_call:Bash\"]");
    return false;
  }
  for (const YAML::Node& item : node) {
    std::string s = item.IsScalar() ? item.Scalar() : "";
    size_t colon = s.find(':');
    auto type = EventTypeFromName(s.substr(0, colon));
    if (!type) {
      ctx.Error(item, "policy '" + name + "': 'on' entry '" + s + "' is not an event type");
      return false;
    }
    if (!entry->events.Has(*type)) {
      ctx.Error(item, "policy '" + name + "' (" + entry->type + ") does not handle " +
                          std::string(EventTypeName(*type)) + " events (it handles " +
                          entry->events.ToJson().dump() + ")");
      return false;
    }
    entry->on.emplace_back(*type, colon == std::string::npos ? "" : s.substr(colon + 1));
  }
  return true;
}

// Parses one `NAME: {...}` entry. Returns false (with errors recorded) when it is invalid.
bool ParseEntry(const std::string& name, const YAML::Node& name_node, const YAML::Node& body,
                const Ctx& ctx, PolicyEntry* entry) {
  entry->name = name;
  entry->layer = ctx.layer;
  entry->location = ctx.Where(name_node);
  entry->ask_timeout = ctx.layer_ask_timeout;
  if (!body.IsMap()) {
    ctx.Error(body.IsDefined() && !body.IsNull() ? body : name_node,
              "policy '" + name + "': expected a mapping such as {use: BUILTIN, with: {...}}");
    return false;
  }
  size_t errors_before = ctx.errors->size();
  YAML::Node form_node, params_node;
  bool has_params = false;
  std::string form, builtin, loader_key;
  auto set_form = [&](const std::string& key, const YAML::Node& n) {
    if (!form.empty()) {
      ctx.Error(n, "policy '" + name + "': '" + key + "' conflicts with '" + form +
                       "' (an entry names exactly one policy)");
      return;
    }
    form = key;
    form_node.reset(n);
  };
  auto set_params = [&](const std::string& key, const YAML::Node& n) {
    if (has_params) {
      ctx.Error(n, "policy '" + name + "': parameters given twice ('" + key + "')");
      return;
    }
    params_node.reset(n);
    has_params = true;
  };
  for (const auto& kv : body) {
    std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (key == "use" || key == "handler" || key == "callable") {
      set_form(key, v);
      if (!v.IsScalar())
        ctx.Error(v, "policy '" + name + "': '" + key + "' must be a policy name");
      else
        builtin = v.Scalar();
    } else if (key == "function") {
      set_form(key, v);
      if (v.IsScalar()) {
        builtin = v.Scalar();
      } else if (v.IsMap() && v["path"] && v["path"].IsScalar()) {
        builtin = v["path"].Scalar();
        if (v["arguments"]) set_params("function.arguments", v["arguments"]);
      } else {
        ctx.Error(v,
                  "policy '" + name + "': 'function' must be a dotted path or {path, arguments}");
      }
    } else if (ctx.registry->FindLoader(key)) {
      set_form(key, v);
      loader_key = key;
      if (!ctx.allow_files) {
        ctx.Error(kv.first, "policy '" + name + "': '" + key +
                                "' files cannot be loaded through the API; list the script under "
                                "the server configuration's 'scripts:' and name it with 'use:'");
      } else if (!v.IsScalar()) {
        ctx.Error(v, "policy '" + name + "': '" + key + "' must be a file path");
      }
    } else if (key == "with" || key == "factory_params") {
      set_params(key, v);
    } else if (key == "type") {
      std::string t = v.IsScalar() ? v.Scalar() : "";
      if (t != "function" && t != "python") {
        ctx.Error(v, "policy '" + name + "': type '" + t +
                         "' is not supported (reins reads type: function with a handler)");
      }
    } else if (key == "on_error") {
      std::string s = v.IsScalar() ? v.Scalar() : "";
      if (s == "deny")
        entry->on_error = OnError::kDeny;
      else if (s == "allow")
        entry->on_error = OnError::kAllow;
      else
        ctx.Error(v, "policy '" + name + "': on_error must be 'deny' or 'allow'");
    } else if (key == "ask_timeout") {
      if (auto t = ParseTimeout(v, ctx, ("policy '" + name + "': ask_timeout").c_str())) {
        entry->ask_timeout = *t;
      }
    } else if (key == "enabled") {
      auto b = YamlToJson(v);
      if (b.ok() && b->is_boolean())
        entry->enabled = b->get<bool>();
      else
        ctx.Error(v, "policy '" + name + "': enabled must be true or false");
    } else if (key == "on" || key == "description") {
      // handled below / informational
    } else {
      bool unsupported = false;
      for (const char* k : kUnsupportedKeys) unsupported = unsupported || key == k;
      if (unsupported) {
        ctx.Error(kv.first, "policy '" + name + "': '" + key +
                                "' (a reference-engine option) is not supported by reins");
      } else if (key == "lua") {
        ctx.Error(kv.first, "policy '" + name + "': Lua policies are not available in this build");
      } else {
        ctx.Error(kv.first, "policy '" + name + "': unknown key '" + key +
                                "' (known: use, lua, handler, type, with, factory_params, "
                                "on_error, ask_timeout, enabled, on)");
      }
    }
  }
  if (form.empty() && ctx.errors->size() == errors_before) {
    ctx.Error(name_node, "policy '" + name +
                             "': names no policy (use: BUILTIN, lua: FILE, or handler: "
                             "omnigent.policies.builtins.MODULE.NAME)");
  }
  if (ctx.errors->size() != errors_before) return false;

  // Resolve the policy type.
  PolicyType loaded;
  const PolicyType* type = nullptr;
  if (!loader_key.empty()) {
    std::string path = ResolvePath(ctx.base_dir, form_node.Scalar());
    auto result = (*ctx.registry->FindLoader(loader_key))(path);
    if (!result.ok()) {
      ctx.Error(form_node, "policy '" + name + "': " + result.status().message());
      return false;
    }
    loaded = std::move(result).value();
    type = &loaded;
    entry->type = loader_key + ":" + path;
  } else {
    type = ctx.registry->Find(builtin);
    if (!type) {
      std::string hint;
      for (const std::string& s : ctx.registry->Suggest(builtin))
        hint += (hint.empty() ? "" : ", ") + s;
      ctx.Error(form_node, "policy '" + name + "': unknown policy '" + builtin + "'" +
                               (hint.empty() ? "" : " (did you mean: " + hint + "?)") +
                               "; `reins policies` lists them");
      return false;
    }
    entry->type = type->name;
  }
  entry->events = type->events;

  auto given = has_params ? YamlToJson(params_node) : Result<Json>(Json::object());
  if (!given.ok()) {
    ctx.Error(params_node, "policy '" + name + "': " + given.status().message());
    return false;
  }
  std::vector<ParamError> param_errors;
  auto params = ValidateParams(type->params, *given, &param_errors);
  if (params.ok()) {
    auto policy = type->create(*params, &param_errors);
    if (policy.ok()) {
      entry->params = std::move(params).value();
      entry->policy = std::move(policy).value();
    } else if (param_errors.empty()) {
      param_errors.push_back({"", policy.status().message()});
    }
  }
  for (const ParamError& e : param_errors) {
    ctx.Error(ParamNode(has_params ? params_node : YAML::Node(), name_node, e.param, type->params),
              "policy '" + name + "' (" + type->name + "): " + e.message);
  }
  if (!param_errors.empty()) return false;
  if (body["on"] && !ParseOn(body["on"], ctx, name, entry)) return false;
  return true;
}
}  // namespace

void ParsePolicies(const YAML::Node& node, const Ctx& ctx, PolicyLayer* layer) {
  layer->layer = ctx.layer;
  layer->file = ctx.source;
  if (!node || node.IsNull()) return;
  std::set<std::string> seen;
  auto add = [&](const std::string& name, const YAML::Node& name_node, const YAML::Node& body) {
    if (name.empty()) {
      ctx.Error(name_node, "policy entries need a non-empty name");
      return;
    }
    if (!seen.insert(name).second) {
      ctx.Error(name_node, "policy '" + name + "' is declared twice in this file");
      return;
    }
    PolicyEntry entry;
    if (ParseEntry(name, name_node, body, ctx, &entry)) layer->entries.push_back(std::move(entry));
  };
  if (node.IsMap()) {
    for (const auto& kv : node) add(kv.first.Scalar(), kv.first, kv.second);
  } else if (node.IsSequence()) {
    // The reference engine's REST form: a list of entries with a `name` key.
    for (const YAML::Node& item : node) {
      if (!item.IsMap() || !item["name"] || !item["name"].IsScalar()) {
        ctx.Error(item, "each item of a 'policies' list needs a 'name'");
        continue;
      }
      YAML::Node body = YAML::Clone(item);
      body.remove("name");
      add(item["name"].Scalar(), item["name"], body);
    }
  } else {
    ctx.Error(node, "'policies' must be a mapping of NAME: {use: ..., with: ...}");
  }
}

void CheckKeys(const YAML::Node& root, const Ctx& ctx, const std::vector<std::string>& known,
               const char* what) {
  for (const auto& kv : root) {
    std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    ctx.Error(kv.first, "unknown key '" + key + "' in " + what + " (known: " + list + ")");
  }
}

void CheckKeys(const YAML::Node& root, const Ctx& ctx, std::initializer_list<const char*> known,
               const char* what) {
  CheckKeys(root, ctx, std::vector<std::string>(known.begin(), known.end()), what);
}

std::optional<YAML::Node> Root(std::string_view text, const Ctx& ctx) {
  auto root = LoadYaml(text, ctx.source, ctx.errors);
  if (!root) return std::nullopt;
  if (root->IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (!root->IsMap()) {
    ctx.Error(*root, "expected a mapping at the top of the file");
    return std::nullopt;
  }
  return root;
}

std::string DirOf(const std::string& path) {
  return fs::absolute(fs::path(path)).parent_path().string();
}

}  // namespace reins::config_internal
