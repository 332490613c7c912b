#include "app/metrics_command.hpp"

#include <cstdio>

#include "app/chat_client.hpp"
#include "telemetry/logging.hpp"
#include "telemetry/success_metrics.hpp"

namespace steward::app {

namespace {

using nlohmann::json;

constexpr size_t kTitleColumn = 38;

std::string Format(const char* fmt, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, value);
  return buf;
}

std::string Value(const json& metric) {
  const json& v = metric.value("value", json(nullptr));
  if (!v.is_number()) return "—";
  const double x = v.get<double>();
  const std::string unit = metric.value("unit", "");
  if (unit == "ratio") return Format("%.1f%%", x * 100);
  if (unit == "ms") return x >= 10000 ? Format("%.1f s", x / 1000) : Format("%.0f ms", x);
  return Format("%g", x);
}

std::string Detail(const std::string& key, const json& value) {
  if (value.is_null()) return key + " —";
  if (value.is_number_integer()) return key + " " + std::to_string(value.get<int64_t>());
  if (value.is_number()) {
    const double x = value.get<double>();
    if (key.ends_with("_ms")) return key.substr(0, key.size() - 3) + " " + Format("%.0f ms", x);
    if (key.ends_with("_s")) {
      const std::string name = key.substr(0, key.size() - 2);
      if (x >= 86400) return name + " " + Format("%.1f days", x / 86400);
      if (x >= 3600) return name + " " + Format("%.1f h", x / 3600);
      return name + " " + Format("%.0f s", x);
    }
    return key + " " + Format("%g", x);
  }
  if (value.is_string()) return key + " " + value.get<std::string>();
  if (value.is_object()) {
    std::string inner;
    for (const auto& [k, v] : value.items()) inner += (inner.empty() ? "" : ", ") + Detail(k, v);
    return key + " {" + inner + "}";
  }
  return key + " " + value.dump();
}

}  // namespace

std::string RenderSuccessMetrics(const json& summary, bool explain) {
  std::string out;
  const json window = summary.value("window", json::object());
  const json& since = window.value("since", json(nullptr));
  out += "Steward success metrics, ";
  out += since.is_string() ? "since " + since.get<std::string>() + " (" + window.value("since_arg", "") + ")"
                           : std::string("all stored data");
  out += ", until " + window.value("until", std::string("now")) + "\n\n";
  const json metrics = summary.value("metrics", json::object());
  for (std::string_view name : telemetry::kSuccessMetricNames) {
    auto it = metrics.find(std::string(name));
    if (it == metrics.end()) continue;
    const json& m = *it;
    std::string title = m.value("title", std::string(name)) + " ";
    while (title.size() < kTitleColumn) title += '.';
    std::string value = Value(m);
    while (value.size() < 9) value = " " + value;
    out += "  " + title + value + "   n=" + std::to_string(m.value("n", int64_t{0})) + " " + m.value("n_of", "") +
           "   (target " + m.value("target", "") + ")\n";
    std::string details;
    const json details_object = m.value("details", json::object());  // items() must not outlive it
    for (const auto& [k, v] : details_object.items()) {
      details += (details.empty() ? "" : ", ") + Detail(k, v);
    }
    if (!details.empty()) out += "      " + details + "\n";
    if (explain) out += "      how: " + m.value("how", "") + "\n";
  }
  if (!explain) out += "\n(--explain says how each is computed)\n";
  return out;
}

int RunMetricsCommand(const std::string& base_url, const std::string& token, const std::string& since, bool as_json,
                      bool explain, std::ostream& out, std::ostream& err) {
  if (auto parsed = telemetry::ParseSince(since); !parsed.ok()) {
    err << "steward: --since: " << parsed.error().message << "\n";
    return 2;
  }
  auto summary = GetJson(base_url, token, "/api/metrics/summary" + (since.empty() ? "" : "?since=" + since));
  if (!summary.ok()) {
    err << "steward: " << telemetry::Redact(summary.error().ToString()) << "\n";
    return 1;
  }
  if (as_json) {
    out << summary->dump(2) << "\n";
  } else {
    out << RenderSuccessMetrics(*summary, explain);
  }
  return 0;
}

}  // namespace steward::app
