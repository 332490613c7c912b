#include "models/model_router.hpp"

#include <limits>

#include "models/anthropic_provider.hpp"
#include "models/offline_provider.hpp"
#include "models/openai_provider.hpp"
#include "models/scripted_provider.hpp"

namespace steward::models {

namespace {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

template <typename Map>
std::string Names(const Map& map) {
  std::string out;
  for (const auto& [name, value] : map) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

Result<std::unique_ptr<Provider>> MakeProvider(const ProviderConfig& config) {
  if (config.kind == "openai") return std::unique_ptr<Provider>(std::make_unique<OpenAiProvider>(config));
  if (config.kind == "anthropic") return std::unique_ptr<Provider>(std::make_unique<AnthropicProvider>(config));
  if (config.kind == "offline") return std::unique_ptr<Provider>(std::make_unique<OfflineProvider>(config));
  if (config.kind == "scripted") {
    auto scripted = ScriptedProvider::Load(config);
    if (!scripted.ok()) {
      Error error = scripted.error();
      error.message = "provider " + Quote(config.name) + ": " + error.message;
      return error;
    }
    return std::unique_ptr<Provider>(std::move(scripted).value());
  }
  return MakeError(ErrorCode::kConfig,
                   "unknown provider kind " + Quote(config.kind) + "; expected openai, anthropic, offline or scripted",
                   "providers." + config.name + ".kind");
}

}  // namespace

Result<std::unique_ptr<ModelRouter>> ModelRouter::Create(std::vector<ProviderConfig> providers,
                                                         std::vector<ModelRoute> models) {
  std::unique_ptr<ModelRouter> router(new ModelRouter());
  for (auto& config : providers) {
    if (config.name.empty()) {
      return MakeError(ErrorCode::kConfig, "a provider has an empty name", "providers");
    }
    if (router->providers_.contains(config.name)) {
      return MakeError(ErrorCode::kConfig, "provider " + Quote(config.name) + " is defined twice",
                       "providers." + config.name);
    }
    auto provider = MakeProvider(config);
    if (!provider.ok()) return provider.error();
    router->providers_.emplace(config.name, std::move(provider).value());
    CircuitBreakerOptions breaker;
    breaker.failures = config.breaker_failures;
    breaker.window = config.breaker_window;
    breaker.open_for = config.breaker_open_for;
    if (!config.breaker_configured && (config.kind == "offline" || config.kind == "scripted")) {
      breaker.failures = std::numeric_limits<int>::max();
    }
    router->breakers_.emplace(config.name, std::make_unique<CircuitBreaker>(config.name, breaker));
  }

  router->models_ = std::move(models);
  for (auto& model : router->models_) {
    if (model.name.empty()) return MakeError(ErrorCode::kConfig, "a model has an empty name", "models");
    // The usual case: the model is called the same upstream.
    if (model.upstream_model.empty()) model.upstream_model = model.name;
  }
  // models_ no longer changes size, so references into it stay valid.
  for (const auto& model : router->models_) {
    const auto provider = router->providers_.find(model.provider);
    if (provider == router->providers_.end()) {
      return MakeError(ErrorCode::kConfig,
                       "model " + Quote(model.name) + " routes to unknown provider " + Quote(model.provider) +
                           "; configured providers: " + Names(router->providers_),
                       "models." + model.name + ".provider");
    }
    CircuitBreaker* breaker = router->breakers_.at(model.provider).get();
    if (!router->routes_.emplace(model.name, Route{model, provider->second.get(), breaker}).second) {
      return MakeError(ErrorCode::kConfig, "model " + Quote(model.name) + " is defined twice",
                       "models." + model.name);
    }
  }
  return router;
}

Result<ModelRouter::Route> ModelRouter::Resolve(std::string_view model_name) const {
  const auto it = routes_.find(model_name);
  if (it == routes_.end()) {
    return MakeError(ErrorCode::kNotFound,
                     "unknown model " + Quote(model_name) + "; configured models: " + Names(routes_),
                     "model " + std::string(model_name));
  }
  return it->second;
}

std::vector<CircuitBreaker::Snapshot> ModelRouter::Breakers() const {
  std::vector<CircuitBreaker::Snapshot> out;
  for (const auto& [name, breaker] : breakers_) out.push_back(breaker->snapshot());
  return out;
}

}  // namespace steward::models
