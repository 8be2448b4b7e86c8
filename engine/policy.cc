#include "engine/policy.h"

#include <algorithm>
#include <cmath>

#include "engine/names.h"

namespace reins {

namespace {

constexpr std::string_view kVerdictNames[] = {"allow", "deny", "ask", "modify"};
constexpr std::string_view kOpNames[] = {"set", "increment", "delete", "append"};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsFiniteNumber(const Json& v) { return v.is_number() && std::isfinite(v.get<double>()); }

// Returns an error message when `v` does not fit `spec`, normalizing it in place.
std::string CheckParam(const ParamSpec& spec, Json* v) {
  auto expected = [&](const Json& got) {
    return "expected " + std::string(ParamTypeName(spec.type)) + ", got " + got.type_name();
  };
  switch (spec.type) {
    case ParamType::kString:
      if (!v->is_string()) return expected(*v);
      if (!spec.choices.empty()) {
        for (const std::string& choice : spec.choices) {
          if (EqualsIgnoreCase(choice, v->get_ref<const std::string&>())) {
            *v = choice;
            return {};
          }
        }
        std::string list;
        for (const std::string& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
        return "'" + v->get<std::string>() + "' is not one of: " + list;
      }
      return {};
    case ParamType::kNumber:
      return IsFiniteNumber(*v) ? std::string() : expected(*v);
    case ParamType::kInteger:
      if (v->is_number_integer()) return {};
      if (IsFiniteNumber(*v) && std::floor(v->get<double>()) == v->get<double>()) {
        double d = v->get<double>();
        // 2^63 is exact as a double; casting anything at or beyond it is
        // undefined, so such a whole number is refused rather than wrapped.
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
          return "expected integer, got " + v->dump() + " (beyond a 64-bit integer)";
        }
        *v = static_cast<int64_t>(d);
        return {};
      }
      return expected(*v);
    case ParamType::kBoolean:
      return v->is_boolean() ? std::string() : expected(*v);
    case ParamType::kStringList:
    case ParamType::kNumberList: {
      if (!v->is_array()) return expected(*v);
      bool strings = spec.type == ParamType::kStringList;
      for (size_t i = 0; i < v->size(); ++i) {
        const Json& item = (*v)[i];
        if (strings ? !item.is_string() : !IsFiniteNumber(item)) {
          return "item " + std::to_string(i) + ": expected " + (strings ? "string" : "number") +
                 ", got " + item.type_name();
        }
      }
      return {};
    }
    case ParamType::kList:
      return v->is_array() ? std::string() : expected(*v);
    case ParamType::kObject:
      return v->is_object() ? std::string() : expected(*v);
    case ParamType::kAny:
      return {};
  }
  return {};
}

}  // namespace

std::string_view VerdictName(Verdict v) { return kVerdictNames[static_cast<size_t>(v)]; }

std::optional<Verdict> VerdictFromName(std::string_view name) {
  auto i = IndexOfName(kVerdictNames, name, /*ignore_case=*/true);
  return i ? std::optional<Verdict>(static_cast<Verdict>(*i)) : std::nullopt;
}

std::string_view StateOpName(StateUpdate::Op op) { return kOpNames[static_cast<size_t>(op)]; }

Json StateUpdate::ToJson() const {
  Json j = {{"op", StateOpName(op)}, {"key", key}};
  if (op != Op::kDelete) j["value"] = value;
  if (scope == Scope::kUser) j["scope"] = "user";
  return j;
}

void ApplyStateUpdate(const StateUpdate& up, Json* store) {
  if (!store->is_object()) *store = Json::object();
  switch (up.op) {
    case StateUpdate::Op::kSet:
      (*store)[up.key] = up.value;
      break;
    case StateUpdate::Op::kIncrement: {
      auto it = store->find(up.key);
      double base = it != store->end() && it->is_number() ? it->get<double>() : 0.0;
      double sum = base + up.value.get<double>();
      // Keep integers integral so counters read back as integers.
      bool integral =
          (it == store->end() || it->is_number_integer()) && up.value.is_number_integer();
      if (integral) {
        (*store)[up.key] = static_cast<int64_t>(std::llround(sum));
      } else {
        (*store)[up.key] = sum;
      }
      break;
    }
    case StateUpdate::Op::kDelete:
      store->erase(up.key);
      break;
    case StateUpdate::Op::kAppend: {
      Json& list = (*store)[up.key];
      if (!list.is_array()) list = Json::array();
      list.push_back(up.value);
      break;
    }
  }
}

Result<StateUpdate> StateUpdate::FromJson(const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("state update must be an object");
  auto op = j.find("op");
  auto key = j.find("key");
  if (op == j.end() || !op->is_string()) {
    return Status::InvalidArgument(
        "state update: 'op' must be one of set, increment, delete, append");
  }
  if (key == j.end() || !key->is_string() || key->get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument("state update: 'key' must be a non-empty string");
  }
  StateUpdate u;
  u.key = key->get<std::string>();
  auto op_index = IndexOfName(kOpNames, op->get_ref<const std::string&>());
  if (op_index) u.op = static_cast<Op>(*op_index);
  if (!op_index) {
    return Status::InvalidArgument("state update: unknown op '" + op->get<std::string>() +
                                   "' (known: set, increment, delete, append)");
  }
  if (auto scope = j.find("scope"); scope != j.end()) {
    if (*scope == "user") {
      u.scope = Scope::kUser;
    } else if (*scope != "session") {
      return Status::InvalidArgument("state update '" + u.key +
                                     "': scope must be 'session' or 'user'");
    }
  }
  auto value = j.find("value");
  if (u.op != Op::kDelete) {
    if (value == j.end()) {
      return Status::InvalidArgument("state update '" + u.key + "': 'value' is required for " +
                                     std::string(StateOpName(u.op)));
    }
    if (u.op == Op::kIncrement && !IsFiniteNumber(*value)) {
      return Status::InvalidArgument("state update '" + u.key + "': increment needs a number");
    }
    u.value = *value;
  }
  return u;
}

std::string_view ParamTypeName(ParamType t) {
  switch (t) {
    case ParamType::kString:
      return "string";
    case ParamType::kNumber:
      return "number";
    case ParamType::kInteger:
      return "integer";
    case ParamType::kBoolean:
      return "boolean";
    case ParamType::kStringList:
      return "list of strings";
    case ParamType::kNumberList:
      return "list of numbers";
    case ParamType::kList:
      return "list";
    case ParamType::kObject:
      return "object";
    case ParamType::kAny:
      return "any";
  }
  return "?";
}

Json ParamSpec::ToJson() const {
  Json j = {{"name", name},
            {"type", ParamTypeName(type)},
            {"required", required},
            {"description", description}};
  if (!default_value.is_null()) j["default"] = default_value;
  if (!choices.empty()) j["choices"] = choices;
  return j;
}

Result<Json> ValidateParams(const ParamSchema& schema, const Json& given,
                            std::vector<ParamError>* errors) {
  size_t errors_before = errors->size();
  Json out = Json::object();
  std::vector<std::string> invalid;  // given but rejected: not also "missing"
  if (!given.is_null() && !given.is_object()) {
    errors->push_back({"", std::string("parameters must be a mapping, got ") + given.type_name()});
    return Status::InvalidArgument(errors->back().message);
  }
  if (given.is_object()) {
    for (const auto& item : given.items()) {
      // Not a structured binding: Clang before 16 cannot capture one in a lambda.
      const std::string& key = item.key();
      const Json& value = item.value();
      auto spec = std::find_if(schema.begin(), schema.end(),
                               [&](const ParamSpec& s) { return s.name == key; });
      if (spec == schema.end()) {
        std::string known;
        for (const ParamSpec& s : schema) known += (known.empty() ? "" : ", ") + s.name;
        errors->push_back({key, "unknown parameter '" + key +
                                    "' (known: " + (known.empty() ? "none" : known) + ")"});
        continue;
      }
      if (value.is_null()) continue;  // explicit null means "not set"
      Json v = value;
      std::string err = CheckParam(*spec, &v);
      if (!err.empty()) {
        errors->push_back({key, "parameter '" + key + "': " + err});
        invalid.push_back(key);
        continue;
      }
      out[key] = std::move(v);
    }
  }
  for (const ParamSpec& spec : schema) {
    if (out.contains(spec.name) ||
        std::find(invalid.begin(), invalid.end(), spec.name) != invalid.end()) {
      continue;
    }
    if (spec.required) {
      errors->push_back({spec.name, "missing required parameter '" + spec.name + "' (" +
                                        std::string(ParamTypeName(spec.type)) + ")"});
    } else if (!spec.default_value.is_null()) {
      out[spec.name] = spec.default_value;
    }
  }
  if (errors->size() != errors_before) return Status::InvalidArgument(errors->back().message);
  return out;
}

Json PolicyType::ToJson() const {
  Json params_json = Json::array();
  for (const ParamSpec& p : params) params_json.push_back(p.ToJson());
  return {{"name", name},
          {"description", description},
          {"events", events.ToJson()},
          {"params", std::move(params_json)}};
}

}  // namespace reins
