// PolicySet: the effective, ordered policies for a session, and their digest.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/config.h"

namespace reins {

class PolicySet {
 public:
  // Orders the layers session, agent, server (any may be null) keeping each
  // layer's declaration order. A name used in two layers is an error: the
  // reported policy names and the per-policy state must be unambiguous.
  static Result<std::shared_ptr<const PolicySet>> Compose(const PolicyLayer* session,
                                                          const PolicyLayer* agent,
                                                          const PolicyLayer* server);

  const std::vector<PolicyEntry>& entries() const { return entries_; }

  // SHA-256 of the canonical JSON of every entry (layer, name, type,
  // parameters, options, script digest) in order. Recorded with every
  // decision so an audit can tell which configuration decided.
  const std::string& digest() const { return digest_; }

  Json ToJson() const;

 private:
  std::vector<PolicyEntry> entries_;
  std::string digest_;
};

}  // namespace reins
