#include "models/detail/offline_time.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace steward::models::detail {

namespace {

using std::chrono::days;
using std::chrono::months;
using std::chrono::sys_days;
using std::chrono::year_month_day;

// ---- Dates ------------------------------------------------------------------------------------

std::optional<int> NumberWord(std::string_view w) {
  static constexpr std::array<std::string_view, 13> kNames = {
      "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
      "eleven", "twelve"};
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (w == kNames[i]) return static_cast<int>(i);
  }
  if (w == "a" || w == "an") return 1;
  if (w == "couple") return 2;
  if (w == "few") return 3;
  if (w.size() <= 4 && AllDigits(w)) {
    return std::stoi(std::string(w));
  }
  return std::nullopt;
}

enum class Unit { kDay, kWeek, kMonth, kYear };
std::optional<Unit> UnitWord(std::string_view w) {
  if (w == "day" || w == "days") return Unit::kDay;
  if (w == "week" || w == "weeks") return Unit::kWeek;
  if (w == "month" || w == "months") return Unit::kMonth;
  if (w == "year" || w == "years") return Unit::kYear;
  return std::nullopt;
}

// Calendar arithmetic that clamps to the month's last day (March 31 - 1 month = Feb 28/29).
sys_days AddMonths(sys_days day, int n) {
  year_month_day ymd{day};
  ymd += months{n};
  if (!ymd.ok()) ymd = year_month_day{ymd.year() / ymd.month() / std::chrono::last};
  return sys_days{ymd};
}

sys_days Back(sys_days today, int n, Unit unit) {
  switch (unit) {
    case Unit::kDay: return today - days{n};
    case Unit::kWeek: return today - days{7 * n};
    case Unit::kMonth: return AddMonths(today, -n);
    case Unit::kYear: return AddMonths(today, -12 * n);
  }
  return today;
}

std::optional<unsigned> MonthWord(std::string_view w) {
  static constexpr std::array<std::string_view, 12> kNames = {
      "january", "february", "march", "april", "may", "june", "july", "august", "september",
      "october", "november", "december"};
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (w == kNames[i] || (w.size() == 3 && kNames[i].starts_with(w) && w != "may")) {
      return static_cast<unsigned>(i + 1);
    }
  }
  return std::nullopt;
}

std::optional<unsigned> WeekdayWord(std::string_view w) {
  static constexpr std::array<std::string_view, 7> kNames = {
      "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (w == kNames[i]) return static_cast<unsigned>(i);
  }
  return std::nullopt;
}

struct DateAt {
  sys_days day;
  Span span;
};

std::vector<DateAt> FindIsoDates(std::string_view s) {
  std::vector<DateAt> out;
  auto digits = [&](size_t at, size_t n) {
    if (at + n > s.size()) return false;
    for (size_t i = at; i < at + n; ++i) {
      if (!IsDigit(s[i])) return false;
    }
    return true;
  };
  for (size_t i = 0; i + 10 <= s.size(); ++i) {
    if ((i > 0 && IsWordByte(s[i - 1])) || !digits(i, 4) || s[i + 4] != '-' || !digits(i + 5, 2) ||
        s[i + 7] != '-' || !digits(i + 8, 2) || (i + 10 < s.size() && IsDigit(s[i + 10]))) {
      continue;
    }
    const year_month_day ymd{std::chrono::year{std::stoi(std::string(s.substr(i, 4)))},
                             std::chrono::month{static_cast<unsigned>(std::stoi(std::string(s.substr(i + 5, 2))))},
                             std::chrono::day{static_cast<unsigned>(std::stoi(std::string(s.substr(i + 8, 2))))}};
    if (ymd.ok()) out.push_back({sys_days{ymd}, {i, i + 10}});
    i += 9;
  }
  return out;
}

DateRange Range(sys_days since, sys_days until, Span span) {
  DateRange r;
  r.since = since;
  r.until = until;
  r.spans.push_back(span);
  return r;
}

// The word right before byte offset `at`, if any.
std::string_view WordBefore(const std::vector<Token>& tokens, size_t at) {
  std::string_view before;
  for (const auto& t : tokens) {
    if (t.end <= at) before = t.word;
  }
  return before;
}

std::optional<DateRange> RelativeRange(const std::vector<Token>& t, sys_days today) {
  const auto span = [&](size_t first, size_t last) { return Span{t[first].begin, t[last].end}; };
  for (size_t i = 0; i < t.size(); ++i) {
    const std::string_view w = t[i].word;
    if (w == "yesterday") {
      if (i >= 2 && t[i - 1].word == "before" && t[i - 2].word == "day") {
        return Range(today - days{2}, today - days{2}, span(i - 2, i));
      }
      return Range(today - days{1}, today - days{1}, span(i, i));
    }
    if (w == "today" || w == "tonight") return Range(today, today, span(i, i));
    // "last|past|previous [N] unit": the last N units up to today.
    if ((w == "last" || w == "past" || w == "previous") && i + 1 < t.size()) {
      if (auto unit = UnitWord(t[i + 1].word)) return Range(Back(today, 1, *unit), today, span(i, i + 1));
      size_t j = i + 1;
      if (t[j].word == "a" && j + 1 < t.size()) ++j;  // "past a few days"
      auto n = NumberWord(t[j].word);
      if (n && j + 1 < t.size() && t[j + 1].word == "of") ++j;  // "couple of"
      if (n && j + 1 < t.size()) {
        if (auto unit = UnitWord(t[j + 1].word)) return Range(Back(today, *n, *unit), today, span(i, j + 1));
      }
    }
    // "N units ago".
    if (auto unit = UnitWord(w); unit && i + 1 < t.size() && t[i + 1].word == "ago" && i >= 1) {
      size_t j = i - 1;
      if (t[j].word == "of" && j >= 1) --j;
      const auto n = NumberWord(t[j].word);
      if (!n) continue;
      if (j >= 1 && (t[j - 1].word == "a") && (t[j].word == "couple" || t[j].word == "few")) --j;
      const sys_days at = Back(today, *n, *unit);
      switch (*unit) {
        case Unit::kDay: return Range(at, at, span(j, i + 1));
        case Unit::kWeek: return Range(at - days{3}, at + days{3}, span(j, i + 1));
        case Unit::kMonth:
        case Unit::kYear: {
          const year_month_day ymd{at};
          const sys_days first{ymd.year() / ymd.month() / 1};
          const sys_days last{ymd.year() / ymd.month() / std::chrono::last};
          return Range(first, last, span(j, i + 1));
        }
      }
    }
    if (w == "this" && i + 1 < t.size()) {
      const year_month_day ymd{today};
      const std::string_view next = t[i + 1].word;
      if (next == "week") {
        const unsigned wd = std::chrono::weekday{today}.iso_encoding();  // Monday = 1
        return Range(today - days{wd - 1}, today, span(i, i + 1));
      }
      if (next == "month") return Range(sys_days{ymd.year() / ymd.month() / 1}, today, span(i, i + 1));
      if (next == "year") return Range(sys_days{ymd.year() / 1 / 1}, today, span(i, i + 1));
      if (next == "morning" || next == "afternoon" || next == "evening") {
        return Range(today, today, span(i, i + 1));
      }
    }
    // "on monday", "last friday", "monday": the most recent such day before today.
    if (auto wd = WeekdayWord(w)) {
      const unsigned now = std::chrono::weekday{today}.c_encoding();
      const unsigned back = (now + 7 - *wd) % 7 == 0 ? 7 : (now + 7 - *wd) % 7;
      const size_t first = (i >= 1 && (t[i - 1].word == "on" || t[i - 1].word == "last")) ? i - 1 : i;
      return Range(today - days{back}, today - days{back}, span(first, i));
    }
    // "in may", "during march", "april 2026": a whole month; without a year the most recent one.
    if (auto month = MonthWord(w)) {
      const bool has_year = i + 1 < t.size() && t[i + 1].word.size() == 4 && AllDigits(t[i + 1].word);
      const bool preceded = i >= 1 && (t[i - 1].word == "in" || t[i - 1].word == "during");
      if (!has_year && !preceded) continue;
      const year_month_day now{today};
      std::chrono::year y = has_year ? std::chrono::year{std::stoi(std::string(t[i + 1].word))} : now.year();
      if (!has_year && std::chrono::month{*month} > now.month()) --y;
      const sys_days first{y / std::chrono::month{*month} / 1};
      const sys_days last{y / std::chrono::month{*month} / std::chrono::last};
      // The current month ends today: nothing was said after it.
      const sys_days until = (today >= first && today < last) ? today : last;
      return Range(first, until, span(preceded ? i - 1 : i, has_year ? i + 1 : i));
    }
  }
  return std::nullopt;
}

}  // namespace

std::string IsoDate(sys_days day) {
  const year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

DateRange ParseTimeRange(const NormalizedText& text, sys_days today) {
  const auto tokens = Tokenize(text.lower);
  auto dates = FindIsoDates(text.lower);
  if (dates.size() >= 2) {
    std::sort(dates.begin(), dates.end(), [](const auto& a, const auto& b) { return a.day < b.day; });
    DateRange r;
    r.since = dates.front().day;
    r.until = dates.back().day;
    for (const auto& d : dates) r.spans.push_back(d.span);
    return r;
  }
  if (dates.size() == 1) {
    const auto& d = dates.front();
    DateRange r;
    r.spans.push_back(d.span);
    const std::string_view before = WordBefore(tokens, d.span.begin);
    if (before == "since" || before == "from") {
      r.since = d.day;
    } else if (before == "after") {
      r.since = d.day + days{1};
    } else if (before == "before") {
      r.until = d.day - days{1};
    } else if (before == "until" || before == "till" || before == "through") {
      r.until = d.day;
    } else {
      r.since = r.until = d.day;
    }
    return r;
  }
  if (auto r = RelativeRange(tokens, today)) return *r;
  return {};
}

}  // namespace steward::models::detail
