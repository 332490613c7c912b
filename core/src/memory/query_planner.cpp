#include "memory/query_planner.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <regex>
#include <set>

namespace steward::memory {

namespace {

using nlohmann::json;
using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::system_clock;
using std::chrono::year_month_day;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::string CollapseSpaces(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      space = false;
      out += c;
    }
  }
  return out;
}

std::string IsoDay(sys_days d) {
  const year_month_day ymd{d};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT00:00:00Z", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string IsoTime(system_clock::time_point t) {
  const auto day = std::chrono::floor<days>(t);
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(t - day).count();
  std::string iso = IsoDay(day);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return iso.substr(0, 11) + buf + "Z";
}

int MonthNumber(const std::string& name) {
  static const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                  "jul", "aug", "sep", "oct", "nov", "dec"};
  for (int i = 0; i < 12; ++i) {
    if (name.compare(0, 3, kMonths[i]) == 0) return i + 1;
  }
  return 0;
}

const char* kMonthAlternation =
    "(january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)";

// A day or month window; a month/day later than today without a year means last year's.
DateWindow MonthDayWindow(int year, int month, int day, bool year_given, sys_days today) {
  const year_month_day now_ymd{today};
  if (!year_given) {
    year = static_cast<int>(now_ymd.year());
    const auto candidate = std::chrono::year{year} / month / (day > 0 ? day : 1);
    if (sys_days{candidate} > today) --year;
  }
  DateWindow w;
  if (day > 0) {
    const sys_days d{std::chrono::year{year} / month / day};
    w.from = IsoDay(d);
    w.to = IsoDay(d + days{1});
  } else {
    const auto first = std::chrono::year{year} / month / 1;
    w.from = IsoDay(sys_days{first});
    w.to = IsoDay(sys_days{first + std::chrono::months{1}});
  }
  return w;
}

bool ValidIsoTime(const std::string& s) {
  static const std::regex kIso(
      R"(^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$)");
  return std::regex_match(s, kIso);
}

// Whether the query looks like it names exact things (identifiers, codes, quoted phrases).
bool HasExactTerms(const std::string& q) {
  static const std::regex kExact(R"(("[^"]+")|\b[A-Z]{2,}[0-9-]*\b|\b\w*\d\w*\b|\b\w+_\w+\b|\b[a-z]+[A-Z]\w*\b)");
  return std::regex_search(q, kExact);
}

size_t WordCount(const std::string& q) {
  size_t n = 0;
  bool in = false;
  for (char c : q) {
    const bool w = !std::isspace(static_cast<unsigned char>(c));
    if (w && !in) ++n;
    in = w;
  }
  return n;
}

// Removes [begin, end) from `text` (and from its lower-case twin).
void Cut(std::string& text, std::string& lower, size_t begin, size_t end) {
  text.replace(begin, end - begin, " ");
  lower.replace(begin, end - begin, " ");
}

std::string LikePrefix(const std::string& prefix) {
  std::string out;
  for (char c : prefix) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

// "2024-05-01T00:00:00Z" -> "2024-05-01" when the time is midnight (for text comparison with
// dates kept in metadata, which are usually plain dates).
std::string DatePart(const std::string& iso) {
  if (iso.size() >= 20 && iso.compare(10, 10, "T00:00:00Z") == 0) return iso.substr(0, 10);
  return iso;
}

}  // namespace

const char* ToString(Intent intent) {
  switch (intent) {
    case Intent::kSimilar: return "similar";
    case Intent::kOnDate: return "on_date";
    case Intent::kConversation: return "conversation";
    case Intent::kFiltered: return "filtered";
  }
  return "similar";
}

std::optional<DateWindow> FindDateWindow(std::string_view text, system_clock::time_point now) {
  const std::string lower = Lower(text);
  const sys_days today = std::chrono::floor<days>(now);
  const std::string prep = R"((?:\b(?:on|in|during|from|for)\s+)?)";
  static const std::string kMonths = kMonthAlternation;
  // Built once: std::regex compilation is slow.
  static const std::vector<std::pair<std::regex, int>> kPatterns = [&] {
    std::vector<std::pair<std::regex, int>> p;
    p.emplace_back(std::regex(prep + R"(\b(\d{4})-(\d{2})-(\d{2})\b)"), 0);
    p.emplace_back(std::regex(prep + R"(\b(\d{4})-(\d{2})\b)"), 1);
    p.emplace_back(std::regex(prep + R"(\b(today|yesterday)\b)"), 2);
    p.emplace_back(std::regex(prep + R"(\b(?:the\s+)?(last|this|past|previous)\s+(week|month|year)\b)"), 3);
    p.emplace_back(std::regex(prep + R"(\b(?:the\s+)?(?:last|past)\s+(\d+)\s+(days?|weeks?|months?)\b)"), 4);
    p.emplace_back(std::regex(prep + R"(\b(\d+)\s+(days?|weeks?|months?)\s+ago\b)"), 5);
    p.emplace_back(std::regex(prep + R"(\b(\d{1,2})(?:st|nd|rd|th)?\s+)" + kMonths + R"(\b(?:,?\s+(\d{4}))?)"), 6);
    p.emplace_back(std::regex(prep + R"(\b)" + kMonths + R"(\b(?:\s+(\d{1,2})(?:st|nd|rd|th)?\b)?(?:,?\s+(\d{4})\b)?)"), 7);
    p.emplace_back(std::regex(R"(\b(?:in|during)\s+(\d{4})\b)"), 8);
    return p;
  }();
  std::optional<DateWindow> best;
  for (const auto& [re, kind] : kPatterns) {
    std::smatch m;
    if (!std::regex_search(lower, m, re)) continue;
    const auto pos = static_cast<size_t>(m.position(0));
    if (best && best->begin <= pos) continue;  // the earliest phrase wins
    std::optional<DateWindow> w;
    try {
      switch (kind) {
        case 0: {
          const std::chrono::year_month_day ymd{std::chrono::year{std::stoi(m[1])},
                                                std::chrono::month{static_cast<unsigned>(std::stoi(m[2]))},
                                                std::chrono::day{static_cast<unsigned>(std::stoi(m[3]))}};
          if (!ymd.ok()) break;
          w = DateWindow{IsoDay(sys_days{ymd}), IsoDay(sys_days{ymd} + days{1})};
          break;
        }
        case 1: {
          const int month = std::stoi(m[2]);
          if (month < 1 || month > 12) break;
          w = MonthDayWindow(std::stoi(m[1]), month, 0, true, today);
          break;
        }
        case 2: {
          const sys_days d = m[1] == "today" ? today : today - days{1};
          w = DateWindow{IsoDay(d), IsoDay(d + days{1})};
          break;
        }
        case 3: {
          const std::string which = m[1], unit = m[2];
          const std::string end = IsoTime(now + std::chrono::minutes(1));
          const year_month_day ymd{today};
          if (unit == "week") {
            // Weeks start on Monday; "last week" runs from last week's Monday until now, so
            // "a few days ago" is not lost at the week boundary.
            const auto wd = std::chrono::weekday{today}.iso_encoding();  // 1 = Monday
            const sys_days monday = today - days{wd - 1};
            w = DateWindow{IsoDay(which == "this" ? monday : monday - days{7}), end};
          } else if (unit == "month") {
            const auto first = ymd.year() / ymd.month() / 1;
            const sys_days start = which == "this" ? sys_days{first} : sys_days{first - std::chrono::months{1}};
            w = DateWindow{IsoDay(start), end};
          } else {
            const auto first = ymd.year() / 1 / 1;
            const sys_days start = which == "this" ? sys_days{first} : sys_days{first - std::chrono::years{1}};
            w = DateWindow{IsoDay(start), end};
          }
          break;
        }
        case 4: {
          const int n = std::stoi(m[1]);
          const int unit_days = m[2].str()[0] == 'd' ? 1 : m[2].str()[0] == 'w' ? 7 : 30;
          w = DateWindow{IsoDay(today - days{n * unit_days}), IsoTime(now + std::chrono::minutes(1))};
          break;
        }
        case 5: {
          const int n = std::stoi(m[1]);
          const char u = m[2].str()[0];
          if (u == 'd') {
            const sys_days d = today - days{n};
            w = DateWindow{IsoDay(d), IsoDay(d + days{1})};
          } else {
            const int unit_days = u == 'w' ? 7 : 30;
            // "2 weeks ago": the week around that day, tolerant by half a unit each side.
            const sys_days centre = today - days{n * unit_days};
            w = DateWindow{IsoDay(centre - days{unit_days / 2 + 1}), IsoDay(centre + days{unit_days / 2 + 1})};
          }
          break;
        }
        case 6: {
          const int day = std::stoi(m[1]);
          const int month = MonthNumber(m[2]);
          if (day < 1 || day > 31 || month == 0) break;
          w = MonthDayWindow(m[3].matched ? std::stoi(m[3]) : 0, month, day, m[3].matched, today);
          break;
        }
        case 7: {
          const int month = MonthNumber(m[1]);
          const int day = m[2].matched ? std::stoi(m[2]) : 0;
          if (month == 0 || day > 31) break;
          // A bare month name is often a word ("may", "march"): only take it with a day, a year
          // or a preposition ("in March").
          if (!m[2].matched && !m[3].matched && m.str(0).find_first_of(' ') == std::string::npos) break;
          w = MonthDayWindow(m[3].matched ? std::stoi(m[3]) : 0, month, day, m[3].matched, today);
          break;
        }
        case 8: {
          const int year = std::stoi(m[1]);
          if (year < 1900 || year > 2200) break;
          w = DateWindow{IsoDay(sys_days{std::chrono::year{year} / 1 / 1}),
                         IsoDay(sys_days{std::chrono::year{year + 1} / 1 / 1})};
          break;
        }
        default: break;
      }
    } catch (const std::exception&) {
      w.reset();  // a number too large for stoi: not a date
    }
    if (!w) continue;
    w->begin = pos;
    w->end = pos + static_cast<size_t>(m.length(0));
    best = w;
  }
  return best;
}

bool ResolvedFilters::Selective() const {
  return !types.empty() || !source_prefix.empty() || (metadata.is_object() && !metadata.empty()) ||
         !created_from.empty() || !created_to.empty() || !updated_from.empty() || !updated_to.empty() ||
         !date_from.empty() || !date_to.empty() || !window_from.empty() || !as_of.empty() || include_expired;
}

json ResolvedFilters::ToParam() const {
  json p = json::object();
  if (!types.empty()) p["types"] = types;
  if (!source_prefix.empty()) p["source_like"] = LikePrefix(source_prefix);
  if (metadata.is_object() && !metadata.empty()) p["metadata"] = metadata;
  const auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) p[key] = value;
  };
  put("created_from", created_from);
  put("created_to", created_to);
  put("updated_from", updated_from);
  put("updated_to", updated_to);
  put("date_key", date_key.empty() && (!date_from.empty() || !date_to.empty()) ? "date" : date_key);
  put("date_from", DatePart(date_from));
  put("date_to", DatePart(date_to));
  put("window_from", window_from);
  put("window_to", window_to);
  put("window_date_from", DatePart(window_from));
  put("window_date_to", DatePart(window_to));
  put("as_of", as_of);
  if (include_expired) p["include_expired"] = true;
  return p;
}

json QueryPlan::ToJson() const {
  json paths = json::array();
  if (use_fulltext) {
    paths.push_back({{"path", "fulltext"},
                     {"how", "memory_chunk.search @@ websearch_to_tsquery('english', q) ranked by ts_rank_cd "
                             "(GIN index); when that finds fewer than " + std::to_string(limit) +
                                 " items, also chunks with at least half of the words, weighted by the share"},
                     {"weight", fulltext_weight},
                     {"candidates", candidates}});
  }
  if (use_vector) {
    std::string how = vector_backend == "pgvector"
                          ? "pgvector HNSW index on memory_chunk.embedding::vector(dim), cosine distance, in PostgreSQL"
                          : "hnswlib HNSW index in the core (inner product on unit vectors); with selective "
                            "filters, exact scoring of the filtered chunks instead";
    paths.push_back({{"path", "vector"},
                     {"backend", vector_backend},
                     {"how", how},
                     {"weight", vector_weight},
                     {"candidates", candidates}});
  }
  json j{{"intent", ToString(intent)},
         {"reason", reason},
         {"text_query", text_query},
         {"paths", std::move(paths)},
         {"fusion", {{"method", "reciprocal rank fusion"}, {"k", rrf_k}}},
         {"rerank",
          {{"recency_weight", recency_weight},
           {"recency_half_life_days", recency_half_life_days},
           {"source_authority", "configured memory.search.source_authority globs"}}},
         {"order", order_by_time ? "newest first (no topic words)" : "fused score"},
         {"filters", filters.ToParam()},
         {"limit", limit}};
  if (!filters.window_phrase.empty()) {
    j["time_window"] = {{"phrase", filters.window_phrase}, {"from", filters.window_from}, {"to", filters.window_to},
                        {"matches", "created_at, or metadata.date"}};
  }
  return j;
}

Result<QueryPlan> PlanQuery(const SearchRequest& request, const PlannerContext& context) {
  if (request.limit < 1 || request.limit > 100) {
    return MakeError(ErrorCode::kInvalidArgument, "limit must be between 1 and 100", "limit");
  }
  const std::set<std::string> modes{"auto", "hybrid", "fulltext", "vector"};
  if (!modes.count(request.mode)) {
    return MakeError(ErrorCode::kInvalidArgument, "mode must be auto, hybrid, fulltext or vector", "mode");
  }
  if (!request.metadata.is_null() && !request.metadata.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "metadata filter must be a JSON object", "metadata");
  }
  const std::pair<const char*, const std::string*> times[] = {
      {"created_from", &request.created_from}, {"created_to", &request.created_to},
      {"updated_from", &request.updated_from}, {"updated_to", &request.updated_to},
      {"date_from", &request.date_from},       {"date_to", &request.date_to},
      {"as_of", &request.as_of}};
  for (const auto& [name, value] : times) {
    if (!value->empty() && !ValidIsoTime(*value)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "\"" + *value + "\" is not an ISO 8601 time; expected e.g. 2024-05-01 or 2024-05-01T09:00:00Z",
                       name);
    }
  }

  QueryPlan plan;
  plan.limit = request.limit;
  plan.rrf_k = context.rrf_k;
  plan.recency_half_life_days = context.recency_half_life_days;
  plan.candidates = std::max(50, request.limit * 5);
  ResolvedFilters& f = plan.filters;
  f.types = request.types;
  f.source_prefix = request.source_prefix;
  f.metadata = request.metadata.is_object() ? request.metadata : json::object();
  f.created_from = request.created_from;
  f.created_to = request.created_to;
  f.updated_from = request.updated_from;
  f.updated_to = request.updated_to;
  f.date_key = request.metadata_date_key;
  f.date_from = request.date_from;
  f.date_to = request.date_to;
  f.as_of = request.as_of;
  f.include_expired = request.include_expired;

  std::string text = request.query;
  std::string lower = Lower(text);
  std::vector<std::string> reasons;

  // key:value terms become filters.
  static const std::regex kKeyValue(R"((?:^|\s)(type|source|author|tag|path|lang|language|project|status|kind):("[^"]+"|\S+))");
  bool from_terms = false;
  for (std::smatch m; std::regex_search(lower, m, kKeyValue);) {
    const auto begin = static_cast<size_t>(m.position(0));
    const auto vpos = static_cast<size_t>(m.position(2));
    std::string value = text.substr(vpos, static_cast<size_t>(m.length(2)));
    if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
    const std::string key = m[1];
    if (key == "type" || key == "kind") {
      f.types.push_back(Lower(value));
    } else if (key == "source" || key == "path") {
      f.source_prefix = value;
    } else if (key == "tag") {
      f.metadata["tags"] = json::array({value});
    } else {
      f.metadata[key] = value;
    }
    from_terms = true;
    Cut(text, lower, begin, begin + static_cast<size_t>(m.length(0)));
  }

  // Conversation cues.
  static const std::regex kConversation(
      R"(\b(we\s+(discussed|talked|spoke|decided|agreed|said|chatted|planned)|did\s+we|have\s+we|you\s+(told|said\s+to)\s+me|i\s+(told|asked)\s+you|our\s+(conversation|chat|discussion)s?|in\s+(a|our|the)\s+(conversation|chat)|conversation\s+about|remember\s+when)\b)");
  bool conversation = f.source_prefix.rfind("conversation", 0) == 0;
  if (std::smatch m; std::regex_search(lower, m, kConversation)) {
    conversation = true;
    reasons.push_back("conversation cue \"" + m.str(0) + "\"");
    const auto begin = static_cast<size_t>(m.position(0));
    Cut(text, lower, begin, begin + static_cast<size_t>(m.length(0)));
  } else if (conversation) {
    reasons.push_back("source is a conversation");
  }

  // A date phrase becomes a time window.
  if (auto w = FindDateWindow(lower, context.now)) {
    f.window_from = w->from;
    f.window_to = w->to;
    f.window_phrase = Trim(text.substr(w->begin, w->end - w->begin));
    Cut(text, lower, w->begin, w->end);
  }
  const bool explicit_time = !f.created_from.empty() || !f.created_to.empty() || !f.updated_from.empty() ||
                             !f.updated_to.empty() || !f.date_from.empty() || !f.date_to.empty();

  // Filler words of date questions carry no topic.
  if (!f.window_from.empty() || explicit_time) {
    static const std::regex kFiller(
        R"(\b(what|which|who|happened|happen|did|do|does|i|we|was|were|is|are|there|anything|events?|any|the|a|an|on|in|during|from|at|notes?|things?|stuff)\b)");
    std::string stripped = std::regex_replace(lower, kFiller, " ");
    stripped.erase(std::remove_if(stripped.begin(), stripped.end(), [](char c) { return c == '?' || c == '.'; }),
                   stripped.end());
    if (Trim(stripped).empty()) text.clear();
  }
  plan.text_query = CollapseSpaces(Trim(text));
  // Leading/trailing punctuation left over from cuts ("?", ",").
  while (!plan.text_query.empty() && std::ispunct(static_cast<unsigned char>(plan.text_query.back())) &&
         plan.text_query.back() != '"') {
    plan.text_query.pop_back();
  }
  plan.text_query = Trim(plan.text_query);

  // Classification.
  const bool structured = !f.types.empty() || (!f.source_prefix.empty() && !conversation) ||
                          !f.metadata.empty() || from_terms;
  if (conversation) {
    plan.intent = Intent::kConversation;
    if (f.source_prefix.empty()) f.source_prefix = "conversation:";
    plan.fulltext_weight = 1.2;
    plan.vector_weight = 0.8;
    plan.recency_weight = 0.5;
    plan.recency_half_life_days = std::min(context.recency_half_life_days, 30.0);
  } else if (!f.window_from.empty() || (explicit_time && plan.text_query.empty())) {
    plan.intent = Intent::kOnDate;
    reasons.push_back(!f.window_phrase.empty() ? "date phrase \"" + f.window_phrase + "\""
                                               : "time filters without topic words");
    plan.recency_weight = 0;  // the window already says when
  } else if (structured) {
    plan.intent = Intent::kFiltered;
    reasons.push_back(from_terms ? "key:value terms in the query" : "structured filters in the request");
  } else {
    plan.intent = Intent::kSimilar;
    const size_t words = WordCount(plan.text_query);
    if (words >= 12) {
      plan.vector_weight = 1.3;
      plan.fulltext_weight = 0.8;
      reasons.push_back("long query (" + std::to_string(words) + " words): meaning over exact words");
    } else if (HasExactTerms(request.query)) {
      plan.fulltext_weight = 1.3;
      plan.vector_weight = 0.9;
      reasons.push_back("exact terms (identifiers, numbers or quotes): full-text weighted up");
    } else {
      reasons.push_back("topic words: full-text and vector equally");
    }
  }
  if (!f.window_from.empty() && plan.intent == Intent::kConversation) {
    reasons.push_back("date phrase \"" + f.window_phrase + "\"");
  }
  if (plan.intent == Intent::kConversation && plan.text_query.empty()) plan.order_by_time = true;
  if (plan.text_query.empty()) plan.order_by_time = true;

  // Paths.
  const bool have_vectors = context.vector_backend == "pgvector" || context.vector_backend == "hnswlib";
  plan.vector_backend = have_vectors ? context.vector_backend : "none";
  plan.use_fulltext = !plan.text_query.empty();
  plan.use_vector = have_vectors && !plan.text_query.empty();
  if (request.mode == "fulltext") {
    plan.use_vector = false;
    reasons.push_back("mode=fulltext");
  } else if (request.mode == "vector") {
    plan.use_fulltext = false;
    reasons.push_back("mode=vector");
    if (!have_vectors) {
      return MakeError(ErrorCode::kUnavailable,
                       "vector search is not available: no embedding provider is configured "
                       "(memory.embeddings.provider) or nothing is embedded yet",
                       "mode");
    }
  } else if (!have_vectors && !plan.text_query.empty()) {
    reasons.push_back("no vectors (no embedder): full-text only");
  }
  std::string reason;
  for (const auto& r : reasons) reason += (reason.empty() ? "" : "; ") + r;
  plan.reason = reason.empty() ? "default" : reason;
  return plan;
}

}  // namespace steward::memory
