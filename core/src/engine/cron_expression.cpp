#include "engine/cron_expression.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <exception>

#include <date/date.h>
#include <date/tz.h>

namespace steward::engine {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  bool day_field;  // accepts `?`
  const std::array<std::string_view, 13>* names;  // names[i] is the value min+i... see NameValue
};

constexpr std::array<std::string_view, 13> kMonthNames = {"",    "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 13> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT",
                                                        "",    "",    "",    "",    "",    ""};

constexpr FieldSpec kSecond{"second", 0, 59, false, nullptr};
constexpr FieldSpec kMinute{"minute", 0, 59, false, nullptr};
constexpr FieldSpec kHour{"hour", 0, 23, false, nullptr};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, true, nullptr};
constexpr FieldSpec kMonth{"month", 1, 12, false, &kMonthNames};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, true, &kDayNames};

std::string Ordinal(int n) {
  switch (n) {
    case 1: return "1st";
    case 2: return "2nd";
    case 3: return "3rd";
    default: return std::to_string(n) + "th";
  }
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

class FieldParser {
 public:
  FieldParser(const FieldSpec& spec, int position, int count) : spec_(spec) {
    where_ = "cron field '" + std::string(spec.name) + "' (" + Ordinal(position) + " of " + std::to_string(count) +
             ")";
  }

  // Fills `bits` (indexed by value) and tells whether the field starts with `*` or `?`.
  template <std::size_t N>
  Status Parse(std::string_view text, std::bitset<N>& bits, bool& star) {
    star = !text.empty() && (text.front() == '*' || text.front() == '?');
    if (text.empty()) return Fail("is empty; " + Accepted());
    std::size_t pos = 0;
    while (pos <= text.size()) {
      const std::size_t comma = text.find(',', pos);
      const std::string_view item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
      STEWARD_RETURN_IF_ERROR(ParseItem(item, bits));
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
    return Status::Ok();
  }

 private:
  std::string Accepted() const {
    std::string s = "expected a comma list of *, N, N-M, */S, N-M/S or N/S with values " + std::to_string(spec_.min) +
                    "-" + std::to_string(spec_.max);
    if (spec_.names == &kMonthNames) s += " or JAN-DEC";
    if (spec_.names == &kDayNames) s += " or SUN-SAT (0 and 7 are Sunday)";
    if (spec_.day_field) s += "; ? means *";
    return s;
  }

  Error Fail(const std::string& what) const { return MakeError(ErrorCode::kInvalidArgument, where_ + ": " + what); }

  Result<int> ParseValue(std::string_view token) const {
    if (token.empty()) return Fail("missing value; " + Accepted());
    if (std::isdigit(static_cast<unsigned char>(token.front()))) {
      int v = 0;
      const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
      if (ec != std::errc() || ptr != token.data() + token.size()) {
        return Fail("'" + std::string(token) + "' is not a number; " + Accepted());
      }
      if (v < spec_.min || v > spec_.max) {
        return Fail(std::string(token) + " is out of range " + std::to_string(spec_.min) + "-" +
                    std::to_string(spec_.max));
      }
      return v;
    }
    if (spec_.names != nullptr) {
      const std::string up = Upper(token);
      for (std::size_t i = 0; i < spec_.names->size(); ++i) {
        if (!(*spec_.names)[i].empty() && (*spec_.names)[i] == up) return static_cast<int>(i);
      }
    }
    return Fail("'" + std::string(token) + "' is not a valid value; " + Accepted());
  }

  template <std::size_t N>
  Status ParseItem(std::string_view item, std::bitset<N>& bits) {
    if (item.empty()) return Fail("empty list element; " + Accepted());
    int step = 1;
    std::string_view range = item;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const std::string_view step_text = item.substr(slash + 1);
      const auto [ptr, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
      if (step_text.empty() || ec != std::errc() || ptr != step_text.data() + step_text.size() || step < 1 ||
          step > spec_.max - spec_.min + 1) {
        return Fail("step '" + std::string(step_text) + "' in '" + std::string(item) +
                    "' must be a number from 1 to " + std::to_string(spec_.max - spec_.min + 1));
      }
    }
    int lo = spec_.min;
    int hi = spec_.max;
    if (range == "*" || (range == "?" && spec_.day_field)) {
      if (spec_.names == &kDayNames) hi = 6;  // `*` is Sunday..Saturday once
    } else {
      const auto dash = range.find('-');
      auto first = ParseValue(range.substr(0, dash));
      if (!first.ok()) return first.error();
      lo = *first;
      if (dash != std::string_view::npos) {
        auto last = ParseValue(range.substr(dash + 1));
        if (!last.ok()) return last.error();
        hi = *last;
        if (hi < lo) {
          return Fail("range '" + std::string(range) + "' runs backwards; write it as two ranges, e.g. 'FRI-SAT,SUN-MON'");
        }
      } else if (item.find('/') == std::string_view::npos) {
        hi = lo;
      }
    }
    for (int v = lo; v <= hi; v += step) {
      const int bit = (spec_.names == &kDayNames && v == 7) ? 0 : v;
      bits.set(static_cast<std::size_t>(bit));
    }
    return Status::Ok();
  }

  const FieldSpec& spec_;
  std::string where_;
};

std::vector<std::string_view> SplitFields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    const std::size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <std::size_t N>
int NextSetBit(const std::bitset<N>& bits, int from) {
  for (int i = std::max(from, 0); i < static_cast<int>(N); ++i) {
    if (bits.test(static_cast<std::size_t>(i))) return i;
  }
  return -1;
}

unsigned DaysInMonth(int year, unsigned month) {
  return static_cast<unsigned>((date::year{year} / date::month{month} / date::last).day());
}

// How far NextLocalMatch looks ahead: Feb 29 on a given weekday can be 40 years away.
constexpr int kHorizonYears = 50;

}  // namespace

Result<CronExpression> CronExpression::Parse(std::string_view expr, std::string_view timezone) {
  CronExpression out;
  out.expression_ = std::string(expr);
  out.timezone_ = timezone.empty() ? std::string("UTC") : std::string(timezone);

  std::string_view body = expr;
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front()))) body.remove_prefix(1);
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.remove_suffix(1);
  std::string expanded;
  if (!body.empty() && body.front() == '@') {
    const std::string macro = Upper(body);
    if (macro == "@YEARLY" || macro == "@ANNUALLY") {
      expanded = "0 0 1 1 *";
    } else if (macro == "@MONTHLY") {
      expanded = "0 0 1 * *";
    } else if (macro == "@WEEKLY") {
      expanded = "0 0 * * 0";
    } else if (macro == "@DAILY" || macro == "@MIDNIGHT") {
      expanded = "0 0 * * *";
    } else if (macro == "@HOURLY") {
      expanded = "0 * * * *";
    } else {
      return MakeError(ErrorCode::kInvalidArgument,
                       "unknown cron macro '" + std::string(body) +
                           "': expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly");
    }
    body = expanded;
  }

  const auto fields = SplitFields(body);
  if (fields.size() != 5 && fields.size() != 6) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cron expression '" + std::string(expr) + "' has " + std::to_string(fields.size()) +
                         " fields: expected 5 (minute hour day-of-month month day-of-week) or 6 (second minute "
                         "hour day-of-month month day-of-week)");
  }
  const int count = static_cast<int>(fields.size());
  out.has_seconds_ = count == 6;
  std::size_t i = 0;
  bool star = false;
  if (out.has_seconds_) {
    STEWARD_RETURN_IF_ERROR(FieldParser(kSecond, 1, count).Parse(fields[i++], out.seconds_, star));
  } else {
    out.seconds_.set(0);
  }
  const int base = out.has_seconds_ ? 1 : 0;
  STEWARD_RETURN_IF_ERROR(FieldParser(kMinute, base + 1, count).Parse(fields[i++], out.minutes_, star));
  STEWARD_RETURN_IF_ERROR(FieldParser(kHour, base + 2, count).Parse(fields[i++], out.hours_, star));
  STEWARD_RETURN_IF_ERROR(FieldParser(kDayOfMonth, base + 3, count).Parse(fields[i++], out.days_of_month_, out.dom_star_));
  STEWARD_RETURN_IF_ERROR(FieldParser(kMonth, base + 4, count).Parse(fields[i++], out.months_, star));
  std::bitset<8> dow;
  STEWARD_RETURN_IF_ERROR(FieldParser(kDayOfWeek, base + 5, count).Parse(fields[i++], dow, out.dow_star_));
  for (std::size_t d = 0; d < 7; ++d) out.days_of_week_[d] = dow[d];
  out.every_hour_ = out.hours_.all();

  // A day-of-month that never occurs in the selected months would never fire (day-of-week
  // restricted with OR semantics always fires eventually).
  if (out.dom_star_ || out.dow_star_) {
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m) {
      if (!out.months_.test(m)) continue;
      for (unsigned d = 1; d <= DaysInMonth(2000, m) && !possible; ++d) possible = out.days_of_month_.test(d);
    }
    if (!possible) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "cron expression '" + std::string(expr) +
                           "' never fires: its day-of-month never occurs in its months (e.g. 30 in FEB)");
    }
  }

  try {
    out.zone_ = date::locate_zone(out.timezone_);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, "unknown time zone '" + out.timezone_ +
                                                      "': expected an IANA name such as UTC, Europe/Berlin or "
                                                      "America/New_York (" + e.what() + ")");
  }
  return out;
}

bool CronExpression::DayMatches(int year, unsigned month, unsigned day) const {
  const bool dom = days_of_month_.test(day);
  const unsigned wd = date::weekday{date::year{year} / date::month{month} / date::day{day}}.c_encoding();
  const bool dow = days_of_week_.test(wd);
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

std::optional<seconds> CronExpression::NextLocalMatch(seconds local) const {
  using date::days;
  date::local_days day = date::floor<days>(date::local_seconds{local});
  const int start_year = static_cast<int>(date::year_month_day{day}.year());
  const auto limit = date::local_days{date::year{start_year + kHorizonYears} / 1 / 1};
  std::chrono::seconds tod = date::local_seconds{local} - day;
  int h = static_cast<int>(tod.count() / 3600);
  int m = static_cast<int>((tod.count() % 3600) / 60);
  int s = static_cast<int>(tod.count() % 60);
  while (day < limit) {
    const date::year_month_day ymd{day};
    const unsigned month = static_cast<unsigned>(ymd.month());
    if (!months_.test(month)) {
      day = date::local_days{(ymd.year() / ymd.month() / 1) + date::months{1}};
      h = m = s = 0;
      continue;
    }
    if (!DayMatches(static_cast<int>(ymd.year()), month, static_cast<unsigned>(ymd.day()))) {
      day += days{1};
      h = m = s = 0;
      continue;
    }
    const int hh = NextSetBit(hours_, h);
    if (hh < 0) {
      day += days{1};
      h = m = s = 0;
      continue;
    }
    if (hh != h) {
      h = hh;
      m = s = 0;
    }
    const int mm = NextSetBit(minutes_, m);
    if (mm < 0) {
      ++h;
      m = s = 0;
      continue;
    }
    if (mm != m) {
      m = mm;
      s = 0;
    }
    const int ss = NextSetBit(seconds_, s);
    if (ss < 0) {
      ++m;
      s = 0;
      continue;
    }
    return (day + std::chrono::hours{h} + std::chrono::minutes{m} + seconds{ss}).time_since_epoch();
  }
  return std::nullopt;
}

std::optional<sys_seconds> CronExpression::NextAfter(sys_seconds t) const {
  if (zone_ == nullptr) return std::nullopt;
  sys_seconds lo = t + seconds{1};
  // Each pass covers one span of constant UTC offset; a schedule that fires at least once in
  // the horizon crosses at most a few transitions per year.
  for (int pass = 0; pass < 4 * kHorizonYears + 8; ++pass) {
    const date::sys_info info = zone_->get_info(lo);
    const seconds off = info.offset;
    auto local = NextLocalMatch(lo.time_since_epoch() + off);
    if (!local) return std::nullopt;

    // Fall back: the first wall times of this span already occurred in the previous span (its
    // offset was larger). Fire those only in their first occurrence unless the hour field is `*`.
    if (!every_hour_ && info.begin > sys_seconds::min() + std::chrono::hours{48}) {
      const date::sys_info prev = zone_->get_info(info.begin - seconds{1});
      if (prev.offset > off) {
        const seconds repeated_end = info.begin.time_since_epoch() + prev.offset;
        if (*local < repeated_end) {
          local = NextLocalMatch(repeated_end);
          if (!local) return std::nullopt;
        }
      }
    }

    const bool last_span = info.end >= sys_seconds::max() - std::chrono::hours{48} ||
                           info.end > date::sys_days{date::year{9000} / 1 / 1};
    if (last_span || *local < info.end.time_since_epoch() + off) return sys_seconds{*local - off};

    // Spring forward: wall times in [end+off, end+next.offset) do not exist; a tick there fires
    // at the first instant after the gap.
    const date::sys_info next = zone_->get_info(info.end);
    if (next.offset > off && *local < info.end.time_since_epoch() + next.offset) return info.end;
    lo = info.end;
  }
  return std::nullopt;
}

std::string CronExpression::FormatLocal(sys_seconds t) const {
  if (zone_ == nullptr) return date::format("%F %T UTC", t);
  return date::format("%F %T %Z", date::make_zoned(zone_, t));
}

std::vector<sys_seconds> CronExpression::NextN(sys_seconds t, std::size_t n) const {
  std::vector<sys_seconds> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto next = NextAfter(t);
    if (!next) break;
    out.push_back(*next);
    t = *next;
  }
  return out;
}

}  // namespace steward::engine
