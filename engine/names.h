// Lookup of enum values by their wire names, for the small name tables of
// event types, record kinds and verdicts.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace reins {

// The index of `name` in `names`, compared exactly or ASCII case-insensitively.
template <typename Names>
std::optional<size_t> IndexOfName(const Names& names, std::string_view name,
                                  bool ignore_case = false) {
  for (size_t i = 0; i < std::size(names); ++i) {
    std::string_view candidate = names[i];
    if (candidate.size() != name.size()) continue;
    bool same = true;
    for (size_t k = 0; same && k < name.size(); ++k) {
      char a = candidate[k], b = name[k];
      if (ignore_case) {
        a = (a >= 'A' && a <= 'Z') ? static_cast<char>(a - 'A' + 'a') : a;
        b = (b >= 'A' && b <= 'Z') ? static_cast<char>(b - 'A' + 'a') : b;
      }
      same = a == b;
    }
    if (same) return i;
  }
  return std::nullopt;
}

}  // namespace reins
