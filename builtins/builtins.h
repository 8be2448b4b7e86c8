// The builtin policy library. RegisterBuiltins adds every builtin policy type
// (with the reference engine's handler paths as aliases) to a registry.
#pragma once

#include "engine/registry.h"

namespace reins {

Status RegisterBuiltins(PolicyRegistry* registry);

// Each builtin module registers its own types.
Status RegisterCostPolicies(PolicyRegistry* registry);
Status RegisterToolLimitPolicies(PolicyRegistry* registry);

}  // namespace reins
