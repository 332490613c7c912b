#include "app/detail/budgets_config.hpp"

#include <cmath>
#include <limits>
#include <map>

#include "models/price_table.hpp"

namespace steward::app::detail {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Status GetLimit(const Field& f, std::optional<double>& out) {
  if (!f.present()) return Status::Ok();
  double value = 0;
  STEWARD_RETURN_IF_ERROR(GetNumber(f, 0, kInf, "a positive amount of US dollars, e.g. 5 or 0.50", value));
  if (value <= 0) return f.Fail("expected a positive amount of US dollars, e.g. 5 or 0.50 (leave the key out for no limit)");
  out = value;
  return Status::Ok();
}

Status GetPrice(const Field& f, models::Price& price) {
  static const Keys kKeys = {"input_per_mtok", "output_per_mtok"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  constexpr std::string_view kExpected = "a non-negative number (USD per million tokens)";
  STEWARD_RETURN_IF_ERROR(GetNumber(m->Get("input_per_mtok"), 0, kInf, kExpected, price.input_per_mtok));
  return GetNumber(m->Get("output_per_mtok"), 0, kInf, kExpected, price.output_per_mtok);
}

}  // namespace

Status ParseBudgetsSection(const Field& f, Config& config) {
  static const Keys kKeys = {"per_run_usd", "per_workflow_usd", "per_user_daily_usd",
                             "per_run_tokens", "warn_at", "approve_at"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  models::BudgetConfig& b = config.budgets;
  STEWARD_RETURN_IF_ERROR(GetLimit(m->Get("per_run_usd"), b.per_run_usd));
  STEWARD_RETURN_IF_ERROR(GetLimit(m->Get("per_workflow_usd"), b.per_workflow_usd));
  STEWARD_RETURN_IF_ERROR(GetLimit(m->Get("per_user_daily_usd"), b.per_user_daily_usd));
  const Field tokens = m->Get("per_run_tokens");
  if (tokens.present()) {
    double value = 0;
    STEWARD_RETURN_IF_ERROR(GetNumber(tokens, 1, 1e15, "a whole number of tokens of at least 1", value));
    if (value != std::floor(value)) return tokens.Fail("expected a whole number of tokens of at least 1");
    b.per_run_tokens = static_cast<int64_t>(value);
  }
  constexpr std::string_view kShare = "a share of the limit between 0 and 1, e.g. 0.7 for 70%";
  const Field warn = m->Get("warn_at");
  const Field approve = m->Get("approve_at");
  STEWARD_RETURN_IF_ERROR(GetNumber(warn, 0, 1, kShare, b.warn_at));
  STEWARD_RETURN_IF_ERROR(GetNumber(approve, 0, 1, kShare, b.approve_at));
  if (b.warn_at <= 0) return warn.Fail("expected a share above 0 (a warning at 0% would fire on every call)");
  if (b.approve_at <= 0) return approve.Fail("expected a share above 0 (use 1 to never ask for approval)");
  if (b.warn_at > b.approve_at) {
    return (warn.present() ? warn : approve)
        .Fail("warn_at (" + std::to_string(b.warn_at).substr(0, 4) + ") is above approve_at (" +
              std::to_string(b.approve_at).substr(0, 4) + "): the warning must come first");
  }
  return Status::Ok();
}

Status ParsePricesSection(const Field& f, Config& config) {
  Result<Mapping> m = Mapping::Open(f, nullptr);
  if (!m.ok()) return m.error();
  std::map<std::string, models::Price> prices;
  for (const Mapping::Entry& e : m->entries()) {
    if (e.key.empty()) return e.value.Fail("expected an upstream model name as the key, e.g. gpt-4o");
    models::Price price;
    STEWARD_RETURN_IF_ERROR(GetPrice(e.value, price));
    prices[e.key] = price;
  }
  models::ApplyPrices(config.models, config.providers, prices);
  return Status::Ok();
}

Status ParseCircuitBreaker(const Field& f, models::ProviderConfig& provider) {
  static const Keys kKeys = {"failures", "window_s", "open_s"};
  Result<Mapping> m = Mapping::Open(f, &kKeys);
  if (!m.ok()) return m.error();
  provider.breaker_configured = f.present();
  STEWARD_RETURN_IF_ERROR(GetInt(m->Get("failures"), 1, 1000, provider.breaker_failures));
  double window = std::chrono::duration<double>(provider.breaker_window).count();
  double open = std::chrono::duration<double>(provider.breaker_open_for).count();
  STEWARD_RETURN_IF_ERROR(GetNumber(m->Get("window_s"), 0.001, 86'400, "a number of seconds from 0.001 to 86400", window));
  STEWARD_RETURN_IF_ERROR(GetNumber(m->Get("open_s"), 0.001, 86'400, "a number of seconds from 0.001 to 86400", open));
  provider.breaker_window = std::chrono::milliseconds(static_cast<int64_t>(std::llround(window * 1000)));
  provider.breaker_open_for = std::chrono::milliseconds(static_cast<int64_t>(std::llround(open * 1000)));
  return Status::Ok();
}

}  // namespace steward::app::detail
