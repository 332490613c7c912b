#include "app/schedules_command.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace steward::app {
namespace {

using ::testing::HasSubstr;

TEST(RenderSchedules, PrintsOneRowPerScheduleWithNextAndLastFire) {
  const auto answer = nlohmann::json::parse(R"({"schedules": [
    {"workflow": "daily_research", "cron": "0 8 * * *", "timezone": "Europe/Berlin", "missed": "catch_up",
     "max_catch_up": 1, "next_fire": "2026-11-27T07:00:00Z", "next_fire_local": "2026-11-27 08:00:00 CET",
     "last_fire": "2026-11-26T07:00:00Z", "last_status": "started", "last_run_id": "r1", "last_error": null},
    {"workflow": "beat", "cron": "*/5 * * * * *", "timezone": "UTC", "missed": "skip", "max_catch_up": 1,
     "next_fire": null, "next_fire_local": null, "last_fire": "2026-11-26T09:00:05Z", "last_status": "failed",
     "last_run_id": "r2", "last_error": "no workflow 'beat'"},
    {"workflow": "fresh", "cron": "@daily", "timezone": "UTC", "missed": "skip", "max_catch_up": 1,
     "next_fire": "2026-11-27T00:00:00Z", "next_fire_local": "2026-11-27 00:00:00 UTC", "last_fire": null}
  ]})");
  const std::string out = RenderSchedules(answer);
  EXPECT_THAT(out, HasSubstr("WORKFLOW        CRON           TIME ZONE      MISSED       NEXT FIRE                "
                             "LAST FIRE\n"));
  EXPECT_THAT(out, HasSubstr("daily_research  0 8 * * *      Europe/Berlin  catch_up(1)  2026-11-27 08:00:00 CET  "
                             "2026-11-26T07:00:00Z started\n"));
  EXPECT_THAT(out, HasSubstr("beat            */5 * * * * *  UTC            skip         never                    "
                             "2026-11-26T09:00:05Z failed: no workflow 'beat'\n"));
  EXPECT_THAT(out, HasSubstr("fresh           @daily         UTC            skip         2026-11-27 00:00:00 UTC  -\n"));
}

TEST(RenderSchedules, SaysWhenNothingIsScheduled) {
  EXPECT_EQ(RenderSchedules(nlohmann::json::parse(R"({"schedules": []})")),
            "no workflow has a schedule (add `schedule:` to a workflow)\n");
}

}  // namespace
}  // namespace steward::app
