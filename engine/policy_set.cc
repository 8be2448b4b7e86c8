#include "engine/policy_set.h"

#include <map>

namespace reins {

Result<std::shared_ptr<const PolicySet>> PolicySet::Compose(const PolicyLayer* session,
                                                            const PolicyLayer* agent,
                                                            const PolicyLayer* server) {
  auto set = std::make_shared<PolicySet>();
  std::map<std::string, const PolicyEntry*> seen;
  for (const PolicyLayer* layer : {session, agent, server}) {
    if (!layer) continue;
    for (const PolicyEntry& entry : layer->entries) {
      auto [it, inserted] = seen.emplace(entry.name, &entry);
      if (!inserted) {
        return Status::InvalidArgument("policy name '" + entry.name + "' is used in the " +
                                       std::string(LayerName(it->second->layer)) + " layer (" +
                                       it->second->location + ") and in the " +
                                       std::string(LayerName(entry.layer)) + " layer (" +
                                       entry.location + "); names must be unique");
      }
      set->entries_.push_back(entry);
    }
  }
  set->digest_ = Sha256Hex(CanonicalJson(set->ToJson()));
  return std::shared_ptr<const PolicySet>(std::move(set));
}

Json PolicySet::ToJson() const {
  Json out = Json::array();
  for (const PolicyEntry& e : entries_) out.push_back(e.ToJson());
  return out;
}

}  // namespace reins
