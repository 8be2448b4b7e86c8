#include "engine/registry.h"

#include <algorithm>

namespace reins {

namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

Status PolicyRegistry::Register(PolicyType type, std::vector<std::string> aliases) {
  if (Find(type.name)) return Status::AlreadyExists("policy type '" + type.name + "'");
  for (const std::string& alias : aliases) {
    if (Find(alias)) return Status::AlreadyExists("policy alias '" + alias + "'");
  }
  for (std::string& alias : aliases) aliases_.emplace(std::move(alias), type.name);
  std::string name = type.name;
  types_.emplace(std::move(name), std::move(type));
  return Status::OK();
}

void PolicyRegistry::RegisterLoader(std::string key, PolicyLoader loader) {
  loaders_[std::move(key)] = std::move(loader);
}

const PolicyType* PolicyRegistry::Find(std::string_view name) const {
  if (auto it = types_.find(name); it != types_.end()) return &it->second;
  if (auto it = aliases_.find(name); it != aliases_.end()) return Find(it->second);
  return nullptr;
}

const PolicyLoader* PolicyRegistry::FindLoader(std::string_view key) const {
  auto it = loaders_.find(key);
  return it == loaders_.end() ? nullptr : &it->second;
}

std::vector<std::string> PolicyRegistry::LoaderKeys() const {
  std::vector<std::string> keys;
  for (const auto& [key, loader] : loaders_) keys.push_back(key);
  return keys;
}

std::vector<const PolicyType*> PolicyRegistry::List() const {
  std::vector<const PolicyType*> out;
  for (const auto& [name, type] : types_) out.push_back(&type);
  return out;
}

std::vector<std::string> PolicyRegistry::Suggest(std::string_view name) const {
  std::vector<std::string> out;
  // Reference-engine handler paths end in the builtin's name.
  std::string_view tail =
      name.substr(name.rfind('.') == std::string_view::npos ? 0 : name.rfind('.') + 1);
  for (const auto& [candidate, type] : types_) {
    size_t limit = std::max<size_t>(2, candidate.size() / 4);
    if (EditDistance(tail, candidate) <= limit ||
        (tail.size() >= 4 && candidate.find(tail) != std::string::npos)) {
      out.push_back(candidate);
    }
  }
  return out;
}

}  // namespace reins
