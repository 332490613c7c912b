#pragma once
// GET /api/schedules: every scheduled workflow with its cron expression, time zone, missed-run
// policy, next fire (UTC and local) and last recorded fire (engine/scheduler.hpp).

#include <functional>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "gateway/api.hpp"

namespace steward::gateway {

// `list` returns the answer's `schedules` array; it is called per request (after start-up) and
// may return an empty array when no workflow is scheduled.
void RegisterScheduleRoutes(HttpServer& server, ApiContext& ctx, std::function<Result<nlohmann::json>()> list);

}  // namespace steward::gateway
