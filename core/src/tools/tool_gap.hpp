#pragma once
// Tool-gap reports: when an agent cannot finish a task with the tools it has, it ends its answer
// with a fenced ```steward-tool-gap block holding a JSON report in the shape of
// docs/tool-gap-report.schema.json. The chat service extracts it from the final answer,
// validates it against that schema, stores it (table tool_gap_report) and adds it to `done`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/result.hpp"
#include "store/database.hpp"

namespace steward::tools {

// The info string of the fence: ```steward-tool-gap.
inline constexpr std::string_view kToolGapFence = "steward-tool-gap";

// docs/tool-gap-report.schema.json, compiled in (a unit test keeps the two identical).
[[nodiscard]] const nlohmann::json& ToolGapSchema();

// A report found in an answer.
struct ToolGapReport {
  nlohmann::json report;            // the block's JSON; {"raw": text} when it is not JSON
  bool valid = false;               // conforms to ToolGapSchema()
  std::vector<std::string> errors;  // "report.missing_tools[0].estimated_risk: expected one of ..."
};

// The last ```steward-tool-gap block of `answer`, parsed and validated; nullopt when it has
// none. A block whose closing fence is missing runs to the end of the answer.
[[nodiscard]] std::optional<ToolGapReport> ExtractToolGapReport(std::string_view answer);

// `report` checked against ToolGapSchema(): the violations, empty when valid.
[[nodiscard]] std::vector<std::string> ValidateToolGapReport(const nlohmann::json& report);

// A stored report, as GET /api/tool-gaps lists it.
struct StoredToolGapReport {
  int64_t id = 0;
  std::string run_id;      // empty when none
  std::string session_id;  // empty when none
  nlohmann::json report;
  bool valid = false;
  std::vector<std::string> errors;
  std::string created_at;  // RFC 3339 UTC
};

// {id, run_id, session_id, report, valid, errors, created_at}.
[[nodiscard]] nlohmann::json ToJson(const StoredToolGapReport& stored);

// Inserts `report` inside the caller's transaction (the one that stores the answer); returns
// the new row id. Throws what libpqxx throws, as Database::Transact expects.
int64_t InsertToolGapReport(pqxx::transaction_base& tx, const std::string& run_id,
                            const std::string& session_id, const ToolGapReport& report);

// Stored reports, newest first.
[[nodiscard]] Result<std::vector<StoredToolGapReport>> ListToolGapReports(store::Database& db, int limit,
                                                                          int offset = 0);

}  // namespace steward::tools
