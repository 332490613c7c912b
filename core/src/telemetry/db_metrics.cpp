#include "telemetry/db_metrics.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

namespace steward::telemetry {

namespace {

struct Snapshot {
  MetricFamily runs{"steward_runs", "Runs in the database by kind and status (durable; read at scrape time).",
                    MetricType::kGauge, {}};
  MetricFamily steps{"steward_workflow_steps",
                     "Workflow steps in the database by status (durable; no series before the workflow_step table "
                     "exists).",
                     MetricType::kGauge, {}};
  MetricFamily approvals{"steward_approvals", "Approvals in the database by status and risk tier (durable).",
                         MetricType::kGauge, {}};
  MetricFamily tokens{"steward_model_tokens_total",
                      "Tokens of recorded model calls by model and type (prompt, completion) (durable).",
                      MetricType::kCounter, {}};
  MetricFamily cost{"steward_model_cost_usd_total", "Cost of recorded model calls in USD by model (durable).",
                    MetricType::kCounter, {}};
  MetricFamily stored_calls{"steward_model_calls_recorded_total",
                            "Model calls recorded in the database by model and status (durable).",
                            MetricType::kCounter, {}};
};

}  // namespace

void CollectDatabaseMetrics(store::Database& db, std::vector<MetricFamily>& out) {
  const auto start = std::chrono::steady_clock::now();
  auto read = db.Read([](pqxx::read_transaction& tx) {
    Snapshot s;
    for (const auto& row : tx.exec("SELECT kind, status, count(*) FROM run GROUP BY 1, 2 ORDER BY 1, 2")) {
      s.runs.samples.push_back({"", {{"kind", row[0].c_str()}, {"status", row[1].c_str()}}, row[2].as<double>()});
    }
    for (const auto& row : tx.exec("SELECT status, tier, count(*) FROM approval GROUP BY 1, 2 ORDER BY 1, 2")) {
      s.approvals.samples.push_back(
          {"", {{"status", row[0].c_str()}, {"tier", row[1].c_str()}}, row[2].as<double>()});
    }
    for (const auto& row : tx.exec(
             "SELECT model, sum(prompt_tokens)::float8, sum(completion_tokens)::float8, sum(cost_usd)::float8 "
             "FROM model_call GROUP BY 1 ORDER BY 1")) {
      const std::string model = row[0].c_str();
      s.tokens.samples.push_back({"", {{"model", model}, {"type", "prompt"}}, row[1].as<double>()});
      s.tokens.samples.push_back({"", {{"model", model}, {"type", "completion"}}, row[2].as<double>()});
      s.cost.samples.push_back({"", {{"model", model}}, row[3].as<double>()});
    }
    for (const auto& row : tx.exec("SELECT model, status, count(*) FROM model_call GROUP BY 1, 2 ORDER BY 1, 2")) {
      s.stored_calls.samples.push_back(
          {"", {{"model", row[0].c_str()}, {"status", row[1].c_str()}}, row[2].as<double>()});
    }
    // The workflow_step table arrives with migration 0009; a core built before it still scrapes.
    if (!tx.exec("SELECT to_regclass('workflow_step')")[0][0].is_null()) {
      for (const auto& row : tx.exec("SELECT status, count(*) FROM workflow_step GROUP BY 1 ORDER BY 1")) {
        s.steps.samples.push_back({"", {{"status", row[0].c_str()}}, row[1].as<double>()});
      }
    }
    return s;
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MetricFamily up{"steward_database_up", "Whether the last scrape could read the database (1) or not (0).",
                  MetricType::kGauge, {}};
  up.samples.push_back({"", {}, read.ok() ? 1.0 : 0.0});
  MetricFamily took{"steward_database_scrape_seconds", "Time the last scrape spent reading the database.",
                    MetricType::kGauge, {}};
  took.samples.push_back({"", {}, seconds});
  out.push_back(std::move(up));
  out.push_back(std::move(took));
  if (!read.ok()) {
    spdlog::warn("/metrics: could not read the database: {}", read.error().ToString());
    return;
  }
  Snapshot& s = *read;
  for (MetricFamily* f : {&s.runs, &s.steps, &s.approvals, &s.tokens, &s.cost, &s.stored_calls}) {
    out.push_back(std::move(*f));
  }
}

MetricCollector DatabaseMetricsCollector(store::Database& db) {
  return [&db](std::vector<MetricFamily>& out) { CollectDatabaseMetrics(db, out); };
}

}  // namespace steward::telemetry
