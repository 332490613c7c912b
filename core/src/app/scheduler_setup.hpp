#pragma once
// Wires engine/scheduler.hpp into the server: the scheduled workflows of the config fire through
// the workflow engine with trigger "schedule", and GET /api/schedules lists them.

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "engine/scheduler.hpp"
#include "engine/workflow_definition.hpp"
#include "store/database.hpp"

namespace steward::engine {
class WorkflowEngine;
}

namespace steward::app {

// Starts a scheduler for the workflows that have a `schedule:`, starting their runs through
// `engine` (the fire's run id, trigger "schedule", no inputs: declared defaults apply). Null when
// no workflow is scheduled. `engine` must outlive the scheduler; stop the scheduler first.
[[nodiscard]] Result<std::unique_ptr<engine::Scheduler>> StartScheduler(
    store::Database& db, const std::map<std::string, engine::WorkflowDefinition>& workflows,
    engine::WorkflowEngine& engine);

// The `schedules` array of GET /api/schedules: empty when `scheduler` is null.
[[nodiscard]] Result<nlohmann::json> SchedulesJson(const engine::Scheduler* scheduler);

}  // namespace steward::app
