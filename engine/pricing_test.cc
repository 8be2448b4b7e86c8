#include "engine/pricing.h"

#include <catch2/catch.hpp>

using namespace reins;

namespace {
TokenCounts Tokens(int64_t in, int64_t out, int64_t read = 0, int64_t write = 0) {
  TokenCounts t;
  t.input = in;
  t.output = out;
  t.cache_read = read;
  t.cache_creation = write;
  return t;
}
}  // namespace

TEST_CASE("the built-in table is the shipped LiteLLM data", "[pricing]") {
  const PriceTable& t = PriceTable::Builtin();
  CHECK(t.size() > 200);
  const ModelPrice* sonnet = t.Find("claude-sonnet-4-5");
  REQUIRE(sonnet);
  CHECK(sonnet->base.input == Approx(3e-6));
  CHECK(sonnet->base.output == Approx(1.5e-5));
  CHECK(sonnet->base.cache_read == Approx(3e-7));
  CHECK(sonnet->base.cache_write == Approx(3.75e-6));
  // 100k input + 100k output tokens of Sonnet 4.5 at $3 and $15 per million.
  CHECK(*t.Cost("claude-sonnet-4-5", Tokens(100000, 100000)) == Approx(0.3 + 1.5));
  // Over 200k prompt tokens the long-context rates ($6 / $22.50) apply.
  CHECK(*t.Cost("claude-sonnet-4-5", Tokens(300000, 100000)) == Approx(1.8 + 2.25));
}

TEST_CASE("model ids match through dated, prefixed and vendor variants", "[pricing]") {
  const PriceTable& t = PriceTable::Builtin();
  for (const char* id :
       {"claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5",
        "openrouter/anthropic/claude-sonnet-4-5", "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "claude-sonnet-4-5@20250929", "Claude-Sonnet-4-5"}) {
    INFO(id);
    const ModelPrice* p = t.Find(id);
    REQUIRE(p);
    CHECK(p->base.input == Approx(3e-6));
  }
  CHECK(t.Find("gpt-4.1-2025-04-14")->model == "gpt-4.1-2025-04-14");
  CHECK(t.Find("openai/gpt-4.1")->model == "gpt-4.1");
  CHECK(t.Find("no-such-model") == nullptr);
  CHECK_FALSE(t.Cost("no-such-model", Tokens(1, 1)).has_value());
  CHECK(PriceTable::Normalize("us.anthropic.claude-opus-4-1-20250805-v1:0") == "claude-opus-4-1");
}

TEST_CASE("cache rates default to 0.1x and 1.25x of input", "[pricing]") {
  PriceTable t;
  REQUIRE(t.MergeConfigEntry("house-model", {{"input", 2.0}, {"output", 8.0}}).ok());
  const ModelPrice* p = t.Find("house-model");
  REQUIRE(p);
  CHECK(p->base.cache_read == Approx(2e-7));
  CHECK(p->base.cache_write == Approx(2.5e-6));
  CHECK(*t.Cost("house-model", Tokens(1000, 100, 10000, 2000)) ==
        Approx(1000 * 2e-6 + 100 * 8e-6 + 10000 * 2e-7 + 2000 * 2.5e-6));
  // Same defaults for LiteLLM entries without cache prices.
  REQUIRE(
      t.MergeLiteLlm({{"lite", {{"input_cost_per_token", 1e-6}, {"output_cost_per_token", 2e-6}}}})
          .ok());
  CHECK(t.Find("lite")->base.cache_read == Approx(1e-7));
}

TEST_CASE("tiered prices apply above their prompt-size threshold", "[pricing]") {
  PriceTable t;
  REQUIRE(t.MergeLiteLlm({{"tiered",
                           {{"input_cost_per_token", 1e-6},
                            {"output_cost_per_token", 4e-6},
                            {"input_cost_per_token_above_200k_tokens", 2e-6},
                            {"output_cost_per_token_above_200k_tokens", 6e-6}}}})
              .ok());
  CHECK(*t.Cost("tiered", Tokens(200000, 1000)) == Approx(200000 * 1e-6 + 1000 * 4e-6));
  CHECK(*t.Cost("tiered", Tokens(150000, 1000, 60000)) ==
        Approx(150000 * 2e-6 + 1000 * 6e-6 + 60000 * 2e-7));
}

TEST_CASE("configured prices override the table, variants included", "[pricing]") {
  PriceTable t = PriceTable::Builtin();
  REQUIRE(t.MergeConfigEntry("claude-sonnet-4-5", {{"input", 1.0}, {"output", 2.0}}).ok());
  CHECK(t.Find("claude-sonnet-4-5-20250929")->base.input == Approx(1e-6));
  CHECK(t.Find("anthropic/claude-sonnet-4-5")->base.output == Approx(2e-6));
  auto bad = t.MergeConfigEntry("m", {{"input", 1.0}, {"outptu", 2.0}});
  CHECK(bad.message().find("unknown key 'outptu'") != std::string::npos);
  CHECK_FALSE(t.MergeConfigEntry("m", {{"input", -1.0}, {"output", 2.0}}).ok());
  CHECK_FALSE(t.MergeConfigEntry("m", {{"input", 1.0}}).ok());
}
