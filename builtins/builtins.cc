#include "builtins/builtins.h"

namespace reins {

Status RegisterBuiltins(PolicyRegistry* registry) {
  for (auto reg : {RegisterApprovalAfterPolicies, RegisterCommandPolicies, RegisterCostPolicies,
                   RegisterGitGuardPolicies, RegisterGitHubPolicies, RegisterGooglePolicies,
                   RegisterLoopPolicies, RegisterPathPolicies, RegisterPiiPolicies,
                   RegisterRiskScorePolicies, RegisterRoutingPolicies, RegisterSandboxPolicies,
                   RegisterSkillPolicies, RegisterToolLimitPolicies}) {
    REINS_RETURN_IF_ERROR(reg(registry));
  }
  return Status::OK();
}

}  // namespace reins
