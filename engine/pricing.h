// PriceTable: turns reported token usage into a cost in USD.
//
// The built-in table is data/model_prices.json (LiteLLM's format, MIT; see
// NOTICE), compiled into the binary. Configuration can add models or override
// prices. Rates are USD per token; a cost is
//   input * in + output * out + cache_read * cr + cache_creation * cw
// where a missing cache rate defaults to 0.1x (read) and 1.25x (write) the
// input rate. Tiered models (LiteLLM's *_above_200k_tokens fields) use the
// tier's rates when the prompt (input + cache read + cache write tokens)
// exceeds the tier's threshold.
//
// Model ids match exactly first, then by their normalized form: lowercase,
// provider prefixes ("anthropic/", "openrouter/anthropic/", Bedrock's
// "us.anthropic.") and date or version suffixes ("-20250929", "@20250929",
// "-2025-04-14", "-v1:0") removed. So "anthropic/claude-sonnet-4-5" and
// "claude-sonnet-4-5-20250929" both find "claude-sonnet-4-5".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/canonical_json.h"
#include "engine/session_state.h"
#include "engine/status.h"

namespace reins {

struct TokenRates {
  double input = 0, output = 0, cache_read = 0, cache_write = 0;  // USD per token
};

struct ModelPrice {
  std::string model;  // the table's key
  TokenRates base;
  // (threshold in prompt tokens, rates), ascending by threshold.
  std::vector<std::pair<int64_t, TokenRates>> tiers;

  double Cost(const TokenCounts& tokens) const;
};

class PriceTable {
 public:
  // An empty table.
  PriceTable() = default;

  // The table compiled into reins.
  static const PriceTable& Builtin();
  // An empty table in front of the built-in one: models it does not price
  // are looked up there. The built-in table is parsed on the first such
  // lookup, so a short-lived process (a hook) that prices nothing never
  // pays for it. Entries merged into this table win over the built-in ones,
  // also for their dated and prefixed variants.
  static PriceTable OverBuiltin();

  // Adds or replaces entries from a LiteLLM-format object
  // ({model: {input_cost_per_token, output_cost_per_token, ...}}). Entries
  // without an input price (and non-object entries such as "sample_spec")
  // are skipped.
  Status MergeLiteLlm(const Json& table);

  // Adds or replaces one model from configuration. Accepted keys, USD per
  // million tokens: input, output, cache_read, cache_write (input and
  // output required); or LiteLLM's per-token key names.
  Status MergeConfigEntry(const std::string& model, const Json& entry);

  // The price for a model id, or nullptr when the model is unpriced.
  const ModelPrice* Find(std::string_view model) const;

  // Cost of `tokens` on `model`; nullopt when the model is unpriced.
  std::optional<double> Cost(std::string_view model, const TokenCounts& tokens) const;

  // Entries, counting the built-in table under an OverBuiltin() one.
  size_t size() const;

  // The normalized form used for matching (exposed for tests and docs).
  static std::string Normalize(std::string_view model);

 private:
  void Index(const std::string& key);
  void Override(ModelPrice price);

  std::map<std::string, ModelPrice, std::less<>> prices_;
  std::map<std::string, std::string, std::less<>> normalized_;  // normalized -> key
  bool over_builtin_ = false;
};

}  // namespace reins
