#pragma once
// The durable families of /metrics, computed from PostgreSQL at scrape time so they survive
// restarts and count what every process sharing the database did: runs by kind and status,
// workflow steps by status (once migration 0009's workflow_step exists), approvals by status
// and tier, tokens and cost by model (model_call). A scrape costs a few GROUP BY queries.
//
// When the database does not answer, the families are left out and steward_database_up is 0.

#include "store/database.hpp"
#include "telemetry/metrics.hpp"

namespace steward::telemetry {

// Adds the database families to `out`. Thread-safe (the Database is).
void CollectDatabaseMetrics(store::Database& db, std::vector<MetricFamily>& out);

// A collector for MetricsRegistry::AddCollector; `db` must outlive the registration.
[[nodiscard]] MetricCollector DatabaseMetricsCollector(store::Database& db);

}  // namespace steward::telemetry
