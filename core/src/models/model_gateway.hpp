#pragma once
// The model gateway: every model call in Steward (from workers through /v1, from the core
// itself) goes through Complete, which routes it, times it, prices it and records it.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "models/model_router.hpp"
#include "models/provider.hpp"
#include "store/database.hpp"
#include "telemetry/span.hpp"

namespace steward::models {

// Who a call is for. `on_usage` runs once when the call ends (also on error, with what was
// used), on the calling thread.
struct ModelCallContext {
  std::string run_id;  // empty for calls outside a run
  // Parent of the call's `chat {model}` span: the caller's traceparent, else the run's root span;
  // invalid: a new trace.
  telemetry::SpanContext trace_parent;
  std::function<void(const Usage& usage, double cost_usd)> on_usage;
  // Run events the call may cause (budget warnings as `status`, budget approvals as
  // `approval_required` / `approval_resolved`), on the calling thread; may be empty.
  std::function<void(std::string_view type, const nlohmann::json& data)> emit;
  // True once the caller's run is over or cancelled: a call waiting for budget gives up. May be empty.
  std::function<bool()> cancelled;
};

class BudgetGuard;

// Thread-safe.
class ModelGateway final {
 public:
  // `db` may be null (benchmarks): calls are then not recorded.
  ModelGateway(std::unique_ptr<ModelRouter> router, store::Database* db);
  ~ModelGateway();

  // Enforces budgets on every later call (budget_guard.hpp). Call before serving; needs `db`.
  void SetBudgetGuard(std::unique_ptr<BudgetGuard> guard);
  [[nodiscard]] BudgetGuard* budget_guard() const { return budget_.get(); }

  // Each provider's circuit breaker (for /healthz, `steward doctor`, metrics).
  [[nodiscard]] std::vector<CircuitBreaker::Snapshot> Breakers() const { return router_->Breakers(); }

  [[nodiscard]] bool HasModel(std::string_view name) const;
  [[nodiscard]] std::vector<ModelRoute> Models() const;

  // Routes `model_name` to its provider and streams the answer through `sink`.
  // kNotFound names the configured models when `model_name` is unknown.
  [[nodiscard]] Result<ChatResult> Complete(const std::string& model_name, ChatRequest request,
                                            const ChunkSink& sink, const ModelCallContext& context);

 private:
  void Record(const ModelRoute& route, const ModelCallContext& context, const Usage& usage, double cost_usd,
              double duration_ms, std::optional<double> first_token_ms, const Error* error,
              const std::string& reservation);

  std::unique_ptr<ModelRouter> router_;
  store::Database* db_;
  std::unique_ptr<BudgetGuard> budget_;  // null: no budgets
};

// USD for `usage` at the route's prices.
[[nodiscard]] double CostUsd(const ModelRoute& route, const Usage& usage);

}  // namespace steward::models
