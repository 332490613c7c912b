#pragma once
// The model router: builds one Provider per configured provider and maps each model name
// (`models:` in steward.yaml, `model` in /v1 requests) to its route and provider.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "models/circuit_breaker.hpp"
#include "models/provider.hpp"
#include "models/provider_config.hpp"

namespace steward::models {

// Immutable after Create, so safe to use from many threads.
class ModelRouter final {
 public:
  // A resolved model: views into the router, valid while the router lives.
  struct Route {
    const ModelRoute& route;
    Provider* provider;       // never null
    CircuitBreaker* breaker;  // the provider's; never null
  };

  // Builds the providers (openai, anthropic, offline, scripted) and checks the routes.
  // kConfig errors name the bad entry (`providers.NAME.kind`, `models.NAME.provider`): an
  // unknown kind, a duplicate name, a route to an unknown provider, a script that fails to load.
  [[nodiscard]] static Result<std::unique_ptr<ModelRouter>> Create(std::vector<ProviderConfig> providers,
                                                                   std::vector<ModelRoute> models);

  // The route of `model_name`; kNotFound naming the configured models when there is none.
  [[nodiscard]] Result<Route> Resolve(std::string_view model_name) const;

  // Every configured model, in configuration order.
  [[nodiscard]] const std::vector<ModelRoute>& ListModels() const { return models_; }

  // Each provider's circuit breaker state, by provider name.
  [[nodiscard]] std::vector<CircuitBreaker::Snapshot> Breakers() const;

 private:
  ModelRouter() = default;

  std::vector<ModelRoute> models_;
  std::map<std::string, std::unique_ptr<Provider>, std::less<>> providers_;
  std::map<std::string, std::unique_ptr<CircuitBreaker>, std::less<>> breakers_;  // by provider name
  std::map<std::string, Route, std::less<>> routes_;  // views into models_ and providers_
};

}  // namespace steward::models
