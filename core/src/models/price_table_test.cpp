#include "models/price_table.hpp"

#include <gtest/gtest.h>

namespace steward::models {
namespace {

TEST(PriceTable, LongestKnownPrefixAtANameBoundaryWins) {
  struct Case {
    const char* model;
    double input;
    double output;
  };
  const Case cases[] = {
      {"gpt-4o", 2.50, 10.00},
      {"gpt-4o-2024-08-06", 2.50, 10.00},
      {"gpt-4o-mini", 0.15, 0.60},
      {"gpt-4o-mini-2024-07-18", 0.15, 0.60},
      {"gpt-4.1", 2.00, 8.00},
      {"gpt-4.1-mini-2025-04-14", 0.40, 1.60},
      {"gpt-4.1-nano", 0.10, 0.40},
      {"o3", 2.00, 8.00},
      {"o3-mini", 1.10, 4.40},
      {"o4-mini-2025-04-16", 1.10, 4.40},
      {"claude-sonnet-4-5-20250929", 3.00, 15.00},
      {"claude-sonnet-4-20250514", 3.00, 15.00},
      {"claude-opus-4-1-20250805", 15.00, 75.00},
      {"claude-opus-4-5", 5.00, 25.00},
      {"claude-haiku-4-5", 1.00, 5.00},
  };
  for (const Case& c : cases) {
    const auto price = DefaultPrice(c.model);
    ASSERT_TRUE(price.has_value()) << c.model;
    EXPECT_DOUBLE_EQ(price->input_per_mtok, c.input) << c.model;
    EXPECT_DOUBLE_EQ(price->output_per_mtok, c.output) << c.model;
  }
  for (const char* unknown : {"o30", "gpt-4", "llama3.1:8b", "offline", "replay", "gpt-4omni"}) {
    EXPECT_FALSE(DefaultPrice(unknown).has_value()) << unknown;
  }
}

TEST(PriceTable, ApplyPricesPrefersTheRouteThenPricesThenDefaultsAndLocalIsFree) {
  std::vector<ProviderConfig> providers(4);
  providers[0].name = "openai";
  providers[0].kind = "openai";
  providers[1].name = "ollama";  // an openai-kind local server: unknown models are free
  providers[1].kind = "openai";
  providers[2].name = "replay";
  providers[2].kind = "scripted";
  providers[3].name = "claude";
  providers[3].kind = "anthropic";
  auto route = [](std::string name, std::string provider, std::string upstream) {
    ModelRoute r;
    r.name = std::move(name);
    r.provider = std::move(provider);
    r.upstream_model = std::move(upstream);
    return r;
  };
  std::vector<ModelRoute> routes = {route("own", "openai", "gpt-4o"), route("listed", "openai", "gpt-4o-mini"),
                                    route("default", "claude", "claude-sonnet-4-5"), route("local", "ollama", "llama3"),
                                    route("scripted", "replay", "gpt-4o"), route("scripted2", "replay", "replay")};
  routes[0].input_price_per_mtok = 1;
  routes[0].output_price_per_mtok = 2;
  routes[0].price_source = "config";
  ApplyPrices(routes, providers, {{"gpt-4o-mini", Price{0.5, 0.7}}, {"replay", Price{0, 1000}}});
  EXPECT_EQ(routes[0].price_source, "config");
  EXPECT_DOUBLE_EQ(routes[0].input_price_per_mtok, 1);
  EXPECT_EQ(routes[1].price_source, "prices");
  EXPECT_DOUBLE_EQ(routes[1].input_price_per_mtok, 0.5);
  EXPECT_DOUBLE_EQ(routes[1].output_price_per_mtok, 0.7);
  EXPECT_EQ(routes[2].price_source, "default");
  EXPECT_DOUBLE_EQ(routes[2].output_price_per_mtok, 15);
  EXPECT_EQ(routes[3].price_source, "free");
  EXPECT_DOUBLE_EQ(routes[3].input_price_per_mtok, 0);
  // A scripted provider is never charged the built-in price, even under a real model's name...
  EXPECT_EQ(routes[4].price_source, "free");
  EXPECT_DOUBLE_EQ(routes[4].output_price_per_mtok, 0);
  // ...but `prices:` can price it (the budget tests do).
  EXPECT_EQ(routes[5].price_source, "prices");
  EXPECT_DOUBLE_EQ(routes[5].output_price_per_mtok, 1000);
}

}  // namespace
}  // namespace steward::models
