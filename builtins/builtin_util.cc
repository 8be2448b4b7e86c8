#include "builtins/builtin_util.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace reins {

std::string Usd(double amount) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "$%.2f", amount);
  return buf;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<std::string> StringList(const Json& params, const char* name) {
  std::vector<std::string> out;
  auto it = params.find(name);
  if (it == params.end() || !it->is_array()) return out;
  for (const Json& v : *it) out.push_back(v.get<std::string>());
  return out;
}

bool InWordList(std::string_view list, std::string_view word) {
  while (!list.empty()) {
    size_t sp = list.find(' ');
    if (list.substr(0, sp) == word) return true;
    if (sp == std::string_view::npos) break;
    list.remove_prefix(sp + 1);
  }
  return false;
}

bool ToolNameMatches(std::string_view tool, std::string_view name) {
  if (tool == name) return true;
  return tool.size() > name.size() + 2 && tool.substr(tool.size() - name.size()) == name &&
         tool.substr(tool.size() - name.size() - 2, 2) == "__";
}

std::vector<double> NumberList(const Json& params, const char* name) {
  std::vector<double> out;
  auto it = params.find(name);
  if (it == params.end() || !it->is_array()) return out;
  for (const Json& v : *it) out.push_back(v.get<double>());
  return out;
}

}  // namespace reins
