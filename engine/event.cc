#include "engine/event.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <vector>

#include "engine/json_fields.h"
#include "engine/names.h"

namespace reins {

namespace {

constexpr std::array<std::string_view, kEventTypeCount> kTypeNames = {
    "session_start", "request",  "llm_request", "llm_response", "tool_call",
    "tool_result",   "response", "cost",        "approval",     "session_end",
};

enum class Kind {
  kString,
  kObject,
  kBool,
  kCount,        // non-negative integer
  kUsd,          // non-negative finite number
  kAny,          // any JSON value
  kUsage,        // token counts object
  kAttachments,  // array of {name, content_type, text}
};

struct FieldSpec {
  std::string_view name;
  Kind kind;
  bool required;
};

// Fields every event may carry, whatever its type.
constexpr FieldSpec kCommonFields[] = {
    {"session", Kind::kString, true}, {"type", Kind::kString, true},
    {"ts", Kind::kString, false},     {"seq", Kind::kCount, false},
    {"labels", Kind::kObject, false},
};

struct TypeSchema {
  std::vector<FieldSpec> fields;
};

const std::array<TypeSchema, kEventTypeCount>& Schemas() {
  static const std::array<TypeSchema, kEventTypeCount> schemas = {{
      // session_start
      {{{"user", Kind::kString, false},
        {"agent", Kind::kString, false},
        {"harness", Kind::kString, false},
        {"model", Kind::kString, false},
        {"cwd", Kind::kString, false},
        {"parent", Kind::kString, false},
        {"source", Kind::kString, false},
        {"sandbox", Kind::kObject, false},
        {"owner", Kind::kString, false}}},
      // request
      {{{"text", Kind::kString, true},
        {"attachments", Kind::kAttachments, false},
        {"model", Kind::kString, false},
        {"prompt_class", Kind::kObject, false}}},
      // llm_request
      {{{"model", Kind::kString, true},
        {"text", Kind::kString, false},
        {"context", Kind::kString, false},
        {"system", Kind::kString, false},
        {"messages_count", Kind::kCount, false},
        {"tools_count", Kind::kCount, false},
        {"prompt_class", Kind::kObject, false}}},
      // llm_response
      {{{"model", Kind::kString, true},
        {"usage", Kind::kUsage, false},
        {"cost_usd", Kind::kUsd, false},
        {"text", Kind::kString, false}}},
      // tool_call
      {{{"tool", Kind::kString, true},
        {"input", Kind::kObject, false},
        {"call_id", Kind::kString, false}}},
      // tool_result
      {{{"tool", Kind::kString, true},
        {"call_id", Kind::kString, false},
        {"output", Kind::kAny, false},
        {"is_error", Kind::kBool, false}}},
      // response
      {{{"text", Kind::kString, false}}},
      // cost
      {{{"cost_usd", Kind::kUsd, true}, {"model", Kind::kString, false}}},
      // approval
      {{{"approval_id", Kind::kString, false},
        {"approved", Kind::kBool, true},
        {"by", Kind::kString, false},
        {"note", Kind::kString, false},
        {"grant", Kind::kString, false}}},
      // session_end
      {{{"reason", Kind::kString, false}}},
  }};
  return schemas;
}

constexpr std::string_view kUsageFields[] = {"input_tokens", "output_tokens",
                                             "cache_read_input_tokens",
                                             "cache_creation_input_tokens", "reasoning_tokens"};

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kString:
      return "string";
    case Kind::kObject:
      return "object";
    case Kind::kBool:
      return "boolean";
    case Kind::kCount:
      return "non-negative integer";
    case Kind::kUsd:
      return "non-negative number";
    case Kind::kAny:
      return "any JSON value";
    case Kind::kUsage:
      return "object of token counts";
    case Kind::kAttachments:
      return "array of {name, content_type, text} objects";
  }
  return "?";
}

// Counts are read as int64_t (seq, token counts): an unsigned value above
// INT64_MAX would read back negative.
bool IsCount(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t{INT64_MAX};
  return v.is_number_integer() && v.get<int64_t>() >= 0;
}

bool IsUsd(const Json& v) {
  if (!v.is_number()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && d >= 0;
}

Status TypeError(std::string_view field, Kind kind, const Json& v) {
  return Status::InvalidArgument("field '" + std::string(field) + "': expected " + KindName(kind) +
                                 ", got " + v.type_name());
}

Status CheckField(const FieldSpec& spec, const Json& v) {
  switch (spec.kind) {
    case Kind::kString:
      if (!v.is_string()) return TypeError(spec.name, spec.kind, v);
      break;
    case Kind::kObject:
      if (!v.is_object()) return TypeError(spec.name, spec.kind, v);
      break;
    case Kind::kBool:
      if (!v.is_boolean()) return TypeError(spec.name, spec.kind, v);
      break;
    case Kind::kCount:
      if (!IsCount(v)) return TypeError(spec.name, spec.kind, v);
      break;
    case Kind::kUsd:
      if (!IsUsd(v)) return TypeError(spec.name, spec.kind, v);
      break;
    case Kind::kAny:
      break;
    case Kind::kUsage:
      if (!v.is_object()) return TypeError(spec.name, spec.kind, v);
      for (const auto& [key, count] : v.items()) {
        bool known = false;
        for (std::string_view f : kUsageFields) known = known || key == f;
        std::string where = "field 'usage." + key + "'";
        if (!known) {
          return Status::InvalidArgument(
              where +
              ": unknown token count (known: input_tokens, output_tokens, "
              "cache_read_input_tokens, cache_creation_input_tokens, reasoning_tokens)");
        }
        if (!IsCount(count)) {
          return Status::InvalidArgument(where + ": expected non-negative integer, got " +
                                         count.type_name());
        }
      }
      break;
    case Kind::kAttachments:
      if (!v.is_array()) return TypeError(spec.name, spec.kind, v);
      for (size_t i = 0; i < v.size(); ++i) {
        const Json& a = v[i];
        std::string where = "field 'attachments[" + std::to_string(i) + "]";
        if (!a.is_object()) {
          return Status::InvalidArgument(where + "': expected object, got " + a.type_name());
        }
        for (const auto& [key, val] : a.items()) {
          if (key != "name" && key != "content_type" && key != "text") {
            return Status::InvalidArgument(where + "." + key +
                                           "': unknown field (known: name, content_type, text)");
          }
          if (!val.is_string()) {
            return Status::InvalidArgument(where + "." + key + "': expected string, got " +
                                           val.type_name());
          }
        }
      }
      break;
  }
  return Status::OK();
}

const FieldSpec* FindSpec(const TypeSchema& schema, std::string_view name) {
  for (const FieldSpec& f : kCommonFields) {
    if (f.name == name) return &f;
  }
  for (const FieldSpec& f : schema.fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string KnownFields(const TypeSchema& schema) {
  std::string out;
  for (const FieldSpec& f : kCommonFields) out += (out.empty() ? "" : ", ") + std::string(f.name);
  for (const FieldSpec& f : schema.fields) out += ", " + std::string(f.name);
  return out;
}

}  // namespace

std::string_view EventTypeName(EventType type) { return kTypeNames[static_cast<size_t>(type)]; }

std::optional<EventType> EventTypeFromName(std::string_view name) {
  auto i = IndexOfName(kTypeNames, name);
  return i ? std::optional<EventType>(static_cast<EventType>(*i)) : std::nullopt;
}

Json EventTypeSet::ToJson() const {
  Json out = Json::array();
  for (int i = 0; i < kEventTypeCount; ++i) {
    if (Has(static_cast<EventType>(i))) out.push_back(kTypeNames[i]);
  }
  return out;
}

Result<Event> Event::Parse(std::string_view text, const EventLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::InvalidArgument("event is " + std::to_string(text.size()) +
                                   " bytes, over the limit of " + std::to_string(limits.max_bytes));
  }
  auto value = ParseJsonBounded(text, limits.max_depth);
  if (!value.ok()) return value.status();
  return FromJson(std::move(value).value());
}

Result<Event> Event::FromJson(Json value) {
  if (!value.is_object()) {
    return Status::InvalidArgument(std::string("event must be a JSON object, got ") +
                                   value.type_name());
  }
  Event ev;
  ev.json_ = std::move(value);
  REINS_RETURN_IF_ERROR(ev.Validate());
  return ev;
}

Status Event::Validate() {
  auto type_it = json_.find("type");
  if (type_it == json_.end()) return Status::InvalidArgument("field 'type': required");
  if (!type_it->is_string()) {
    return Status::InvalidArgument(std::string("field 'type': expected string, got ") +
                                   type_it->type_name());
  }
  auto type = EventTypeFromName(type_it->get_ref<const std::string&>());
  if (!type) {
    std::string known;
    for (auto n : kTypeNames) known += (known.empty() ? "" : ", ") + std::string(n);
    return Status::InvalidArgument("field 'type': unknown event type '" +
                                   type_it->get<std::string>() + "' (known: " + known + ")");
  }
  type_ = *type;
  const TypeSchema& schema = Schemas()[static_cast<size_t>(type_)];
  for (const auto& [key, v] : json_.items()) {
    const FieldSpec* spec = FindSpec(schema, key);
    if (!spec) {
      return Status::InvalidArgument("field '" + key + "': not a field of " +
                                     std::string(type_name()) +
                                     " events (known: " + KnownFields(schema) + ")");
    }
    REINS_RETURN_IF_ERROR(CheckField(*spec, v));
  }
  for (const FieldSpec& f : kCommonFields) {
    if (f.required && !json_.contains(f.name)) {
      return Status::InvalidArgument("field '" + std::string(f.name) + "': required");
    }
  }
  for (const FieldSpec& f : schema.fields) {
    if (f.required && !json_.contains(f.name)) {
      return Status::InvalidArgument("field '" + std::string(f.name) + "': required for " +
                                     std::string(type_name()) + " events (" + KindName(f.kind) +
                                     ")");
    }
  }
  session_ = json_["session"].get<std::string>();
  if (session_.empty() || session_.size() > 256) {
    return Status::InvalidArgument("field 'session': must be 1 to 256 characters");
  }
  if (session_.rfind(kReservedSessionPrefix, 0) == 0) {
    return Status::InvalidArgument("field 'session': ids starting with '" +
                                   std::string(kReservedSessionPrefix) +
                                   "' are reserved for reins' own logs");
  }
  if (auto it = json_.find("ts"); it != json_.end()) {
    auto ts = ParseRfc3339(it->get_ref<const std::string&>());
    if (!ts.ok()) return ts.status().WithPrefix("field 'ts'");
    ts_ = *ts;
    has_ts_ = true;
  }
  if (auto it = json_.find("seq"); it != json_.end()) seq_ = it->get<int64_t>();
  return Status::OK();
}

std::string_view Event::GetString(std::string_view field) const {
  auto it = json_.find(field);
  if (it == json_.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

const Json* Event::Get(std::string_view field) const {
  auto it = json_.find(field);
  return it == json_.end() ? nullptr : &*it;
}

bool Event::GetBool(std::string_view field) const {
  auto it = json_.find(field);
  return it != json_.end() && it->is_boolean() && it->get<bool>();
}

const Json& Event::input() const {
  static const Json kEmpty = Json::object();
  auto it = json_.find("input");
  return it == json_.end() ? kEmpty : *it;
}

void Event::set_seq(int64_t seq) {
  seq_ = seq;
  json_["seq"] = seq;
}

void Event::set_ts(TimeUs ts) {
  ts_ = ts;
  has_ts_ = true;
  json_["ts"] = FormatRfc3339(ts);
}

Status Event::ApplyPatch(const Json& patch) {
  if (!patch.is_object()) {
    return Status::InvalidArgument(std::string("patch must be a JSON object, got ") +
                                   patch.type_name());
  }
  for (const char* fixed : {"session", "type", "seq", "ts"}) {
    if (patch.contains(fixed)) {
      return Status::InvalidArgument(std::string("patch may not change field '") + fixed + "'");
    }
  }
  Json patched = json_;
  patched.merge_patch(patch);
  Event candidate;
  candidate.json_ = std::move(patched);
  REINS_RETURN_IF_ERROR(candidate.Validate().WithPrefix("patched event"));
  *this = std::move(candidate);
  return Status::OK();
}

Json MergePatchDiff(const Json& from, const Json& to) {
  if (!from.is_object() || !to.is_object()) return to;
  Json patch = Json::object();
  for (const auto& [key, value] : to.items()) {
    auto it = from.find(key);
    if (it == from.end()) {
      patch[key] = value;
    } else if (*it != value) {
      patch[key] = it->is_object() && value.is_object() ? MergePatchDiff(*it, value) : value;
    }
  }
  for (const auto& [key, value] : from.items()) {
    if (!to.contains(key)) patch[key] = nullptr;
  }
  return patch;
}

std::string EventSummary(const Json& event, size_t max) {
  std::string type = JsonString(event, "type");
  std::string out;
  if (type == "tool_call" || type == "tool_result") {
    out = JsonString(event, "tool");
    auto input = event.find("input");
    if (input != event.end() && input->is_object()) {
      std::string detail;
      for (const char* key : {"command", "cmd", "file_path", "path", "url", "pattern"}) {
        detail = JsonString(*input, key);
        if (!detail.empty()) break;
      }
      if (detail.empty() && !input->empty()) detail = input->dump();
      if (!detail.empty()) out += " " + detail;
    }
  } else if (type == "llm_request" || type == "llm_response") {
    out = JsonString(event, "model");
    std::string text = JsonString(event, "text");
    if (!text.empty()) out += " \"" + text + "\"";
  } else if (type == "request" || type == "response") {
    out = "\"" + JsonString(event, "text") + "\"";
  } else if (type == "session_start") {
    for (const char* key : {"user", "agent", "harness", "model"}) {
      std::string v = JsonString(event, key);
      if (!v.empty()) out += (out.empty() ? "" : " ") + std::string(key) + "=" + v;
    }
  } else if (type == "cost") {
    auto c = event.find("cost_usd");
    if (c != event.end() && c->is_number()) {
      char buf[32];
      double usd = c->get<double>();
      snprintf(buf, sizeof buf, usd != 0 && usd < 0.01 ? "$%.4f" : "$%.2f", usd);
      out = buf;
    }
  } else if (type == "approval") {
    // Shown for records that were never validated too.
    out = JsonBool(event, "approved") ? "approve" : "deny";
    std::string id = JsonString(event, "approval_id");
    if (!id.empty()) out += " " + id;
    std::string by = JsonString(event, "by");
    if (!by.empty()) out += " by " + by;
  }
  for (char& c : out) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (out.size() > max) {
    size_t cut = max - 3;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "...";
  }
  return out;
}

}  // namespace reins
