#include "models/price_table.hpp"

#include <algorithm>

namespace steward::models {

namespace {

struct Entry {
  std::string_view prefix;
  Price price;
};

// List prices in USD per million tokens (standard tier, no caching or batch discounts) as
// published on https://openai.com/api/pricing and https://www.anthropic.com/pricing, read on
// 2025-11-25. They change: configure `price:` on a route (or `prices:`) to override.
constexpr Entry kDefaults[] = {
    // OpenAI
    {"gpt-4o", {2.50, 10.00}},
    {"gpt-4o-mini", {0.15, 0.60}},
    {"gpt-4.1", {2.00, 8.00}},
    {"gpt-4.1-mini", {0.40, 1.60}},
    {"gpt-4.1-nano", {0.10, 0.40}},
    {"o3", {2.00, 8.00}},
    {"o3-mini", {1.10, 4.40}},
    {"o3-pro", {20.00, 80.00}},
    {"o4-mini", {1.10, 4.40}},
    // Anthropic
    {"claude-opus-4", {15.00, 75.00}},    // claude-opus-4-0, claude-opus-4-1
    {"claude-opus-4-5", {5.00, 25.00}},
    {"claude-sonnet-4", {3.00, 15.00}},   // claude-sonnet-4-0, claude-sonnet-4-5
    {"claude-haiku-4-5", {1.00, 5.00}},
    {"claude-3-5-haiku", {0.80, 4.00}},
    {"claude-3-7-sonnet", {3.00, 15.00}},
};

// A prefix matches at a name boundary: the whole name, or followed by '-' (a date, a size).
// So "o3" matches "o3-2025-04-16" but not "o30".
bool Matches(std::string_view name, std::string_view prefix) {
  if (name.size() < prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return false;
  return name.size() == prefix.size() || name[prefix.size()] == '-';
}

}  // namespace

std::optional<Price> DefaultPrice(std::string_view upstream_model) {
  const Entry* best = nullptr;
  for (const Entry& e : kDefaults) {
    if (Matches(upstream_model, e.prefix) && (best == nullptr || e.prefix.size() > best->prefix.size())) best = &e;
  }
  if (best == nullptr) return std::nullopt;
  return best->price;
}

void ApplyPrices(std::vector<ModelRoute>& routes, const std::vector<ProviderConfig>& providers,
                 const std::map<std::string, Price>& prices) {
  for (ModelRoute& route : routes) {
    if (!route.price_source.empty()) continue;  // its own `price:`
    const std::string& upstream = route.upstream_model.empty() ? route.name : route.upstream_model;
    std::optional<Price> price;
    if (const auto it = prices.find(upstream); it != prices.end()) {
      price = it->second;
      route.price_source = "prices";
    } else {
      const auto provider = std::find_if(providers.begin(), providers.end(),
                                         [&](const ProviderConfig& p) { return p.name == route.provider; });
      const bool hosted = provider != providers.end() && (provider->kind == "openai" || provider->kind == "anthropic");
      if (hosted) price = DefaultPrice(upstream);
      route.price_source = price ? "default" : "free";
    }
    route.input_price_per_mtok = price ? price->input_per_mtok : 0;
    route.output_price_per_mtok = price ? price->output_per_mtok : 0;
  }
}

}  // namespace steward::models
