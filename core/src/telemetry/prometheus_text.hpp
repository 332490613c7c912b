#pragma once
// The Prometheus text exposition format (version 0.0.4), what GET /metrics answers:
//   # HELP name text        (backslash and newline escaped)
//   # TYPE name counter|gauge|histogram
//   name{label="value",...} 42
// Label values escape backslash, double quote and newline; invalid UTF-8 becomes U+FFFD.
// Values are integers when they are whole numbers, else the shortest decimal that reads back
// exactly; +Inf, -Inf and NaN as Prometheus spells them.

#include <string>
#include <string_view>
#include <vector>

#include "telemetry/metrics.hpp"

namespace steward::telemetry {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Appends `families` in order; a family without samples still gets its HELP and TYPE lines.
void AppendPrometheusText(const std::vector<MetricFamily>& families, std::string& out);

// Helpers, exposed for tests.
[[nodiscard]] std::string EscapeLabelValue(std::string_view value);
[[nodiscard]] std::string EscapeHelp(std::string_view help);
[[nodiscard]] std::string FormatMetricValue(double value);

}  // namespace steward::telemetry
