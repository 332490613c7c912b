#include "app/scheduler_setup.hpp"

#include "engine/workflow_engine.hpp"

namespace steward::app {

Result<std::unique_ptr<engine::Scheduler>> StartScheduler(
    store::Database& db, const std::map<std::string, engine::WorkflowDefinition>& workflows,
    engine::WorkflowEngine& workflow_engine) {
  auto scheduled = engine::ScheduledWorkflows(workflows);
  if (!scheduled.ok()) return scheduled.error();
  if (scheduled->empty()) return std::unique_ptr<engine::Scheduler>();
  engine::SchedulerOptions options;
  options.schedules = std::move(*scheduled);
  auto start = [&workflow_engine](const engine::ScheduledFire& fire) -> Result<std::string> {
    return workflow_engine.StartWorkflowRun(fire.workflow, nlohmann::json::object(), "schedule", fire.run_id);
  };
  auto scheduler = std::make_unique<engine::Scheduler>(db, std::move(options), std::move(start));
  STEWARD_RETURN_IF_ERROR(scheduler->Start());
  return scheduler;
}

Result<nlohmann::json> SchedulesJson(const engine::Scheduler* scheduler) {
  nlohmann::json out = nlohmann::json::array();
  if (scheduler == nullptr) return out;
  auto list = scheduler->List();
  if (!list.ok()) return list.error();
  for (const auto& s : *list) out.push_back(s.ToJson());
  return out;
}

}  // namespace steward::app
