#pragma once
// Time ranges named in a user's text ("yesterday", "last week", "on 2026-05-01"), as calendar
// days relative to a given today, so tests fix the clock.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "models/detail/offline_text.hpp"

namespace steward::models::detail {

// An inclusive range of calendar days; either end may be open.
struct DateRange {
  std::optional<std::chrono::sys_days> since;
  std::optional<std::chrono::sys_days> until;
  std::vector<Span> spans;  // where in the text the range was named
  [[nodiscard]] bool empty() const { return !since && !until; }
};

// Reads a time range relative to `today`. ISO dates first: two dates are a range; one date
// is that day, or an open range after "since/from/after" or "until/till/through/before".
// Then the first relative phrase: "today", "yesterday", "the day before yesterday",
// "last|past [N] days|weeks|months|years" (back from today, inclusive), "N days ago" (that
// day), "N weeks ago" (a 7-day window around it), "N months ago" (that calendar month),
// "this week|month|year" (from its start), "on monday" (the most recent one before today),
// "in may" / "may 2026" (that month; without a year the most recent one).
[[nodiscard]] DateRange ParseTimeRange(const NormalizedText& text, std::chrono::sys_days today);

// "YYYY-MM-DD".
[[nodiscard]] std::string IsoDate(std::chrono::sys_days day);

}  // namespace steward::models::detail
