#include "engine/cron_expression.hpp"

#include <set>
#include <sstream>

#include <date/date.h>
#include <gtest/gtest.h>

namespace steward::engine {
namespace {

using std::chrono::sys_seconds;

sys_seconds Utc(const std::string& text) {
  std::istringstream in(text);
  sys_seconds t;
  in >> date::parse("%FT%TZ", t);
  EXPECT_FALSE(in.fail()) << text;
  return t;
}

std::string Fmt(sys_seconds t) { return date::format("%FT%TZ", t); }

std::vector<std::string> Next(const std::string& expr, const std::string& tz, const std::string& after, size_t n) {
  auto cron = CronExpression::Parse(expr, tz);
  EXPECT_TRUE(cron.ok()) << expr << ": " << (cron.ok() ? "" : cron.error().ToString());
  if (!cron.ok()) return {};
  std::vector<std::string> out;
  for (auto t : cron->NextN(Utc(after), n)) out.push_back(Fmt(t));
  return out;
}

struct NextCase {
  std::string name;
  std::string expr;
  std::string tz;
  std::string after;  // UTC
  std::vector<std::string> want;  // UTC
};

class NextAfterTest : public ::testing::TestWithParam<NextCase> {};

TEST_P(NextAfterTest, ComputesFireTimes) {
  const NextCase& c = GetParam();
  EXPECT_EQ(Next(c.expr, c.tz, c.after, c.want.size()), c.want) << c.expr << " in " << c.tz;
}

INSTANTIATE_TEST_SUITE_P(
    Cron, NextAfterTest,
    ::testing::Values(
        NextCase{"every_minute", "* * * * *", "UTC", "2026-11-26T09:00:30Z",
                 {"2026-11-26T09:01:00Z", "2026-11-26T09:02:00Z"}},
        NextCase{"strictly_after", "0 9 * * *", "UTC", "2026-11-26T09:00:00Z", {"2026-11-27T09:00:00Z"}},
        NextCase{"every_second", "* * * * * *", "UTC", "2026-11-26T23:59:58Z",
                 {"2026-11-26T23:59:59Z", "2026-11-27T00:00:00Z", "2026-11-27T00:00:01Z"}},
        NextCase{"seconds_step", "*/20 * * * * *", "UTC", "2026-11-26T09:00:41Z",
                 {"2026-11-26T09:01:00Z", "2026-11-26T09:01:20Z", "2026-11-26T09:01:40Z"}},
        NextCase{"list_and_range", "0 8-10,14 * * *", "UTC", "2026-11-26T09:30:00Z",
                 {"2026-11-26T10:00:00Z", "2026-11-26T14:00:00Z", "2026-11-27T08:00:00Z"}},
        NextCase{"range_step", "10-40/15 * * * *", "UTC", "2026-11-26T09:00:00Z",
                 {"2026-11-26T09:10:00Z", "2026-11-26T09:25:00Z", "2026-11-26T09:40:00Z", "2026-11-26T10:10:00Z"}},
        NextCase{"start_step", "45/5 * * * *", "UTC", "2026-11-26T09:00:00Z",
                 {"2026-11-26T09:45:00Z", "2026-11-26T09:50:00Z", "2026-11-26T09:55:00Z", "2026-11-26T10:45:00Z"}},
        NextCase{"month_names", "0 0 1 jan,Jul *", "UTC", "2026-02-01T00:00:00Z",
                 {"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
        NextCase{"weekday_names", "30 7 * * MON-FRI", "UTC", "2026-11-27T08:00:00Z",  // a Friday
                 {"2026-11-30T07:30:00Z", "2026-12-01T07:30:00Z"}},
        NextCase{"dow_7_is_sunday", "0 12 * * 7", "UTC", "2026-11-26T00:00:00Z",
                 {"2026-11-29T12:00:00Z", "2026-12-06T12:00:00Z"}},
        NextCase{"dow_0_is_sunday", "0 12 * * 0", "UTC", "2026-11-26T00:00:00Z", {"2026-11-29T12:00:00Z"}},
        NextCase{"dow_range_to_7", "0 12 * * 6-7", "UTC", "2026-11-26T00:00:00Z",
                 {"2026-11-28T12:00:00Z", "2026-11-29T12:00:00Z", "2026-12-05T12:00:00Z"}},
        // Both day fields restricted: either matches (the 1st, and every Monday).
        NextCase{"dom_or_dow", "0 0 1 * MON", "UTC", "2026-11-26T00:00:00Z",
                 {"2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z", "2026-12-07T00:00:00Z"}},
        // Day-of-month starts with `*`: both must match (1st/11th/21st/31st that is a Monday).
        NextCase{"star_dom_and_dow", "0 0 */10 * MON", "UTC", "2026-11-26T00:00:00Z",
                 {"2026-12-21T00:00:00Z", "2027-01-11T00:00:00Z", "2027-02-01T00:00:00Z"}},
        NextCase{"question_mark", "0 0 ? * MON", "UTC", "2026-11-26T00:00:00Z", {"2026-11-30T00:00:00Z"}},
        NextCase{"leap_day", "0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z",
                 {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
        NextCase{"leap_day_skips_2100", "0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", {"2104-02-29T00:00:00Z"}},
        NextCase{"day_31_skips_short_months", "0 0 31 * *", "UTC", "2026-04-01T00:00:00Z",
                 {"2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"}},
        NextCase{"year_rollover", "0 0 1 1 *", "UTC", "2026-11-26T00:00:00Z", {"2027-01-01T00:00:00Z"}},
        NextCase{"macro_daily", "@daily", "UTC", "2026-11-26T09:00:00Z", {"2026-11-27T00:00:00Z"}},
        NextCase{"macro_hourly", "@hourly", "UTC", "2026-11-26T09:00:00Z", {"2026-11-26T10:00:00Z"}},
        NextCase{"macro_weekly", "@weekly", "UTC", "2026-11-26T09:00:00Z", {"2026-11-29T00:00:00Z"}},
        NextCase{"macro_monthly", "@monthly", "UTC", "2026-11-26T09:00:00Z", {"2026-12-01T00:00:00Z"}},
        NextCase{"macro_yearly", "@annually", "UTC", "2026-11-26T09:00:00Z", {"2027-01-01T00:00:00Z"}},
        NextCase{"zone_offset", "0 8 * * *", "Europe/Berlin", "2026-11-26T09:00:00Z",
                 {"2026-11-27T07:00:00Z"}},  // 08:00 CET
        NextCase{"zone_offset_summer", "0 8 * * *", "Europe/Berlin", "2026-07-01T09:00:00Z",
                 {"2026-07-02T06:00:00Z"}},  // 08:00 CEST
        // Spring forward in Berlin (2026-03-29 02:00 CET -> 03:00 CEST): 02:30 does not exist
        // and fires at the first instant after the gap, 03:00 CEST = 01:00Z.
        NextCase{"berlin_spring_gap", "30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z",
                 {"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
        // Every 20 minutes across the gap: 02:00/02:20/02:40 collapse into one fire at 03:00.
        NextCase{"berlin_spring_gap_interval", "*/20 * * * *", "Europe/Berlin", "2026-03-29T00:30:00Z",
                 {"2026-03-29T00:40:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:20:00Z"}},
        // Fall back in Berlin (2026-10-25 03:00 CEST -> 02:00 CET): 02:30 occurs twice, fires once
        // (the first occurrence, 00:30Z).
        NextCase{"berlin_fall_back_once", "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
                 {"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
        // Hour field `*`: the repeated hour fires in both passes, keeping the real-time rhythm.
        NextCase{"berlin_fall_back_interval", "*/30 * * * *", "Europe/Berlin", "2026-10-24T23:45:00Z",
                 {"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z",
                  "2026-10-25T02:00:00Z"}},
        // New York spring forward (2026-03-08 02:00 EST -> 03:00 EDT).
        NextCase{"new_york_spring_gap", "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
                 {"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
        NextCase{"new_york_spring_seconds", "* * * * * *", "America/New_York", "2026-03-08T06:59:58Z",
                 {"2026-03-08T06:59:59Z", "2026-03-08T07:00:00Z", "2026-03-08T07:00:01Z"}},
        // New York fall back (2026-11-01 02:00 EDT -> 01:00 EST): 01:30 fires once, at 01:30 EDT.
        NextCase{"new_york_fall_back_once", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
                 {"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
        // Started inside the second pass of the repeated hour: the fixed-hour tick already fired.
        NextCase{"new_york_fall_back_second_pass", "45 1 * * *", "America/New_York", "2026-11-01T06:10:00Z",
                 {"2026-11-02T06:45:00Z"}},
        NextCase{"new_york_fall_back_hourly", "30 * * * *", "America/New_York", "2026-11-01T04:00:00Z",
                 {"2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"}},
        NextCase{"new_york_every_minute_second_pass", "* * * * *", "America/New_York", "2026-11-01T05:59:00Z",
                 {"2026-11-01T06:00:00Z", "2026-11-01T06:01:00Z"}},
        NextCase{"new_york_dow_7", "0 9 * * 7", "America/New_York", "2026-11-01T00:00:00Z",
                 {"2026-11-01T14:00:00Z", "2026-11-08T14:00:00Z"}}),
    [](const ::testing::TestParamInfo<NextCase>& info) { return info.param.name; });

struct ErrorCase {
  std::string expr;
  std::string tz;
  std::string want;  // a substring of the message
};

class ParseErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseErrorTest, NamesTheFieldAndRange) {
  const ErrorCase& c = GetParam();
  auto cron = CronExpression::Parse(c.expr, c.tz);
  ASSERT_FALSE(cron.ok()) << c.expr;
  EXPECT_EQ(cron.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(cron.error().ToString().find(c.want), std::string::npos) << cron.error().ToString();
}

INSTANTIATE_TEST_SUITE_P(
    Cron, ParseErrorTest,
    ::testing::Values(ErrorCase{"* 24 * * *", "UTC", "cron field 'hour' (2nd of 5): 24 is out of range 0-23"},
                      ErrorCase{"60 * * * * *", "UTC", "cron field 'second' (1st of 6): 60 is out of range 0-59"},
                      ErrorCase{"0 0 0 * *", "UTC", "'day-of-month' (3rd of 5): 0 is out of range 1-31"},
                      ErrorCase{"0 0 * 13 *", "UTC", "'month' (4th of 5): 13 is out of range 1-12"},
                      ErrorCase{"0 0 * * 8", "UTC", "'day-of-week' (5th of 5): 8 is out of range 0-7"},
                      ErrorCase{"0 0 * FOO *", "UTC", "'FOO' is not a valid value"},
                      ErrorCase{"0 0 * * FRI-MON", "UTC", "runs backwards"},
                      ErrorCase{"*/0 * * * *", "UTC", "step '0'"},
                      ErrorCase{"*/x * * * *", "UTC", "step 'x'"},
                      ErrorCase{"1,,2 * * * *", "UTC", "empty list element"},
                      ErrorCase{"* * * *", "UTC", "has 4 fields: expected 5"},
                      ErrorCase{"* * * * * * *", "UTC", "has 7 fields"},
                      ErrorCase{"", "UTC", "has 0 fields"},
                      ErrorCase{"@reboot", "UTC", "unknown cron macro '@reboot'"},
                      ErrorCase{"0 0 30 2 *", "UTC", "never fires"},
                      ErrorCase{"0 0 31 4,6 *", "UTC", "never fires"},
                      ErrorCase{"1x * * * *", "UTC", "'1x' is not a number"},
                      ErrorCase{"? * * * *", "UTC", "'?' is not a valid value"},
                      ErrorCase{"0 0 * * *", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"}));

TEST(CronExpressionTest, DefaultsToUtcAndKeepsItsText) {
  auto cron = CronExpression::Parse("  0 8 * * *  ", "");
  ASSERT_TRUE(cron.ok());
  EXPECT_EQ(cron->timezone(), "UTC");
  EXPECT_EQ(cron->expression(), "  0 8 * * *  ");
  EXPECT_FALSE(cron->has_seconds());
  auto six = CronExpression::Parse("*/5 * * * * *", "Europe/Berlin");
  ASSERT_TRUE(six.ok());
  EXPECT_TRUE(six->has_seconds());
}

TEST(CronExpressionTest, FormatsLocalTime) {
  auto cron = CronExpression::Parse("30 2 * * *", "Europe/Berlin");
  ASSERT_TRUE(cron.ok());
  EXPECT_EQ(cron->FormatLocal(Utc("2026-03-29T01:00:00Z")), "2026-03-29 03:00:00 CEST");
  EXPECT_EQ(cron->FormatLocal(Utc("2026-11-26T07:00:00Z")), "2026-11-26 08:00:00 CET");
}

TEST(CronExpressionTest, FireTimesStrictlyIncreaseAcrossAYearOfTransitions) {
  for (const char* tz : {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"}) {
    for (const char* expr : {"*/7 * * * *", "30 2 * * *", "0 1,2,3 * * *", "15 */2 * * *"}) {
      auto cron = CronExpression::Parse(expr, tz);
      ASSERT_TRUE(cron.ok());
      const auto times = cron->NextN(Utc("2026-01-01T00:00:00Z"), 20000);
      ASSERT_FALSE(times.empty());
      for (size_t i = 1; i < times.size(); ++i) {
        ASSERT_LT(times[i - 1], times[i]) << expr << " in " << tz << " at " << Fmt(times[i]);
      }
    }
  }
}

// A daily fixed-time schedule fires exactly once per local calendar day, across both DST changes.
TEST(CronExpressionTest, DailyFiresOncePerLocalDayThroughDst) {
  for (const char* tz : {"Europe/Berlin", "America/New_York"}) {
    for (const char* expr : {"30 2 * * *", "30 1 * * *", "0 8 * * *"}) {
      auto cron = CronExpression::Parse(expr, tz);
      ASSERT_TRUE(cron.ok());
      const auto times = cron->NextN(Utc("2025-12-31T23:00:00Z"), 365);
      ASSERT_EQ(times.size(), 365u);
      std::set<std::string> days;
      for (auto t : times) days.insert(cron->FormatLocal(t).substr(0, 10));
      EXPECT_EQ(days.size(), 365u) << expr << " in " << tz;
      EXPECT_EQ(*days.begin(), "2026-01-01");
      EXPECT_EQ(*days.rbegin(), "2026-12-31");
    }
  }
}

}  // namespace
}  // namespace steward::engine
