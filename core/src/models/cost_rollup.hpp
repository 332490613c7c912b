#pragma once
// Cost roll-ups from model_call (the views and functions of migration 0011): per run with its
// child runs, per agent, workflow run, user and UTC day. For `steward runs`, `steward trace` and
// the API.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "store/database.hpp"

namespace steward::models {

struct CostTotals {
  int64_t model_calls = 0;  // every recorded call, refused and failed ones included
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double cost_usd = 0;
};

// Per run id: the run's calls and those of every run under it (a workflow's agent steps and
// sub-workflows). Ids that are not uuids or have no calls map to zero totals.
[[nodiscard]] Result<std::map<std::string, CostTotals>> RunCosts(store::Database& db,
                                                                 const std::vector<std::string>& run_ids);

// One row of a roll-up: `key` is the agent, the workflow name, or "owner"; `day` is YYYY-MM-DD (UTC).
struct CostRow {
  std::string key;
  std::string day;
  CostTotals totals;
};

enum class CostGrouping { kAgentDay, kUserDay, kModelDay };

// The newest `days` days (UTC) of a roll-up, newest first.
[[nodiscard]] Result<std::vector<CostRow>> CostByDay(store::Database& db, CostGrouping grouping, int days = 30);

}  // namespace steward::models
