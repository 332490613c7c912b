#include "telemetry/otlp_batch.hpp"

#include <algorithm>
#include <iterator>
#include <map>

namespace steward::telemetry {

namespace {

constexpr const char* kCoreScope = "steward";

}  // namespace

std::vector<OtlpResourceGroup> GroupOtlpBatch(const std::vector<Span>& spans, const OtlpResource& core) {
  std::vector<OtlpResourceGroup> groups;
  std::map<std::string, size_t, std::less<>> by_service;  // service → index in groups
  for (const Span& span : spans) {
    const std::string& service = span.service.empty() ? core.service_name : span.service;
    auto [it, inserted] = by_service.try_emplace(service, groups.size());
    if (inserted) {
      OtlpResourceGroup group;
      group.resource = {{"service.name", service}};
      if (service == core.service_name) {
        if (!core.service_version.empty()) group.resource.emplace("service.version", core.service_version);
        group.resource.emplace("telemetry.sdk.name", std::string("steward"));
        group.resource.emplace("telemetry.sdk.language", std::string("cpp"));
      }
      groups.push_back(std::move(group));
    }
    auto& scopes = groups[it->second].scopes;
    const std::string scope = span.scope.empty() ? kCoreScope : span.scope;
    auto s = std::find_if(scopes.begin(), scopes.end(), [&](const OtlpScopeGroup& g) { return g.name == scope; });
    if (s == scopes.end()) {
      OtlpScopeGroup group{scope, scope == kCoreScope ? core.service_version : std::string(), {}};
      scopes.push_back(std::move(group));
      s = std::prev(scopes.end());
    }
    s->spans.push_back(&span);
  }
  return groups;
}

}  // namespace steward::telemetry
