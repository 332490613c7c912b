#include "telemetry/instruments.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

#include "telemetry/tracer.hpp"

namespace steward::telemetry::metrics {

namespace {

// Seconds. HTTP: most answers take milliseconds, chat streams seconds to minutes.
const std::vector<double> kHttpBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,   0.5,   1,      2.5,   5,    10,   30,   60, 300};
// Model calls: a local or scripted model answers in milliseconds, a hosted one in seconds.
const std::vector<double> kModelBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                           1,     2.5,   5,    10,    20,   30,  60,  120, 300};
// Tool calls: built-in tools take microseconds to milliseconds; a call held for approval waits
// for the owner (minutes).
const std::vector<double> kToolBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60, 300};

struct Families {
  CounterFamily& http_requests;
  HistogramFamily& http_duration;
  CounterFamily& model_calls;
  HistogramFamily& model_duration;
  HistogramFamily& model_first_token;
  CounterFamily& tool_calls;
  HistogramFamily& tool_duration;
  CounterFamily& errors;
  GaugeFamily& budget_limit;
  GaugeFamily& budget_spent;
  GaugeFamily& budget_state;
  CounterFamily& budget_actions;
  GaugeFamily& breaker_state;
  CounterFamily& breaker_rejections;
};

void CollectProcess(std::vector<MetricFamily>& out);
void CollectTracer(std::vector<MetricFamily>& out);

Families& F() {
  static Families* families = [] {
    MetricsRegistry& r = Metrics();
    auto* f = new Families{
        r.Counter("steward_http_requests_total", "HTTP requests answered, by method, route template and status.",
                  {"method", "route", "status"}),
        r.Histogram("steward_http_request_duration_seconds",
                    "Time from a request's dispatch to the end of its answer (for streams: the whole stream).",
                    {"method", "route"}, kHttpBuckets),
        r.Counter("steward_model_calls_total", "Model calls through the model gateway, by model, provider and status.",
                  {"model", "provider", "status"}),
        r.Histogram("steward_model_call_duration_seconds", "Duration of model calls through the model gateway.",
                    {"model", "provider", "status"}, kModelBuckets),
        r.Histogram("steward_model_time_to_first_chunk_seconds",
                    "Time from a model call's start to its first streamed chunk.", {"model", "provider"},
                    kModelBuckets),
        r.Counter("steward_tool_calls_total",
                  "Tool calls through the tool hub (refused, failed and not-approved calls included), by tool, "
                  "server and success.",
                  {"tool", "server", "success"}),
        r.Histogram("steward_tool_call_duration_seconds",
                    "Duration of tool calls through the tool hub, approval waits included.",
                    {"tool", "server", "success"}, kToolBuckets),
        r.Counter("steward_errors_total", "Errors by component (http, model, tool, run) and error code.",
                  {"component", "code"}),
        r.Gauge("steward_budget_limit_usd", "Spending limit of each budget in USD.", {"scope", "key"}),
        r.Gauge("steward_budget_spent_usd", "Spending counted against each budget in USD.", {"scope", "key"}),
        r.Gauge("steward_budget_state",
                "State of each budget: 0 ok, 1 warning (70%), 2 approval required (90%), 3 exhausted (100%).",
                {"scope", "key"}),
        r.Counter("steward_budget_actions_total",
                  "Budget interventions by scope and action (warned, approval_required, refused).",
                  {"scope", "action"}),
        r.Gauge("steward_circuit_breaker_state", "Circuit breaker per model provider: 0 closed, 1 half-open, 2 open.",
                {"provider"}),
        r.Counter("steward_circuit_breaker_rejections_total",
                  "Model calls failed fast because their provider's breaker was open.", {"provider"}),
    };
    r.AddCollector(CollectProcess);
    r.AddCollector(CollectTracer);
    return f;
  }();
  return *families;
}

const double kStartTime = static_cast<double>(std::time(nullptr));

MetricFamily Single(std::string name, std::string help, MetricType type, double value) {
  MetricFamily f{std::move(name), std::move(help), type, {}};
  f.samples.push_back({"", {}, value});
  return f;
}

// process_* as the Prometheus client libraries name them, from /proc/self.
void CollectProcess(std::vector<MetricFamily>& out) {
  out.push_back(Single("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.",
                       MetricType::kGauge, kStartTime));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name, which is in parentheses and may contain spaces.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::vector<std::string> fields;
    for (std::string field; rest >> field;) fields.push_back(field);
    // fields[0] is field 3 (state); utime = 14, stime = 15, rss = 24 (in pages).
    if (fields.size() > 21) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      const double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
      out.push_back(Single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                           MetricType::kCounter, cpu));
      out.push_back(Single("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::kGauge,
                           std::stod(fields[21]) * static_cast<double>(sysconf(_SC_PAGESIZE))));
    }
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    double fds = 0;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++fds;
    }
    closedir(dir);
    out.push_back(Single("process_open_fds", "Number of open file descriptors.", MetricType::kGauge, fds - 1));
  }
}

void CollectTracer(std::vector<MetricFamily>& out) {
  const std::shared_ptr<Tracer> tracer = ActiveTracer();
  MetricFamily spans{"steward_spans_total",
                     "Trace spans by outcome: recorded, exported, or dropped (queue full, sampling, shutdown). "
                     "No series while tracing is off.",
                     MetricType::kCounter,
                     {}};
  MetricFamily errors{"steward_span_export_errors_total", "Failed span export batches (any exporter).",
                      MetricType::kCounter, {}};
  if (tracer) {
    const TracerStats s = tracer->stats();
    for (const auto& [outcome, value] : {std::pair{"recorded", s.recorded},
                                         {"exported", s.exported},
                                         {"dropped_queue_full", s.dropped_queue_full},
                                         {"dropped_sampling", s.dropped_sampling},
                                         {"dropped_shutdown", s.dropped_shutdown}}) {
      spans.samples.push_back({"", {{"outcome", outcome}}, static_cast<double>(value)});
    }
    errors.samples.push_back({"", {}, static_cast<double>(s.export_errors)});
  }
  out.push_back(std::move(spans));
  out.push_back(std::move(errors));
}

std::string StatusText(int status) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%d", status);
  return buf;
}

}  // namespace

void RegisterStewardMetrics() { (void)F(); }

void HttpRequest(std::string_view method, std::string_view route, int status, double seconds) {
  Families& f = F();
  const std::string code = StatusText(status);
  f.http_requests.With({method, route, code}).Inc();
  f.http_duration.With({method, route}).Observe(seconds);
  if (status >= 500) f.errors.With({"http", code}).Inc();
}

void ModelCall(std::string_view model, std::string_view provider, std::string_view status, double seconds,
               double first_token_seconds) {
  Families& f = F();
  f.model_calls.With({model, provider, status}).Inc();
  f.model_duration.With({model, provider, status}).Observe(seconds);
  if (first_token_seconds >= 0) f.model_first_token.With({model, provider}).Observe(first_token_seconds);
  if (status != "ok") f.errors.With({"model", status}).Inc();
}

void ToolCall(std::string_view tool, std::string_view server, bool success, std::string_view error_type,
              double seconds) {
  Families& f = F();
  const std::string_view ok = success ? "true" : "false";
  f.tool_calls.With({tool, server, ok}).Inc();
  f.tool_duration.With({tool, server, ok}).Observe(seconds);
  if (!success) f.errors.With({"tool", error_type.empty() ? "tool_error" : error_type}).Inc();
}

void Error(std::string_view component, std::string_view code) { F().errors.With({component, code}).Inc(); }

void SetBudget(std::string_view scope, std::string_view key, double limit_usd, double spent_usd, BudgetState state) {
  Families& f = F();
  f.budget_limit.With({scope, key}).Set(limit_usd);
  f.budget_spent.With({scope, key}).Set(spent_usd);
  f.budget_state.With({scope, key}).Set(static_cast<double>(state));
}

void RemoveBudget(std::string_view scope, std::string_view key) {
  Families& f = F();
  f.budget_limit.Remove({scope, key});
  f.budget_spent.Remove({scope, key});
  f.budget_state.Remove({scope, key});
}

void BudgetAction(std::string_view scope, std::string_view action) { F().budget_actions.With({scope, action}).Inc(); }

void SetCircuitBreaker(std::string_view provider, BreakerState state) {
  F().breaker_state.With({provider}).Set(static_cast<double>(state));
}

void CircuitBreakerRejected(std::string_view provider) { F().breaker_rejections.With({provider}).Inc(); }

}  // namespace steward::telemetry::metrics
