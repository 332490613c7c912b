#pragma once
// The `budgets:` and `prices:` sections of steward.yaml and each provider's `circuit_breaker:`
// (models/budget_policy.hpp, models/price_table.hpp, models/circuit_breaker.hpp). Split from
// config.cpp to keep that file about the core.

#include "app/config.hpp"
#include "app/detail/config_reader.hpp"
#include "common/result.hpp"

namespace steward::app::detail {

// Parses `budgets: {per_run_usd, per_workflow_usd, per_user_daily_usd, per_run_tokens, warn_at,
// approve_at}` into config.budgets. Limits are positive; warn_at and approve_at are shares of
// a limit in (0, 1] with warn_at <= approve_at (approve_at: 1 turns the approval step off).
[[nodiscard]] Status ParseBudgetsSection(const Field& f, Config& config);

// Parses `prices: {UPSTREAM_MODEL: {input_per_mtok, output_per_mtok}}` and prices every model
// route that has no `price:` of its own (models::ApplyPrices). Runs after `models:`.
[[nodiscard]] Status ParsePricesSection(const Field& f, Config& config);

// Parses a provider's `circuit_breaker: {failures, window_s, open_s}` into `provider` (and
// marks it configured: offline and scripted providers only get a breaker that way).
[[nodiscard]] Status ParseCircuitBreaker(const Field& f, models::ProviderConfig& provider);

}  // namespace steward::app::detail
