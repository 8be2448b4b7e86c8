#include "builtins/builtins.h"

namespace reins {

Status RegisterBuiltins(PolicyRegistry* registry) {
  REINS_RETURN_IF_ERROR(RegisterCostPolicies(registry));
  REINS_RETURN_IF_ERROR(RegisterToolLimitPolicies(registry));
  return Status::OK();
}

}  // namespace reins
