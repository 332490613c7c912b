#include "app/trace_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "app/chat_client.hpp"
#include "telemetry/logging.hpp"
#include "telemetry/span_tree.hpp"

namespace steward::app {

namespace {

using nlohmann::json;

constexpr size_t kMarkerColumn = 64;
constexpr size_t kErrorChars = 120;

std::string Format(const char* fmt, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, value);
  return buf;
}

std::string Duration(double ms) {
  if (ms >= 100) return Format("%.0f ms", ms);
  if (ms >= 0.1) return Format("%.1f ms", ms);
  return Format("%.2f ms", ms);
}

std::string Cost(double usd) {
  if (usd == 0) return "$0";
  return usd >= 0.01 ? Format("$%.2f", usd) : usd >= 0.0001 ? Format("$%.4f", usd) : Format("$%.6f", usd);
}

std::optional<double> Number(const json& attributes, const char* key) {
  auto it = attributes.find(key);
  if (it == attributes.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string String(const json& attributes, const char* key) {
  auto it = attributes.find(key);
  return it != attributes.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Text columns count code points, not bytes ("├─" is one column per character).
size_t Columns(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string Line(const json& span) {
  const json attributes = span.value("attributes", json::object());
  const bool root = span["parent_span_id"].is_null();
  const bool worker = !String(attributes, "steward.worker.runtime").empty();
  std::string label = (worker ? "worker: " : "") + span.value("name", std::string("?"));
  if (span.value("name", "") == "chat.run" || span.value("name", "") == "agent.run") {
    const std::string agent = String(attributes, "agent.id");
    if (!agent.empty()) label += " " + agent;
  }
  std::vector<std::string> details = {Duration(span.value("duration_ms", 0.0))};
  const auto in = Number(attributes, "gen_ai.usage.input_tokens");
  const auto out = Number(attributes, "gen_ai.usage.output_tokens");
  if ((in && *in > 0) || (out && *out > 0)) {
    details.push_back(Format("%.0f", in.value_or(0)) + "→" + Format("%.0f", out.value_or(0)) + " tokens");
  }
  const auto cost = Number(attributes, "steward.cost_usd");
  if (cost && (*cost > 0 || root)) details.push_back(Cost(*cost));
  if (const auto confidence = Number(attributes, "steward.confidence")) details.push_back(Format("confidence %.0f%%", *confidence));
  // A LangGraph node's loop iteration (worker spans `langgraph.node {node}`).
  if (const auto iteration = Number(attributes, "langgraph.iteration")) details.push_back(Format("iteration %.0f", *iteration));
  const auto count = Number(attributes, "tool.result_count") ? Number(attributes, "tool.result_count")
                                                             : Number(attributes, "memory.result_count");
  if (count) details.push_back(Format("%.0f", *count) + (*count == 1 ? " result" : " results"));
  if (const std::string risk = String(attributes, "risk.level"); risk == "medium" || risk == "high") {
    details.push_back(risk + " risk");
  }
  std::string line = label + " (";
  for (size_t i = 0; i < details.size(); ++i) line += (i ? ", " : "") + details[i];
  line += ")";
  if (span.value("status", "") == "error") {
    std::string message = span.value("status_message", std::string());
    if (message.empty()) message = String(attributes, "error.type");
    if (Columns(message) > kErrorChars) message = message.substr(0, kErrorChars) + "…";
    line += "  ✗ " + (message.empty() ? std::string("error") : message);
  }
  return line;
}

}  // namespace

std::string RenderTrace(const json& trace) {
  const json spans = trace.value("spans", json::array());
  const json run = trace.value("run", json::object());
  std::string out = "trace " + trace.value("trace_id", std::string("?")) + "  (run " + run.value("id", std::string("?")) +
                    ", " + run.value("status", std::string("?")) + ")\n";
  if (spans.empty()) {
    return out + "no spans stored for this run (tracing was off, the trace was not sampled, or it has not ended)\n";
  }
  std::vector<telemetry::SpanLink> links;
  for (const json& s : spans) {
    links.push_back({s.value("span_id", ""), s["parent_span_id"].is_string() ? s["parent_span_id"].get<std::string>() : "",
                     s.value("start_ns", int64_t{0})});
  }
  for (const telemetry::TreeRow& row : telemetry::BuildSpanTree(links)) {
    const json& span = spans[row.index];
    std::string line = row.prefix + Line(span);
    const std::string runtime = String(span.value("attributes", json::object()), "steward.worker.runtime");
    if (!runtime.empty()) {
      const size_t width = Columns(line);
      line += std::string(width < kMarkerColumn ? kMarkerColumn - width : 2, ' ') + "[" + runtime + "]";
    }
    out += line + "\n";
  }
  if (const json cost = trace.value("cost", json::object()); cost.value("model_calls", int64_t{0}) > 0) {
    out += "total " + Cost(cost.value("cost_usd", 0.0)) + " in " + std::to_string(cost.value("model_calls", int64_t{0})) +
           " model calls (" + std::to_string(cost.value("prompt_tokens", int64_t{0})) + "\u2192" +
           std::to_string(cost.value("completion_tokens", int64_t{0})) + " tokens, child runs included)\n";
  }
  return out;
}

int RunTraceCommand(const std::string& base_url, const std::string& token, const std::string& run_id, std::ostream& out,
                    std::ostream& err) {
  auto trace = GetJson(base_url, token, "/api/runs/" + run_id + "/trace");
  if (!trace.ok()) {
    err << "steward: " << telemetry::Redact(trace.error().ToString()) << "\n";
    return 1;
  }
  out << RenderTrace(*trace);
  return 0;
}

}  // namespace steward::app
