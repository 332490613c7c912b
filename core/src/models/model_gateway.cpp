#include "models/model_gateway.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "telemetry/instruments.hpp"
#include "models/budget_guard.hpp"
#include "telemetry/logging.hpp"
#include "telemetry/tracer.hpp"

namespace steward::models {

double CostUsd(const ModelRoute& route, const Usage& usage) {
  return (static_cast<double>(usage.prompt_tokens) * route.input_price_per_mtok +
          static_cast<double>(usage.completion_tokens) * route.output_price_per_mtok) /
         1e6;
}

ModelGateway::ModelGateway(std::unique_ptr<ModelRouter> router, store::Database* db)
    : router_(std::move(router)), db_(db) {}

ModelGateway::~ModelGateway() = default;

void ModelGateway::SetBudgetGuard(std::unique_ptr<BudgetGuard> guard) { budget_ = std::move(guard); }

namespace {

// What a failed call says about its provider: down, slow or broken counts against the
// breaker; a rejected request or a caller that went away says nothing.
CircuitBreaker::Outcome BreakerOutcome(const Result<ChatResult>& result) {
  if (result.ok()) return CircuitBreaker::Outcome::kSuccess;
  switch (result.error().code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kInternal:
      return CircuitBreaker::Outcome::kFailure;
    default:
      return CircuitBreaker::Outcome::kNeutral;
  }
}

}  // namespace

bool ModelGateway::HasModel(std::string_view name) const { return router_->Resolve(name).ok(); }

std::vector<ModelRoute> ModelGateway::Models() const { return router_->ListModels(); }

Result<ChatResult> ModelGateway::Complete(const std::string& model_name, ChatRequest request, const ChunkSink& sink,
                                          const ModelCallContext& context) {
  auto resolved = router_->Resolve(model_name);
  if (!resolved.ok()) return resolved.error();
  const ModelRoute& route = resolved->route;
  request.model = route.upstream_model;

  // OpenTelemetry GenAI semantic conventions: one CLIENT span per model call.
  telemetry::ScopedSpan span =
      telemetry::StartSpan("chat " + model_name, context.trace_parent, telemetry::SpanKind::kClient);
  span.SetRunId(context.run_id);
  const auto active = span.Activate();  // the provider's log lines carry the trace id

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  // A call the gateway does not make (budget, open breaker) is still recorded and traced.
  const auto refuse = [&](Error error) -> Result<ChatResult> {
    const double waited_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (span.recording()) {
      span.Set("gen_ai.operation.name", "chat").Set("gen_ai.system", resolved->provider->kind())
          .Set("gen_ai.request.model", route.upstream_model).Set("steward.model", route.name)
          .Set("error.type", Describe(error.code).name).SetError(error.message);
    }
    span.End();
    Record(route, context, Usage{}, 0, waited_ms, std::nullopt, &error, {});
    if (error.context.empty()) error.context = "model " + model_name;
    return error;
  };

  // Budgets first: the call may wait here (for calls in flight, or for the owner's approval).
  BudgetAdmission admission;
  if (budget_) {
    auto admitted = budget_->Admit(route, request, context);
    if (!admitted.ok()) return refuse(admitted.error());
    admission = std::move(*admitted);
    if (!admission.warnings.empty()) span.Set("steward.budget.warning", admission.warnings.front());
  }
  auto permit = resolved->breaker->Allow();
  if (!permit.ok()) {
    if (budget_) budget_->Release(admission);
    telemetry::metrics::CircuitBreakerRejected(route.provider);
    return refuse(permit.error());
  }

  std::optional<double> first_token_ms;
  ChunkSink timed_sink = [&](const ChatChunk& chunk) {
    if (!first_token_ms) first_token_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    return sink ? sink(chunk) : true;
  };
  Result<ChatResult> result = resolved->provider->Complete(request, timed_sink);
  if (!result.ok()) {
    // Upstreams echo credentials ("Incorrect API key provided: sk-..."): no error carries one on.
    Error redacted = result.error();
    redacted.message = telemetry::Redact(redacted.message);
    result = std::move(redacted);
  }
  resolved->breaker->Done(*permit, BreakerOutcome(result), result.ok() ? std::string_view() : result.error().message);
  const BreakerState breaker = resolved->breaker->snapshot().state;
  telemetry::metrics::SetCircuitBreaker(route.provider, breaker == BreakerState::kOpen       ? telemetry::metrics::BreakerState::kOpen
                                                        : breaker == BreakerState::kHalfOpen ? telemetry::metrics::BreakerState::kHalfOpen
                                                                                             : telemetry::metrics::BreakerState::kClosed);
  const double duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();

  const Usage usage = result.ok() ? result->usage : Usage{};
  const double cost = CostUsd(route, usage);
  if (context.on_usage) context.on_usage(usage, cost);
  if (span.recording()) {
    span.Set("gen_ai.operation.name", "chat").Set("gen_ai.system", resolved->provider->kind())
        .Set("gen_ai.request.model", route.upstream_model).Set("steward.model", route.name)
        .Set("gen_ai.usage.input_tokens", usage.prompt_tokens).Set("gen_ai.usage.output_tokens", usage.completion_tokens)
        .Set("steward.cost_usd", cost);
    if (first_token_ms) span.Set("steward.first_token_ms", *first_token_ms);
    if (result.ok()) {
      span.Set("gen_ai.response.finish_reasons", result->finish_reason).SetOk();
    } else {
      span.Set("error.type", Describe(result.error().code).name).SetError(result.error().message);
    }
  }
  span.End();  // the call itself, not its bookkeeping below
  telemetry::metrics::ModelCall(route.name, route.provider, result.ok() ? "ok" : Describe(result.error().code).name,
                                duration_ms / 1e3, first_token_ms ? *first_token_ms / 1e3 : -1);
  Record(route, context, usage, cost, duration_ms, first_token_ms, result.ok() ? nullptr : &result.error(),
         admission.reservation);
  if (!result.ok()) {
    Error error = result.error();
    if (error.context.empty()) error.context = "model " + model_name;
    return error;
  }
  return result;
}

void ModelGateway::Record(const ModelRoute& route, const ModelCallContext& context, const Usage& usage,
                          double cost_usd, double duration_ms, std::optional<double> first_token_ms,
                          const Error* error, const std::string& reservation) {
  if (!db_) return;
  // Recording is best effort: a call that happened must not fail because its bookkeeping did.
  Status status = db_->Transact([&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO model_call (run_id, model, provider, upstream_model, prompt_tokens, completion_tokens, "
        "cost_usd, duration_ms, first_token_ms, status, error) "
        "VALUES (NULLIF($1, '')::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        context.run_id, route.name, route.provider, route.upstream_model, usage.prompt_tokens,
        usage.completion_tokens, cost_usd, duration_ms, first_token_ms,
        error ? std::string(Describe(error->code).name) : std::string("ok"),
        error ? std::optional<std::string>(error->message) : std::nullopt);
    // The budget counts exactly what model_call records: both in this transaction.
    if (budget_) budget_->Settle(tx, BudgetAdmission{reservation, {}}, route, usage, cost_usd);
  });
  if (!status.ok() && budget_) budget_->Release(BudgetAdmission{reservation, {}});
  if (!status.ok()) spdlog::warn("could not record a call to model {}: {}", route.name, status.error().ToString());
}

}  // namespace steward::models
