// The builtin policy library. RegisterBuiltins adds every builtin policy type
// (with the reference engine's handler paths as aliases) to a registry.
#pragma once

#include "engine/registry.h"

namespace reins {

Status RegisterBuiltins(PolicyRegistry* registry);

// Each builtin module registers its own types.
Status RegisterApprovalAfterPolicies(PolicyRegistry* registry);
Status RegisterCommandPolicies(PolicyRegistry* registry);
Status RegisterCostPolicies(PolicyRegistry* registry);
Status RegisterGitGuardPolicies(PolicyRegistry* registry);
Status RegisterGitHubPolicies(PolicyRegistry* registry);
Status RegisterPathPolicies(PolicyRegistry* registry);
Status RegisterGooglePolicies(PolicyRegistry* registry);
Status RegisterLoopPolicies(PolicyRegistry* registry);
Status RegisterPiiPolicies(PolicyRegistry* registry);
Status RegisterRiskScorePolicies(PolicyRegistry* registry);
Status RegisterRoutingPolicies(PolicyRegistry* registry);
Status RegisterSandboxPolicies(PolicyRegistry* registry);
Status RegisterSkillPolicies(PolicyRegistry* registry);
Status RegisterToolLimitPolicies(PolicyRegistry* registry);

}  // namespace reins
