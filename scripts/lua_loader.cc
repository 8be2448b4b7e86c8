#include "scripts/lua_loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/names.h"
#include "scripts/lua_policy.h"

namespace reins {

namespace {

namespace fs = std::filesystem;

constexpr size_t kMiB = size_t{1} << 20;
constexpr const char* kParamTypes[] = {"string", "number", "integer", "boolean",
                                       "array",  "object", "any"};

// The path relative to the working directory when the file is below it (how
// a user typed it, usually), else absolute. Only for messages.
std::string DisplayPath(const std::string& path) {
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (ec || cwd == cwd.root_path()) return path;
  fs::path rel = fs::path(path).lexically_relative(cwd);
  if (rel.empty() || *rel.begin() == "..") return path;
  return rel.string();
}

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Where `key = ` (or `["key"] =`) first appears at or after `from`; npos if
// nowhere. Table constructors keep no line information, so declaration
// errors find their line in the text.
size_t FindKey(std::string_view src, std::string_view key, size_t from) {
  for (size_t pos = src.find(key, from); pos != std::string_view::npos;
       pos = src.find(key, pos + 1)) {
    size_t end = pos + key.size();
    bool quoted = pos >= 2 && src.substr(pos - 2, 2) == "[\"" && src.substr(end, 2) == "\"]";
    if (quoted) {
      end += 2;
    } else if ((pos > 0 && IsIdentChar(src[pos - 1])) ||
               (end < src.size() && IsIdentChar(src[end]))) {
      continue;
    }
    while (end < src.size() && (src[end] == ' ' || src[end] == '\t')) ++end;
    if (end < src.size() && src[end] == '=' && (end + 1 >= src.size() || src[end + 1] != '=')) {
      return pos;
    }
  }
  return std::string_view::npos;
}

class DeclarationChecker {
 public:
  DeclarationChecker(std::string_view source, std::string display, const LuaOptions& options)
      : source_(source), display_(std::move(display)), options_(options) {}

  Result<lua::ScriptInfo> Check(const Json& decl) {
    lua::ScriptInfo info;
    if (!decl.is_object() || decl.empty()) {
      return Error(std::string::npos, "must return a table with name, events and evaluate");
    }
    for (const auto& [key, value] : decl.items()) {
      static const char* kKnown[] = {"name",   "description",       "events",
                                     "params", "instruction_limit", "memory_limit_mb"};
      if (!IndexOfName(kKnown, key)) {
        return Error(FindKey(source_, key, 0),
                     "unknown field '" + key +
                         "' (known: name, description, events, params, evaluate, "
                         "instruction_limit, memory_limit_mb)");
      }
    }
    auto name = decl.find("name");
    if (name == decl.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
      return Error(FindKey(source_, "name", 0), "'name' must be a non-empty string");
    }
    info.name = name->get<std::string>();
    if (auto d = decl.find("description"); d != decl.end()) {
      if (!d->is_string())
        return Error(FindKey(source_, "description", 0), "'description' must be a string");
      info.description = d->get<std::string>();
    }
    REINS_RETURN_IF_ERROR(CheckEvents(decl, &info));
    REINS_RETURN_IF_ERROR(CheckLimits(decl, &info));
    if (auto p = decl.find("params"); p != decl.end()) {
      size_t at = FindKey(source_, "params", 0);
      if (!p->is_object()) return Error(at, "'params' must be a table of NAME = {type = ...}");
      for (const auto& [param, spec] : p->items()) {
        auto checked = CheckParam(param, spec, at == std::string::npos ? 0 : at);
        if (!checked.ok()) return checked.status();
        info.params.push_back(std::move(checked).value());
      }
    }
    return info;
  }

 private:
  Status Error(size_t pos, const std::string& message) const {
    if (pos == std::string::npos) return Status::InvalidArgument(display_ + ": " + message);
    int line = 1 + static_cast<int>(std::count(source_.begin(), source_.begin() + pos, '\n'));
    return Status::InvalidArgument(display_ + ":" + std::to_string(line) + ": " + message);
  }

  Status CheckEvents(const Json& decl, lua::ScriptInfo* info) const {
    size_t at = FindKey(source_, "events", 0);
    auto events = decl.find("events");
    if (events == decl.end() || !events->is_array() || events->empty()) {
      return Error(at,
                   "'events' must be a non-empty list of event types such as { \"tool_call\" }");
    }
    for (const Json& e : *events) {
      auto type = e.is_string() ? EventTypeFromName(e.get<std::string>()) : std::nullopt;
      if (!type) {
        std::string known;
        for (int i = 0; i < kEventTypeCount; ++i) {
          known += (i ? ", " : "") + std::string(EventTypeName(static_cast<EventType>(i)));
        }
        return Error(at,
                     "'events' entry " + e.dump() + " is not an event type (known: " + known + ")");
      }
      info->events.Add(*type);
    }
    return Status::OK();
  }

  Status CheckLimits(const Json& decl, lua::ScriptInfo* info) const {
    info->limits.instructions = options_.instruction_limit;
    info->limits.memory = options_.memory_limit;
    info->limits.time_ms = options_.time_limit_ms;
    info->limits.input_bytes = options_.input_limit;
    if (auto n = decl.find("instruction_limit"); n != decl.end()) {
      if (!n->is_number_integer() || n->get<int64_t>() < 1000 ||
          n->get<int64_t>() > options_.max_instruction_limit) {
        return Error(FindKey(source_, "instruction_limit", 0),
                     "'instruction_limit' must be an integer from 1000 to " +
                         std::to_string(options_.max_instruction_limit));
      }
      info->limits.instructions = n->get<int64_t>();
    }
    if (auto m = decl.find("memory_limit_mb"); m != decl.end()) {
      double max_mb = static_cast<double>(options_.max_memory_limit / kMiB);
      if (!m->is_number() || m->get<double>() < 1 || m->get<double>() > max_mb) {
        return Error(FindKey(source_, "memory_limit_mb", 0),
                     "'memory_limit_mb' must be a number from 1 to " +
                         std::to_string(options_.max_memory_limit / kMiB));
      }
      info->limits.memory = static_cast<size_t>(m->get<double>() * static_cast<double>(kMiB));
    }
    return Status::OK();
  }

  Result<ParamSpec> CheckParam(const std::string& name, const Json& spec, size_t params_at) const {
    size_t at = FindKey(source_, name, params_at);
    auto fail = [&](const std::string& message) {
      return Error(at, "parameter '" + name + "': " + message);
    };
    if (!spec.is_object()) return fail("expected a table such as {type = \"string\"}");
    for (const auto& [key, value] : spec.items()) {
      static const char* kKnown[] = {"type",     "items",       "default",
                                     "required", "description", "choices"};
      if (!IndexOfName(kKnown, key)) {
        return fail("unknown field '" + key +
                    "' (known: type, items, default, required, description, choices)");
      }
    }
    std::string type =
        spec.value("type", Json()).is_string() ? spec["type"].get<std::string>() : "";
    if (!IndexOfName(kParamTypes, type)) {
      return fail("'type' must be one of string, number, integer, boolean, array, object, any" +
                  (type.empty() ? std::string() : " (got '" + type + "')"));
    }
    ParamType t = type == "string"    ? ParamType::kString
                  : type == "number"  ? ParamType::kNumber
                  : type == "integer" ? ParamType::kInteger
                  : type == "boolean" ? ParamType::kBoolean
                  : type == "array"   ? ParamType::kList
                  : type == "object"  ? ParamType::kObject
                                      : ParamType::kAny;
    if (auto items = spec.find("items"); items != spec.end()) {
      std::string it = items->is_string() ? items->get<std::string>() : "";
      if (type != "array" || (it != "string" && it != "number" && it != "any")) {
        return fail("'items' goes with type \"array\" and is \"string\", \"number\" or \"any\"");
      }
      if (it == "string") t = ParamType::kStringList;
      if (it == "number") t = ParamType::kNumberList;
    }
    bool required = false;
    if (auto r = spec.find("required"); r != spec.end()) {
      if (!r->is_boolean()) return fail("'required' must be true or false");
      required = r->get<bool>();
    }
    std::string description;
    if (auto d = spec.find("description"); d != spec.end()) {
      if (!d->is_string()) return fail("'description' must be a string");
      description = d->get<std::string>();
    }
    std::vector<std::string> choices;
    if (auto c = spec.find("choices"); c != spec.end()) {
      if (t != ParamType::kString || !c->is_array() || c->empty()) {
        return fail("'choices' goes with type \"string\" and is a non-empty list of strings");
      }
      for (const Json& choice : *c) {
        if (!choice.is_string()) return fail("'choices' must be a list of strings");
        choices.push_back(choice.get<std::string>());
      }
    }
    Json def = spec.value("default", Json());
    // An empty Lua table reads as {}; for a list that means [].
    bool list = t == ParamType::kList || t == ParamType::kStringList || t == ParamType::kNumberList;
    if (list && def.is_object() && def.empty()) def = Json::array();
    if (!def.is_null()) {
      if (required) return fail("a required parameter cannot have a default");
      ParamSchema one = {ParamSpec(name, t, nullptr, false, "", choices)};
      std::vector<ParamError> errors;
      auto checked = ValidateParams(one, Json{{name, def}}, &errors);
      if (!checked.ok() || !errors.empty()) {
        std::string message = errors.empty() ? checked.status().message() : errors[0].message;
        std::string prefix = "parameter '" + name + "': ";
        if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
        return fail("default: " + message);
      }
      def = (*checked)[name];
    }
    return ParamSpec(name, t, def, required, description, choices);
  }

  std::string_view source_;
  std::string display_;
  const LuaOptions& options_;
};

// "policy.lua:3: message" from Lua, with the file as the user knows it.
std::string Located(const std::string& message, const std::string& base,
                    const std::string& display) {
  if (message.rfind(base + ":", 0) == 0) return display + message.substr(base.size());
  return display + ": " + message;
}

Result<std::shared_ptr<const lua::CompiledScript>> Compile(const std::string& path,
                                                           const std::string& source,
                                                           const std::string& sha,
                                                           const LuaOptions& options) {
  auto script = std::make_shared<lua::CompiledScript>();
  std::string base = fs::path(path).filename().string();
  std::string display = DisplayPath(path);
  script->path = path;
  script->chunkname = "=" + base;
  script->sha256 = sha;
  lua::Limits limits;
  limits.instructions = options.instruction_limit;
  limits.memory = options.memory_limit;
  limits.time_ms = options.time_limit_ms;
  limits.input_bytes = options.input_limit;
  auto rt = lua::Runtime::Create(limits);
  if (!rt.ok()) return rt.status();
  Json decl;
  lua::LoadArgs args;
  args.code = source;
  args.chunkname = script->chunkname.c_str();
  args.bytecode = &script->bytecode;
  args.decl = &decl;
  Status st = lua::LoadChunk(rt->get(), &args);
  if (!st.ok()) return Status::InvalidArgument(Located(st.message(), base, display));
  auto info = DeclarationChecker(source, display, options).Check(decl);
  if (!info.ok()) return info.status();
  script->info = std::move(info).value();
  return std::shared_ptr<const lua::CompiledScript>(std::move(script));
}

}  // namespace

int64_t LuaScriptCache::compiles() const {
  std::lock_guard<std::mutex> lock(mu_);
  return compiles_;
}

Result<std::shared_ptr<const lua::CompiledScript>> LuaScriptCache::Get(const std::string& path,
                                                                       const std::string& source,
                                                                       const LuaOptions& options) {
  std::string sha = Sha256Hex(source);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = scripts_.find(path);
    if (it != scripts_.end() && it->second->sha256 == sha) return it->second;
  }
  auto compiled = Compile(path, source, sha, options);
  if (!compiled.ok()) return compiled.status();
  std::lock_guard<std::mutex> lock(mu_);
  scripts_[path] = *compiled;
  ++compiles_;
  return *compiled;
}

Result<PolicyType> LoadLuaPolicyType(const std::string& path, const LuaOptions& options,
                                     LuaScriptCache* cache) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::NotFound("cannot read " + DisplayPath(path) + ": " + std::strerror(errno));
  std::string source;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    source.append(buf, static_cast<size_t>(in.gcount()));
    if (source.size() > options.max_script_bytes) {
      return Status::InvalidArgument(DisplayPath(path) + ": script is larger than " +
                                     std::to_string(options.max_script_bytes) + " bytes");
    }
  }
  if (in.bad())
    return Status::IOError("cannot read " + DisplayPath(path) + ": " + std::strerror(errno));
  auto script = cache->Get(path, source, options);
  if (!script.ok()) return script.status();
  const lua::ScriptInfo& info = (*script)->info;
  PolicyType t;
  t.name = DisplayPath(path);
  t.description = info.description.empty() ? "Lua policy '" + info.name + "'"
                                           : info.name + ": " + info.description;
  t.events = info.events;
  t.params = info.params;
  size_t max_states = std::max<size_t>(1, options.max_states);
  t.create = [compiled = *script, max_states](
                 const Json& params,
                 std::vector<ParamError>*) -> Result<std::shared_ptr<const Policy>> {
    return lua::LuaPolicy::Create(compiled, params, max_states);
  };
  return t;
}

Status RegisterLuaLoader(PolicyRegistry* registry, LuaOptions options,
                         std::shared_ptr<LuaScriptCache> cache) {
  if (registry->FindLoader("lua")) {
    return Status::AlreadyExists("a loader for \"lua\" is already registered");
  }
  if (!cache) cache = std::make_shared<LuaScriptCache>();
  registry->RegisterLoader("lua", [options, cache](const std::string& path) {
    return LoadLuaPolicyType(path, options, cache.get());
  });
  return Status::OK();
}

}  // namespace reins
