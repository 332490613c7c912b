#pragma once
// What a model call costs: USD per million prompt and completion tokens for each route, from
// the route's own `price:`, else the `prices:` section (keyed by upstream model), else the
// built-in list prices of common OpenAI and Anthropic models. Everything else (offline,
// scripted, local servers behind an openai-kind provider) costs 0 unless priced.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/provider_config.hpp"

namespace steward::models {

struct Price {
  double input_per_mtok = 0;   // USD per million prompt tokens
  double output_per_mtok = 0;  // USD per million completion tokens
  [[nodiscard]] bool free() const { return input_per_mtok == 0 && output_per_mtok == 0; }
};

// The built-in list price of `upstream_model` (the longest known prefix wins, so
// "gpt-4o-mini-2024-07-18" is gpt-4o-mini and "claude-sonnet-4-5-20250929" claude-sonnet-4-5);
// nullopt for models not in the table.
[[nodiscard]] std::optional<Price> DefaultPrice(std::string_view upstream_model);

// Sets the price of every route whose `price:` was not configured (price_source empty):
// `prices[upstream_model]` ("prices"), else for routes to openai/anthropic providers the
// built-in price ("default"), else 0 ("free"). `providers` gives each route's provider kind.
void ApplyPrices(std::vector<ModelRoute>& routes, const std::vector<ProviderConfig>& providers,
                 const std::map<std::string, Price>& prices);

}  // namespace steward::models
