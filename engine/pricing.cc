#include "engine/pricing.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace reins {

extern const char kBuiltinPricesJson[];
extern const std::size_t kBuiltinPricesJson_size;

namespace {

constexpr double kCacheReadFactor = 0.1;
constexpr double kCacheWriteFactor = 1.25;

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Strips a trailing "-YYYYMMDD" or "-YYYY-MM-DD".
bool StripDate(std::string* s) {
  if (s->size() > 9 && (*s)[s->size() - 9] == '-' &&
      AllDigits(std::string_view(*s).substr(s->size() - 8))) {
    s->resize(s->size() - 9);
    return true;
  }
  if (s->size() > 11) {
    std::string_view tail = std::string_view(*s).substr(s->size() - 11);
    if (tail[0] == '-' && AllDigits(tail.substr(1, 4)) && tail[5] == '-' &&
        AllDigits(tail.substr(6, 2)) && tail[8] == '-' && AllDigits(tail.substr(9, 2))) {
      s->resize(s->size() - 11);
      return true;
    }
  }
  return false;
}

// Strips a trailing Bedrock-style "-v1" or "-v1:0".
void StripVersion(std::string* s) {
  size_t pos = s->rfind("-v");
  if (pos == std::string::npos) return;
  std::string_view tail = std::string_view(*s).substr(pos + 2);
  size_t colon = tail.find(':');
  if (AllDigits(tail.substr(0, colon)) &&
      (colon == std::string_view::npos || AllDigits(tail.substr(colon + 1)))) {
    s->resize(pos);
  }
}

bool ReadRate(const Json& entry, const char* key, double* out) {
  auto it = entry.find(key);
  if (it == entry.end() || !it->is_number()) return false;
  double v = it->get<double>();
  if (!std::isfinite(v) || v < 0) return false;
  *out = v;
  return true;
}

// Reads one LiteLLM-style rate set whose keys end in `suffix` ("" for base).
// Returns false when there is no input rate.
bool ReadRates(const Json& entry, const std::string& suffix, const TokenRates* base,
               TokenRates* out) {
  if (!ReadRate(entry, ("input_cost_per_token" + suffix).c_str(), &out->input)) return false;
  double scale = base && base->input > 0 ? out->input / base->input : 1.0;
  if (!ReadRate(entry, ("output_cost_per_token" + suffix).c_str(), &out->output)) {
    out->output = base ? base->output * scale : 0;
  }
  if (!ReadRate(entry, ("cache_read_input_token_cost" + suffix).c_str(), &out->cache_read)) {
    out->cache_read = base ? base->cache_read * scale : out->input * kCacheReadFactor;
  }
  if (!ReadRate(entry, ("cache_creation_input_token_cost" + suffix).c_str(), &out->cache_write)) {
    out->cache_write = base ? base->cache_write * scale : out->input * kCacheWriteFactor;
  }
  return true;
}

}  // namespace

double ModelPrice::Cost(const TokenCounts& t) const {
  const TokenRates* r = &base;
  int64_t prompt = t.input + t.cache_read + t.cache_creation;
  for (const auto& [threshold, rates] : tiers) {
    if (prompt > threshold) r = &rates;
  }
  return static_cast<double>(t.input) * r->input + static_cast<double>(t.output) * r->output +
         static_cast<double>(t.cache_read) * r->cache_read +
         static_cast<double>(t.cache_creation) * r->cache_write;
}

const PriceTable& PriceTable::Builtin() {
  static const PriceTable* table = [] {
    auto* t = new PriceTable();
    Json data = Json::parse(std::string_view(kBuiltinPricesJson, kBuiltinPricesJson_size));
    Status st = t->MergeLiteLlm(data);
    (void)st;  // the embedded table is checked by the pricing tests
    return t;
  }();
  return *table;
}

std::string PriceTable::Normalize(std::string_view model) {
  std::string s(model);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (size_t slash = s.rfind('/'); slash != std::string::npos) s.erase(0, slash + 1);
  for (std::string_view region : {"us.", "eu.", "apac.", "global.", "jp.", "au."}) {
    if (StartsWith(s, region)) s.erase(0, region.size());
  }
  for (std::string_view vendor :
       {"anthropic.", "openai.", "google.", "meta.", "mistral.", "amazon.", "cohere.", "xai."}) {
    if (StartsWith(s, vendor)) s.erase(0, vendor.size());
  }
  std::replace(s.begin(), s.end(), '@', '-');
  StripVersion(&s);
  StripDate(&s);
  return s;
}

void PriceTable::Index(const std::string& key) {
  std::string norm = Normalize(key);
  auto [it, inserted] = normalized_.emplace(norm, key);
  if (inserted) return;
  // Prefer the undated entry; among dated ones, the latest.
  if (it->second == norm) return;
  if (key == norm || key > it->second) it->second = key;
}

Status PriceTable::MergeLiteLlm(const Json& table) {
  if (!table.is_object()) return Status::InvalidArgument("price table must be a JSON object");
  for (const auto& [model, entry] : table.items()) {
    if (!entry.is_object()) continue;
    ModelPrice price;
    price.model = model;
    if (!ReadRates(entry, "", nullptr, &price.base)) continue;
    // Tier thresholds appear as "..._above_<N>k_tokens" suffixes.
    for (const auto& [key, value] : entry.items()) {
      const std::string prefix = "input_cost_per_token_above_";
      if (!StartsWith(key, prefix) || key.size() < prefix.size() + 9) continue;
      std::string_view rest = std::string_view(key).substr(prefix.size());
      if (rest.substr(rest.size() - 8) != "k_tokens") continue;
      std::string_view digits = rest.substr(0, rest.size() - 8);
      if (!AllDigits(digits)) continue;
      TokenRates rates;
      if (ReadRates(entry, "_above_" + std::string(digits) + "k_tokens", &price.base, &rates)) {
        price.tiers.emplace_back(std::stoll(std::string(digits)) * 1000, rates);
      }
    }
    std::sort(price.tiers.begin(), price.tiers.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    prices_[model] = std::move(price);
    Index(model);
  }
  return Status::OK();
}

Status PriceTable::MergeConfigEntry(const std::string& model, const Json& entry) {
  std::string where = "pricing for '" + model + "'";
  if (!entry.is_object()) return Status::InvalidArgument(where + ": expected a mapping");
  if (entry.contains("input_cost_per_token")) {
    ModelPrice price;
    price.model = model;
    if (!ReadRates(entry, "", nullptr, &price.base)) {
      return Status::InvalidArgument(where +
                                     ": input_cost_per_token must be a non-negative number");
    }
    Override(std::move(price));
    return Status::OK();
  }
  TokenRates r;
  bool has_read = false, has_write = false;
  bool has_input = false, has_output = false;
  for (const auto& [key, value] : entry.items()) {
    double* slot = nullptr;
    if (key == "input")
      slot = &r.input, has_input = true;
    else if (key == "output")
      slot = &r.output, has_output = true;
    else if (key == "cache_read")
      slot = &r.cache_read, has_read = true;
    else if (key == "cache_write")
      slot = &r.cache_write, has_write = true;
    if (!slot) {
      return Status::InvalidArgument(where + ": unknown key '" + key +
                                     "' (known: input, output, cache_read, cache_write, in USD "
                                     "per million tokens)");
    }
    if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0) {
      return Status::InvalidArgument(where + ": '" + key + "' must be a non-negative number");
    }
    *slot = value.get<double>() / 1e6;
  }
  if (!has_input || !has_output) {
    return Status::InvalidArgument(where +
                                   ": 'input' and 'output' (USD per million tokens) are required");
  }
  if (!has_read) r.cache_read = r.input * kCacheReadFactor;
  if (!has_write) r.cache_write = r.input * kCacheWriteFactor;
  ModelPrice price;
  price.model = model;
  price.base = r;
  Override(std::move(price));
  return Status::OK();
}

void PriceTable::Override(ModelPrice price) {
  // A configured price applies to the model's dated and prefixed variants
  // too, which would otherwise still match their own exact entries.
  std::string norm = Normalize(price.model);
  for (auto& [key, existing] : prices_) {
    if (Normalize(key) == norm) {
      std::string keep = existing.model;
      existing = price;
      existing.model = keep;
    }
  }
  std::string key = price.model;
  prices_[key] = std::move(price);
  Index(key);
}

const ModelPrice* PriceTable::Find(std::string_view model) const {
  if (model.empty()) return nullptr;
  if (auto it = prices_.find(model); it != prices_.end()) return &it->second;
  auto norm = normalized_.find(Normalize(model));
  if (norm != normalized_.end()) return &prices_.find(norm->second)->second;
  return over_builtin_ ? Builtin().Find(model) : nullptr;
}

PriceTable PriceTable::OverBuiltin() {
  PriceTable t;
  t.over_builtin_ = true;
  return t;
}

size_t PriceTable::size() const { return prices_.size() + (over_builtin_ ? Builtin().size() : 0); }

std::optional<double> PriceTable::Cost(std::string_view model, const TokenCounts& tokens) const {
  const ModelPrice* p = Find(model);
  if (!p) return std::nullopt;
  return p->Cost(tokens);
}

}  // namespace reins
