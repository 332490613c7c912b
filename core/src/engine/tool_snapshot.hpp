#pragma once
// The tools a run could use, stored with the run (table tool_snapshot, migration 0003), so a
// run can always be explained by what its agent saw, whatever the servers offer later.

#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "common/result.hpp"
#include "store/database.hpp"
#include "tools/tool.hpp"

namespace steward::engine {

// Stores `tools` as run `run_id`'s snapshot, inside `tx` (the transaction that inserts the run
// row, so a run never exists without its snapshot). One statement whatever the tool count.
void InsertToolSnapshot(pqxx::work& tx, const std::string& run_id,
                        const std::vector<tools::ToolInfo>& tools);

// A run's snapshot, sorted by name; empty for a run that had no tools.
[[nodiscard]] Result<std::vector<tools::ToolInfo>> LoadToolSnapshot(store::Database& db,
                                                                     const std::string& run_id);

}  // namespace steward::engine
