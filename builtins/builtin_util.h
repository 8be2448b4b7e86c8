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

// The handler path the reference engine uses for a builtin.
inline std::string ReferenceHandler(std::string_view module, std::string_view name) {
  return "omnigent.policies.builtins." + std::string(module) + "." + std::string(name);
}

// A PolicyType factory for a policy class whose constructor
// T(const Json& params, std::vector<ParamError>* errors) reports parameter
// combinations the schema cannot express by appending to `errors`.
template <typename T>
auto FactoryOf() {
  return [](const Json& params,
            std::vector<ParamError>* errors) -> Result<std::shared_ptr<const Policy>> {
    size_t before = errors->size();
    auto policy = std::make_shared<T>(params, errors);
    if (errors->size() != before) return Status::InvalidArgument(errors->back().message);
    return std::shared_ptr<const Policy>(std::move(policy));
  };
}

}  // namespace reins
