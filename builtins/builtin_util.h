// Small helpers shared by builtin policies.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/policy.h"

namespace reins {

// "$12.34"
std::string Usd(double amount);

// Lowercase copy.
std::string Lower(std::string_view s);

// Reads a list-of-strings parameter (absent: empty).
std::vector<std::string> StringList(const Json& params, const char* name);
std::vector<double> NumberList(const Json& params, const char* name);

// Whether `word` is one of the space-separated words of `list`.
bool InWordList(std::string_view list, std::string_view word);

// True when `tool` is `name`, or an MCP tool whose last "__" part is `name`
// ("mcp__github__push_files" matches "push_files").
bool ToolNameMatches(std::string_view tool, std::string_view name);

// The handler path the reference engine uses for a builtin.
inline std::string ReferenceHandler(std::string_view module, std::string_view name) {
  return "omnigent.policies.builtins." + std::string(module) + "." + std::string(name);
}

// Builds a policy whose constructor T(const Json& params,
// std::vector<ParamError>* errors, extra...) reports parameter combinations
// the schema cannot express by appending to `errors`.
template <typename T, typename... Extra>
Result<std::shared_ptr<const Policy>> MakePolicy(const Json& params,
                                                 std::vector<ParamError>* errors,
                                                 Extra&&... extra) {
  size_t before = errors->size();
  auto policy = std::make_shared<T>(params, errors, std::forward<Extra>(extra)...);
  if (errors->size() != before) return Status::InvalidArgument(errors->back().message);
  return std::shared_ptr<const Policy>(std::move(policy));
}

// A PolicyType factory for such a class.
template <typename T>
auto FactoryOf() {
  return [](const Json& params,
            std::vector<ParamError>* errors) -> Result<std::shared_ptr<const Policy>> {
    return MakePolicy<T>(params, errors);
  };
}

}  // namespace reins
