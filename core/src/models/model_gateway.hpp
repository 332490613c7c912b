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
};

// Thread-safe.
class ModelGateway final {
 public:
  // `db` may be null (benchmarks): calls are then not recorded.
  ModelGateway(std::unique_ptr<ModelRouter> router, store::Database* db);

  [[nodiscard]] bool HasModel(std::string_view name) const;
  [[nodiscard]] std::vector<ModelRoute> Models() const;

  // Routes `model_name` to its provider and streams the answer through `sink`.
  // kNotFound names the configured models when `model_name` is unknown.
  [[nodiscard]] Result<ChatResult> Complete(const std::string& model_name, ChatRequest request,
                                            const ChunkSink& sink, const ModelCallContext& context);

 private:
  void Record(const ModelRoute& route, const ModelCallContext& context, const Usage& usage, double cost_usd,
              double duration_ms, std::optional<double> first_token_ms, const Error* error);

  std::unique_ptr<ModelRouter> router_;
  store::Database* db_;
};

// USD for `usage` at the route's prices.
[[nodiscard]] double CostUsd(const ModelRoute& route, const Usage& usage);

}  // namespace steward::models
