#pragma once
// A cron expression bound to an IANA time zone, and the computation of its next fire time.
//
// Syntax: 5 fields "minute hour day-of-month month day-of-week", or 6 with seconds first
// ("second minute hour day-of-month month day-of-week"). Each field is a comma list of `*`, `N`,
// `N-M`, `*/S`, `N-M/S` or `N/S` (N to the field's maximum, step S); `?` means `*` in the day
// fields. Months accept JAN..DEC, days of the week SUN..SAT (case-insensitive); day-of-week 0 and 7
// are both Sunday. Macros: @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly.
// Ranges: second 0-59, minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-7.
//
// Day matching follows Vixie cron/cronie: when both day-of-month and day-of-week are restricted
// (neither starts with `*` or `?`), a day matches if EITHER matches ("0 0 1 * MON": the 1st and
// every Monday); otherwise both must match.
//
// Daylight-saving rules (times are wall-clock times in the expression's zone):
//  - spring forward: a wall time that does not exist (02:30 on the day clocks jump 02:00→03:00)
//    fires at the first valid instant after the gap (03:00 new time), once, however many ticks
//    fall into the gap;
//  - fall back: a wall time that occurs twice fires once, at its first occurrence — except when
//    the hour field is `*` (every hour), where the schedule keeps its real-time rhythm and fires in
//    both occurrences of the repeated hour ("*/15 * * * *" fires every 15 minutes all night).
//
// Zones come from the system tzdata through the date library (USE_OS_TZDB), which reads the
// explicit transitions of the zone files but not their POSIX rule footer: transitions after 2037
// follow the last listed one (no DST changes then, for zones that have them today).

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace date {
class time_zone;
}  // namespace date

namespace steward::engine {

class CronExpression {
 public:
  // Errors (kInvalidArgument) name the field and its accepted range, e.g.
  // "cron field 'hour' (3rd of 5): 24 is out of range 0-23", or the unknown time zone.
  [[nodiscard]] static Result<CronExpression> Parse(std::string_view expr, std::string_view timezone = "UTC");

  // The first fire time strictly after `t`; nullopt when the expression never fires again
  // within the search horizon (e.g. "0 0 30 2 *" is rejected by Parse, so in practice only
  // after year 9999).
  [[nodiscard]] std::optional<std::chrono::sys_seconds> NextAfter(std::chrono::sys_seconds t) const;

  // Up to `n` consecutive fire times strictly after `t`.
  [[nodiscard]] std::vector<std::chrono::sys_seconds> NextN(std::chrono::sys_seconds t, std::size_t n) const;

  // `t` as wall-clock time in the expression's zone: "2026-03-29 03:00:00 CEST".
  [[nodiscard]] std::string FormatLocal(std::chrono::sys_seconds t) const;

  [[nodiscard]] const std::string& expression() const { return expression_; }
  [[nodiscard]] const std::string& timezone() const { return timezone_; }
  // True for 6-field (seconds-level) expressions.
  [[nodiscard]] bool has_seconds() const { return has_seconds_; }

 private:
  CronExpression() = default;

  // Smallest wall-clock time >= `local` (seconds since the local epoch) whose fields match.
  [[nodiscard]] std::optional<std::chrono::seconds> NextLocalMatch(std::chrono::seconds local) const;
  [[nodiscard]] bool DayMatches(int year, unsigned month, unsigned day) const;

  std::string expression_;
  std::string timezone_;
  bool has_seconds_ = false;
  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bit 1..31
  std::bitset<13> months_;         // bit 1..12
  std::bitset<7> days_of_week_;    // bit 0..6, 0 = Sunday
  bool dom_star_ = true;
  bool dow_star_ = true;
  bool every_hour_ = false;  // hour field is `*`: fire in both passes of a repeated hour
  const date::time_zone* zone_ = nullptr;
};

}  // namespace steward::engine
