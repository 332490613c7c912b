#pragma once
// Configuration of model providers and of the models routed to them, as loaded from the
// `providers:` and `models:` sections of steward.yaml.

#include <chrono>
#include <map>
#include <string>

namespace steward::models {

struct ProviderConfig {
  std::string name;      // key under `providers:`
  std::string kind;      // "openai" | "anthropic" | "offline" | "scripted"
  std::string base_url;  // openai: ".../v1"; anthropic: "https://api.anthropic.com" (no /v1)
  std::string api_key;   // secret: never logged; resolved from ${ENV}
  std::map<std::string, std::string> headers;  // extra request headers
  std::chrono::milliseconds timeout{120'000};  // whole-call limit
  std::chrono::milliseconds connect_timeout{10'000};
  std::string script;  // scripted: path of the YAML script (relative paths resolved by the loader)
  // `circuit_breaker:`: when calls to this provider fail fast (circuit_breaker.hpp).
  int breaker_failures = 5;                            // this many failures ...
  std::chrono::milliseconds breaker_window{30'000};    // ... within this window open it
  std::chrono::milliseconds breaker_open_for{30'000};  // then one probe call after this long
  // Set when `circuit_breaker:` is written; offline and scripted providers have no breaker
  // unless it is (their failures are deliberate, or bugs no waiting fixes).
  bool breaker_configured = false;
};

// A name clients and agents use (`model:` in /v1 requests and agent YAML), routed to a provider.
struct ModelRoute {
  std::string name;            // key under `models:`
  std::string provider;        // key under `providers:`
  std::string upstream_model;  // the name sent to the provider
  double input_price_per_mtok = 0;   // USD per million prompt tokens
  double output_price_per_mtok = 0;  // USD per million completion tokens
  // Where the price came from: "config" (the route's `price:`), "prices" (the `prices:`
  // section), "default" (price_table.cpp), "free"; empty until ApplyPrices ran.
  std::string price_source;
};

}  // namespace steward::models
