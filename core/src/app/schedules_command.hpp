#pragma once
// `steward schedules`: each scheduled workflow with its next and last fire, from
// GET /api/schedules.

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace steward::app {

// A table for an /api/schedules answer ({schedules: [...]}):
//   WORKFLOW        CRON       TIME ZONE      MISSED       NEXT FIRE                LAST FIRE
//   daily_research  0 8 * * *  Europe/Berlin  catch_up(1)  2026-11-27 08:00:00 CET  2026-11-26T07:00:00Z started
// or a line saying no workflow is scheduled.
[[nodiscard]] std::string RenderSchedules(const nlohmann::json& answer);

// Fetches /api/schedules and prints it (the raw JSON with `as_json`) to `out`, errors to `err`;
// returns the exit status.
int RunSchedulesCommand(const std::string& base_url, const std::string& token, bool as_json, std::ostream& out,
                        std::ostream& err);

}  // namespace steward::app
