#include "models/detail/offline_rules.hpp"

#include <algorithm>
#include <set>

namespace steward::models::detail {

namespace {

using std::chrono::sys_days;

// A string member of a JSON object, or "" (schemas come from clients: never throw on them).
std::string StringField(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// ---- Intent rules -------------------------------------------------------------------------------

enum class PrimaryValue { kTopic, kFact };
enum class Needs { kNothing, kPath, kUrl };

// Picks an offered tool by the words of its name (or description).
struct ToolPattern {
  std::vector<std::string_view> all{};          // every one of these words is in the name
  std::vector<std::string_view> any{};          // at least one is in the name (when non-empty)
  std::vector<std::string_view> suffix{};       // the name ends with these words
  std::vector<std::string_view> description{};  // one of these words is in the description
  bool fallback = false;  // tried only when the rule's other patterns found nothing
};

struct IntentRule {
  std::string_view name{};
  std::vector<std::string_view> triggers{};  // phrases in the user's text, at word boundaries
  std::vector<std::string_view> excludes{};  // phrases that veto the rule
  Needs needs = Needs::kNothing;           // something the text must contain
  PrimaryValue primary = PrimaryValue::kTopic;
  std::vector<std::string_view> suppresses{};  // rules whose calls are dropped when this one calls
  bool any_question = false;  // also fires on any question, when no earlier rule called a tool
  std::vector<ToolPattern> patterns;
};

// The rules, in priority order. Each matching rule calls one tool per non-fallback pattern
// (so a search asks both memory and the web); fallbacks fill in when none of those exist.
const std::vector<IntentRule>& Rules() {
  static const std::vector<IntentRule> kRules = {
      {.name = "remember",
       .triggers = {"remember", "note that", "make a note", "take a note", "don't forget",
                    "do not forget", "keep in mind", "save this", "save that", "memorize",
                    "memorise", "for future reference"},
       .excludes = {"do you remember", "remember when", "remember what", "remember how",
                    "remember if", "remember whether", "remember anything", "you remember",
                    "what did", "did we"},
       .primary = PrimaryValue::kFact,
       .suppresses = {"recall", "search"},
       .patterns = {{.suffix = {"remember"}},
                    {.all = {"memory"}, .any = {"add", "save", "store", "write", "create"}, .fallback = true}}},
      {.name = "read_file",
       .triggers = {"read", "open", "show", "contents", "content of", "what's in", "what is in",
                    "summarize", "summarise", "look at", "cat", "file"},
       .needs = Needs::kPath,
       .suppresses = {"search"},
       .patterns = {{.all = {"read"}, .any = {"file", "files", "text", "fs", "filesystem", "document"}},
                    {.all = {"read"}, .fallback = true},
                    {.any = {"file", "files"}, .description = {"read"}, .fallback = true}}},
      {.name = "fetch_url",
       .triggers = {"fetch", "open", "read", "summarize", "summarise", "what's on", "what is on",
                    "look at", "visit", "check", "get"},
       .needs = Needs::kUrl,
       .suppresses = {"search"},
       .patterns = {{.any = {"fetch"}},
                    {.all = {"web"}, .any = {"get", "read", "open", "page"}, .fallback = true},
                    {.all = {"url"}, .fallback = true}}},
      {.name = "recall",
       .triggers = {"earlier", "last time", "we discussed", "did we discuss", "did we talk",
                    "we talked", "we spoke", "we chatted", "previous conversation",
                    "past conversation", "our conversation", "previous chat", "yesterday",
                    "last week", "last month", "do you remember", "remember when",
                    "remember what", "you told me", "i told you", "i mentioned", "you said",
                    "i said"},
       .patterns = {{.suffix = {"recall", "conversation"}},
                    {.all = {"recall"}, .fallback = true},
                    {.all = {"conversation"}, .any = {"search", "history"}, .fallback = true},
                    {.all = {"memory"}, .suffix = {"search"}, .fallback = true}}},
      {.name = "trending",
       .triggers = {"trending", "hacker news", "hackernews", "hn", "top stories", "front page"},
       .suppresses = {"search"},
       .patterns = {{.all = {"hn"}, .any = {"top", "best", "trending", "front"}},
                    {.any = {"trending"}, .fallback = true},
                    {.all = {"top"}, .any = {"stories", "news"}, .fallback = true},
                    {.any = {"hn", "hackernews"}, .fallback = true}}},
      {.name = "search",
       .triggers = {"search", "find", "research", "look up", "lookup", "look for", "what is",
                    "what's", "what are", "what was", "who is", "who's", "who was", "who are",
                    "tell me about", "information about", "info on", "how does", "how do",
                    "how to", "explain", "latest", "news", "learn about", "know about"},
       .patterns = {{.all = {"memory"}, .suffix = {"search"}},
                    {.all = {"web"}, .suffix = {"search"}},
                    {.suffix = {"search"}, .fallback = true},
                    {.description = {"search"}, .fallback = true}}},
      // A question no rule above understood ("When is my dentist appointment?") is still
      // best answered from memory and the web.
      {.name = "question",
       .any_question = true,
       .patterns = {{.all = {"memory"}, .suffix = {"search"}},
                    {.all = {"web"}, .suffix = {"search"}},
                    {.suffix = {"search"}, .fallback = true}}},
  };
  return kRules;
}

bool HasWord(const std::vector<std::string>& words, std::string_view w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

bool Matches(const ToolPattern& p, const OfferedTool& tool) {
  for (auto w : p.all) {
    if (!HasWord(tool.name_words, w)) return false;
  }
  if (!p.any.empty() && std::none_of(p.any.begin(), p.any.end(),
                                     [&](auto w) { return HasWord(tool.name_words, w); })) {
    return false;
  }
  if (p.suffix.size() > tool.name_words.size()) return false;
  for (size_t i = 0; i < p.suffix.size(); ++i) {
    if (tool.name_words[tool.name_words.size() - p.suffix.size() + i] != p.suffix[i]) return false;
  }
  if (!p.description.empty()) {
    const auto words = Words(tool.description);
    if (std::none_of(p.description.begin(), p.description.end(),
                     [&](auto w) { return HasWord(words, w); })) {
      return false;
    }
  }
  return true;
}

bool IsQuestion(const NormalizedText& text) {
  static constexpr std::string_view kOpeners[] = {
      "what", "who", "whom", "whose", "when", "where", "why", "how", "which", "did", "do", "does",
      "is", "are", "was", "were", "can", "could", "should", "would", "will", "have", "has"};
  if (!text.original.empty() && text.original.back() == '?') return true;
  const auto tokens = Tokenize(text.lower);
  return !tokens.empty() &&
         std::find(std::begin(kOpeners), std::end(kOpeners), tokens.front().word) != std::end(kOpeners);
}

bool Fires(const IntentRule& rule, const NormalizedText& text, bool has_path, bool has_url) {
  if (rule.needs == Needs::kPath && !has_path) return false;
  if (rule.needs == Needs::kUrl && !has_url) return false;
  for (auto ex : rule.excludes) {
    if (FindPhrase(text.lower, ex) != std::string_view::npos) return false;
  }
  if (rule.any_question && IsQuestion(text)) return true;
  return std::any_of(rule.triggers.begin(), rule.triggers.end(), [&](auto trigger) {
    return FindPhrase(text.lower, trigger) != std::string_view::npos;
  });
}

// ---- Arguments ----------------------------------------------------------------------------------

enum class ArgKind { kPrimary, kTitle, kPath, kUrl, kSince, kUntil, kLimit, kUnknown };

// Property names (lowercase, without '_' and '-') and what they mean.
ArgKind Classify(std::string_view property, const Json& schema) {
  std::string n;
  for (char c : property) {
    if (c != '_' && c != '-') n += AsciiLower(c);
  }
  struct Entry {
    std::string_view name;
    ArgKind kind;
  };
  static constexpr Entry kNames[] = {
      {"query", ArgKind::kPrimary}, {"q", ArgKind::kPrimary}, {"text", ArgKind::kPrimary},
      {"topic", ArgKind::kPrimary}, {"content", ArgKind::kPrimary}, {"fact", ArgKind::kPrimary},
      {"note", ArgKind::kPrimary}, {"question", ArgKind::kPrimary}, {"search", ArgKind::kPrimary},
      {"searchquery", ArgKind::kPrimary}, {"keywords", ArgKind::kPrimary},
      {"keyword", ArgKind::kPrimary}, {"terms", ArgKind::kPrimary}, {"term", ArgKind::kPrimary},
      {"prompt", ArgKind::kPrimary}, {"memory", ArgKind::kPrimary}, {"input", ArgKind::kPrimary},
      {"statement", ArgKind::kPrimary}, {"title", ArgKind::kTitle}, {"subject", ArgKind::kTitle},
      {"path", ArgKind::kPath}, {"file", ArgKind::kPath}, {"filepath", ArgKind::kPath},
      {"filename", ArgKind::kPath}, {"url", ArgKind::kUrl}, {"link", ArgKind::kUrl},
      {"href", ArgKind::kUrl}, {"uri", ArgKind::kUrl}, {"since", ArgKind::kSince},
      {"startdate", ArgKind::kSince}, {"fromdate", ArgKind::kSince}, {"datefrom", ArgKind::kSince},
      {"until", ArgKind::kUntil}, {"enddate", ArgKind::kUntil}, {"todate", ArgKind::kUntil},
      {"dateto", ArgKind::kUntil}, {"limit", ArgKind::kLimit}, {"count", ArgKind::kLimit},
      {"k", ArgKind::kLimit}, {"topk", ArgKind::kLimit}, {"n", ArgKind::kLimit},
      {"maxresults", ArgKind::kLimit}, {"numresults", ArgKind::kLimit},
      {"maxitems", ArgKind::kLimit}, {"pagesize", ArgKind::kLimit}};
  for (const auto& e : kNames) {
    if (n == e.name) return e.kind;
  }
  // "from"/"to"/"start"/"end" are dates only when the schema says so (an email's `to` is not).
  static constexpr Entry kAmbiguous[] = {{"from", ArgKind::kSince}, {"start", ArgKind::kSince},
                                         {"after", ArgKind::kSince}, {"to", ArgKind::kUntil},
                                         {"end", ArgKind::kUntil}, {"before", ArgKind::kUntil}};
  const std::string format = StringField(schema, "format");
  const auto description = Words(StringField(schema, "description"));
  const bool is_date = format == "date" || format == "date-time" || HasWord(description, "date") ||
                       HasWord(description, "time");
  for (const auto& e : kAmbiguous) {
    if (n == e.name && is_date) return e.kind;
  }
  return ArgKind::kUnknown;
}

std::string SchemaType(const Json& schema) {
  if (!schema.is_object() || !schema.contains("type")) return "";
  const Json& t = schema["type"];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array()) {
    for (const auto& v : t) {
      if (v.is_string() && v != "null") return v.get<std::string>();
    }
  }
  return "";
}

std::optional<Json> ValueFor(std::string_view property, const Json& schema, const ArgValues& values) {
  const ArgKind kind = Classify(property, schema);
  const std::string type = SchemaType(schema);
  const bool stringy = type.empty() || type == "string";
  std::optional<Json> value;
  switch (kind) {
    case ArgKind::kPrimary:
      if (values.primary.empty()) break;
      if (type == "array") {
        value = Json(values.topic_words);
      } else if (stringy) {
        value = values.primary;
      }
      break;
    case ArgKind::kTitle: {
      if (values.primary.empty() || !stringy) break;
      // The first eight words: a title, not the whole fact.
      size_t end = 0;
      for (int i = 0; i < 8 && end != std::string::npos; ++i) end = values.primary.find(' ', end + 1);
      value = values.primary.substr(0, end);
      break;
    }
    case ArgKind::kPath:
      if (values.path && stringy) value = *values.path;
      break;
    case ArgKind::kUrl:
      if (values.url && stringy) value = *values.url;
      break;
    case ArgKind::kSince:
    case ArgKind::kUntil: {
      const auto& day = kind == ArgKind::kSince ? values.range.since : values.range.until;
      if (!day || !stringy) break;
      std::string iso = IsoDate(*day);
      if (StringField(schema, "format") == "date-time") {
        iso += kind == ArgKind::kSince ? "T00:00:00Z" : "T23:59:59Z";
      }
      value = iso;
      break;
    }
    case ArgKind::kLimit: {
      if (!type.empty() && type != "integer" && type != "number") break;
      int64_t n = 5;  // a small page: enough to answer, short enough to read
      if (schema.is_object() && schema.contains("maximum") && schema["maximum"].is_number()) {
        n = std::min<int64_t>(n, schema["maximum"].get<int64_t>());
      }
      if (schema.is_object() && schema.contains("minimum") && schema["minimum"].is_number()) {
        n = std::max<int64_t>(n, schema["minimum"].get<int64_t>());
      }
      value = n;
      break;
    }
    case ArgKind::kUnknown:
      break;
  }
  if (value && schema.is_object() && schema.contains("enum") && schema["enum"].is_array()) {
    const Json& allowed = schema["enum"];
    if (std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) return std::nullopt;
  }
  return value;
}

bool Informative(std::string_view property, const Json& schema) {
  const ArgKind kind = Classify(property, schema);
  return kind == ArgKind::kPrimary || kind == ArgKind::kPath || kind == ArgKind::kUrl ||
         kind == ArgKind::kSince || kind == ArgKind::kUntil;
}

}  // namespace

std::vector<OfferedTool> ParseTools(const Json& tools) {
  std::vector<OfferedTool> out;
  if (!tools.is_array()) return out;
  for (const auto& t : tools) {
    const Json& fn = t.contains("function") ? t["function"] : t;
    if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string()) continue;
    OfferedTool tool;
    tool.name = fn["name"].get<std::string>();
    if (fn.contains("description") && fn["description"].is_string()) {
      tool.description = fn["description"].get<std::string>();
    }
    tool.parameters = fn.contains("parameters") ? fn["parameters"] : Json::object();
    // Split camelCase too, so "readTextFile" matches the "read" rules.
    std::string spaced;
    for (size_t i = 0; i < tool.name.size(); ++i) {
      const char c = tool.name[i];
      if (i > 0 && c >= 'A' && c <= 'Z' && tool.name[i - 1] >= 'a' && tool.name[i - 1] <= 'z') {
        spaced += ' ';
      }
      spaced += (c == '\'') ? ' ' : c;
    }
    tool.name_words = Words(spaced);
    out.push_back(std::move(tool));
  }
  return out;
}

std::optional<Json> BuildArguments(const Json& schema, const ArgValues& values) {
  Json args = Json::object();
  if (!schema.is_object()) return args;
  const Json props = schema.contains("properties") && schema["properties"].is_object()
                         ? schema["properties"]
                         : Json::object();
  std::set<std::string> required;
  if (schema.contains("required") && schema["required"].is_array()) {
    for (const auto& r : schema["required"]) {
      if (r.is_string()) required.insert(r.get<std::string>());
    }
  }
  for (const auto& name : required) {
    const Json prop = props.contains(name) ? props[name] : Json::object();
    if (auto v = ValueFor(name, prop, values)) {
      args[name] = std::move(*v);
    } else if (prop.is_object() && prop.contains("default")) {
      args[name] = prop["default"];
    } else {
      return std::nullopt;
    }
  }
  for (const auto& [name, prop] : props.items()) {
    if (required.contains(name) || !Informative(name, prop)) continue;
    if (auto v = ValueFor(name, prop, values)) args[name] = std::move(*v);
  }
  return args;
}

std::vector<PlannedCall> PlanToolCalls(const NormalizedText& text,
                                       const std::vector<OfferedTool>& tools, sys_days today) {
  const auto path = FindPath(text);
  const auto url = FindUrl(text);
  ArgValues base;
  base.range = ParseTimeRange(text, today);
  std::vector<Span> consumed = base.range.spans;
  if (path) {
    base.path = path->value;
    consumed.push_back(path->span);
  }
  if (url) {
    base.url = url->value;
    consumed.push_back(url->span);
  }
  base.topic_words = TopicWords(text, consumed);
  const std::string topic = Join(base.topic_words);

  struct RuleCalls {
    const IntentRule* rule;
    std::vector<PlannedCall> calls;
  };
  std::vector<RuleCalls> planned;
  std::set<std::string> used;
  for (const auto& rule : Rules()) {
    if (rule.any_question && !planned.empty()) continue;
    if (!Fires(rule, text, path.has_value(), url.has_value())) continue;
    ArgValues values = base;
    values.primary = rule.primary == PrimaryValue::kFact ? ExtractFact(text) : topic;
    RuleCalls rc{&rule, {}};
    auto try_pattern = [&](const ToolPattern& pattern) {
      for (const auto& tool : tools) {
        if (used.contains(tool.name) || !Matches(pattern, tool)) continue;
        if (auto args = BuildArguments(tool.parameters, values)) {
          rc.calls.push_back({tool.name, std::move(*args)});
          used.insert(tool.name);
          return true;
        }
      }
      return false;
    };
    for (const auto& pattern : rule.patterns) {
      if (!pattern.fallback) try_pattern(pattern);
    }
    if (rc.calls.empty()) {
      for (const auto& pattern : rule.patterns) {
        if (pattern.fallback && try_pattern(pattern)) break;
      }
    }
    if (!rc.calls.empty()) planned.push_back(std::move(rc));
  }

  std::set<std::string_view> suppressed;
  for (const auto& rc : planned) {
    for (auto s : rc.rule->suppresses) suppressed.insert(s);
  }
  std::vector<PlannedCall> out;
  for (auto& rc : planned) {
    if (suppressed.contains(rc.rule->name)) continue;
    for (auto& call : rc.calls) out.push_back(std::move(call));
  }
  return out;
}

namespace {

bool IsWebTool(std::string_view name) {
  const auto words = Words(name);
  return !words.empty() && words.front() == "web";
}

// The query a failed call searched for, if it had one.
std::string QueryOf(const Json& arguments) {
  for (const char* key : {"query", "q", "search", "search_query", "keywords", "topic"}) {
    if (const std::string v = StringField(arguments, key); !v.empty()) return v;
  }
  return "";
}

}  // namespace

std::optional<PlannedCall> PlanFallbackCall(const NormalizedText& text,
                                            const std::vector<OfferedTool>& tools,
                                            const std::vector<TurnCall>& calls, sys_days today) {
  const TurnCall* failed = nullptr;
  for (const auto& call : calls) {
    if (call.failed && IsWebTool(call.name)) failed = &call;
  }
  if (failed == nullptr) return std::nullopt;
  // Local documents: memory first, then any other search tool that is not the web.
  static const std::vector<ToolPattern> kLocal = {{.all = {"memory"}, .suffix = {"search"}},
                                                  {.suffix = {"search"}}};
  const OfferedTool* local = nullptr;
  for (const auto& pattern : kLocal) {
    for (const auto& tool : tools) {
      if (!IsWebTool(tool.name) && Matches(pattern, tool)) {
        local = &tool;
        break;
      }
    }
    if (local != nullptr) break;
  }
  if (local == nullptr) return std::nullopt;
  for (const auto& call : calls) {
    if (call.name == local->name) return std::nullopt;  // the local documents were already asked
  }
  ArgValues values;
  values.range = ParseTimeRange(text, today);
  std::vector<Span> consumed = values.range.spans;
  if (auto url = FindUrl(text)) consumed.push_back(url->span);
  if (auto path = FindPath(text)) consumed.push_back(path->span);
  values.topic_words = TopicWords(text, consumed);
  values.primary = QueryOf(failed->arguments);
  if (values.primary.empty()) values.primary = Join(values.topic_words);
  if (values.primary.empty()) return std::nullopt;
  auto args = BuildArguments(local->parameters, values);
  if (!args) return std::nullopt;
  return PlannedCall{local->name, std::move(*args)};
}

std::string FallbackFrom(const std::vector<TurnCall>& calls) {
  for (const auto& failed : calls) {
    if (!failed.failed || !IsWebTool(failed.name)) continue;
    for (const auto& later : calls) {
      if (later.step > failed.step && !later.failed && !IsWebTool(later.name)) return failed.name;
    }
  }
  return "";
}

std::optional<PlannedCall> PlanForcedCall(const NormalizedText& text, const OfferedTool& tool,
                                          sys_days today) {
  ArgValues values;
  values.range = ParseTimeRange(text, today);
  std::vector<Span> consumed = values.range.spans;
  if (auto path = FindPath(text)) {
    values.path = path->value;
    consumed.push_back(path->span);
  }
  if (auto url = FindUrl(text)) {
    values.url = url->value;
    consumed.push_back(url->span);
  }
  values.topic_words = TopicWords(text, consumed);
  const bool stores = !tool.name_words.empty() && tool.name_words.back() == "remember";
  values.primary = stores ? ExtractFact(text) : Join(values.topic_words);
  auto args = BuildArguments(tool.parameters, values);
  if (!args) return std::nullopt;
  return PlannedCall{tool.name, std::move(*args)};
}

}  // namespace steward::models::detail
