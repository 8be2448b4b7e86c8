#include "engine/yaml_json.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace reins {

namespace {

bool IsOneOf(const std::string& s, std::initializer_list<const char*> options) {
  for (const char* o : options) {
    if (s == o) return true;
  }
  return false;
}

bool IsInteger(const std::string& s) {
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool IsFloat(const std::string& s) {
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  bool digits = false, dot = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && digits) {
      size_t j = i + 1;
      if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
      if (j >= s.size()) return false;
      for (; j < s.size(); ++j) {
        if (s[j] < '0' || s[j] > '9') return false;
      }
      return true;
    } else {
      return false;
    }
  }
  return digits;
}

Json PlainScalar(const std::string& s) {
  if (s.empty() || IsOneOf(s, {"~", "null", "Null", "NULL"})) return nullptr;
  if (IsOneOf(s, {"true", "True", "TRUE"})) return true;
  if (IsOneOf(s, {"false", "False", "FALSE"})) return false;
  if (IsInteger(s)) {
    errno = 0;
    long long v = std::strtoll(s.c_str(), nullptr, 10);
    if (errno != ERANGE) return static_cast<int64_t>(v);
    return std::strtod(s.c_str(), nullptr);
  }
  if (IsFloat(s)) return std::strtod(s.c_str(), nullptr);
  if (IsOneOf(s, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"})) {
    return std::numeric_limits<double>::infinity();
  }
  if (IsOneOf(s, {"-.inf", "-.Inf", "-.INF"})) return -std::numeric_limits<double>::infinity();
  if (IsOneOf(s, {".nan", ".NaN", ".NAN"})) return std::nan("");
  return s;
}

}  // namespace

Result<Json> YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Json(nullptr);
    case YAML::NodeType::Scalar:
      // yaml-cpp tags plain scalars "?" and quoted ones "!".
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return Json(node.Scalar());
      return PlainScalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const YAML::Node& item : node) {
        auto v = YamlToJson(item);
        if (!v.ok()) return v;
        out.push_back(std::move(v).value());
      }
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return Status::InvalidArgument(std::to_string(YamlLine(kv.first)) + ":" +
                                         std::to_string(YamlColumn(kv.first)) +
                                         ": mapping keys must be scalars");
        }
        auto v = YamlToJson(kv.second);
        if (!v.ok()) return v;
        out[kv.first.Scalar()] = std::move(v).value();
      }
      return out;
    }
  }
  return Json(nullptr);
}

namespace {

bool At(const YAML::Node& n, int line, int column) {
  return YamlLine(n) == line && YamlColumn(n) == column;
}

bool FindPath(const YAML::Node& node, int line, int column, std::string* path) {
  auto join = [&](const std::string& part) { *path = path->empty() ? part : *path + "." + part; };
  if (node.IsMap()) {
    for (const auto& kv : node) {
      std::string saved = *path;
      join(kv.first.Scalar());
      if (At(kv.first, line, column) || At(kv.second, line, column) ||
          FindPath(kv.second, line, column, path)) {
        return true;
      }
      *path = saved;
    }
  } else if (node.IsSequence()) {
    size_t i = 0;
    for (const YAML::Node& item : node) {
      std::string saved = *path;
      join(std::to_string(i++));
      if (At(item, line, column) || FindPath(item, line, column, path)) return true;
      *path = saved;
    }
  }
  return false;
}

}  // namespace

std::string YamlPathAt(const YAML::Node& root, int line, int column) {
  std::string path;
  return FindPath(root, line, column, &path) ? path : "";
}

}  // namespace reins
