#pragma once
// Steward's in-process metrics: the families /metrics shows for events that happen in this
// process, and one function per kind of event so each call site is one line. All record into
// the process-wide registry (metrics.hpp). Durable totals (runs, steps, approvals, tokens, cost)
// are not here: db_metrics.hpp reads them from PostgreSQL at scrape time, so they survive restarts.
//
// Budgets and circuit breakers (models/): report their state through SetBudget /
// SetCircuitBreaker and count refusals; the families exist (HELP/TYPE, no series) until then.
//
// Label values are free text but should be few: route templates (not paths), model and tool
// names, error code names.

#include <string_view>

#include "telemetry/metrics.hpp"

namespace steward::telemetry::metrics {

// Registers every family below in Metrics() (idempotent), so /metrics lists them before their
// first event, and adds the process and tracer collectors once.
void RegisterStewardMetrics();

// An HTTP request answered: `route` is the matched route's template ("/api/runs/{id}"), or
// "unmatched"; `status` the HTTP status sent (for a stream, the one it started with).
void HttpRequest(std::string_view method, std::string_view route, int status, double seconds);

// A model call through the model gateway ended; `status` is "ok" or an error code name.
// `first_token_seconds` < 0 when no chunk arrived.
void ModelCall(std::string_view model, std::string_view provider, std::string_view status, double seconds,
               double first_token_seconds);

// A tool call through the registry ended (including refused and failed ones): `server` is the
// provider's name (the part of the tool name before the first '.'); `error_type` is "" on success.
void ToolCall(std::string_view tool, std::string_view server, bool success, std::string_view error_type,
              double seconds);

// Something failed: `component` (http, model, tool, run, ...) and an error code name.
void Error(std::string_view component, std::string_view code);

// ---- budgets and circuit breakers ----

enum class BudgetState { kOk = 0, kWarning = 1, kApprovalRequired = 2, kExhausted = 3 };

// The current state of one budget: `scope` is run|workflow|user_day|...; `key` names the budget
// (a workflow name, "owner"; avoid one series per run id unless you Remove it when the run ends).
// Sets steward_budget_limit_usd, steward_budget_spent_usd and steward_budget_state.
void SetBudget(std::string_view scope, std::string_view key, double limit_usd, double spent_usd, BudgetState state);
void RemoveBudget(std::string_view scope, std::string_view key);
// A call refused (or held for approval) because of a budget: steward_budget_actions_total.
void BudgetAction(std::string_view scope, std::string_view action);  // action: warned|approval_required|refused

enum class BreakerState { kClosed = 0, kHalfOpen = 1, kOpen = 2 };
void SetCircuitBreaker(std::string_view provider, BreakerState state);
// A call failed fast because the provider's breaker was open.
void CircuitBreakerRejected(std::string_view provider);

}  // namespace steward::telemetry::metrics
