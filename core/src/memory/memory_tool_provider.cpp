#include "memory/memory_tool_provider.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include <pqxx/pqxx>

#include "memory/session_store.hpp"
#include "telemetry/tracer.hpp"

namespace steward::memory {

namespace {

using nlohmann::json;
using tools::CallContext;
using tools::ToolCallResult;
using tools::ToolInfo;

constexpr int kDefaultLimit = 10;
constexpr size_t kMaxFallbackWords = 8;
constexpr size_t kExcerptBytes = 280;
constexpr size_t kDerivedTitleBytes = 80;

constexpr const char* kIsoUtc = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'";

// ts_headline without markup: the excerpt is read by models and people, not rendered as HTML.
constexpr const char* kHeadlineOptions =
    "'StartSel=\"\", StopSel=\"\", MaxWords=40, MinWords=15, MaxFragments=2, "
    "FragmentDelimiter=\" … \"'";

// The excerpt column for rows of `alias` (with columns content and q): short texts whole,
// long ones as the fragments around the query words.
std::string Headline(const std::string& alias) {
  return "CASE WHEN length(" + alias + ".content) <= " + std::to_string(kExcerptBytes) + " THEN " +
         alias + ".content ELSE ts_headline('english', " + alias + ".content, " + alias + ".q, " +
         kHeadlineOptions + ") END";
}

json QuerySchema(const char* description) {
  return {{"type", "string"}, {"minLength", 1}, {"maxLength", 500}, {"description", description}};
}

json LimitSchema() {
  return {{"type", "integer"},
          {"minimum", 1},
          {"maximum", 50},
          {"default", kDefaultLimit},
          {"description", "Most results to return (default 10)."}};
}

ToolInfo MakeTool(std::string name, std::string description, json schema, std::string activity) {
  ToolInfo info;
  info.name = "memory." + name;
  info.server = "memory";
  info.description = std::move(description);
  info.input_schema = std::move(schema);
  info.risk_tier = "low";
  info.activity = std::move(activity);
  return info;
}

// Cuts to at most `max_bytes` on a UTF-8 boundary.
std::string CutUtf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

// Topic words for the substring fallback: runs of letters/digits (any non-ASCII byte counts as
// a letter, so accented words survive), longest first, at most kMaxFallbackWords.
std::vector<std::string> Words(std::string_view query) {
  std::vector<std::string> words;
  std::string current;
  auto flush = [&] {
    if (!current.empty() &&
        std::find(words.begin(), words.end(), current) == words.end()) {
      words.push_back(current);
    }
    current.clear();
  };
  for (unsigned char c : query) {
    if (std::isalnum(c) || c >= 0x80) {
      current.push_back(static_cast<char>(std::tolower(c)));
    } else {
      flush();
    }
  }
  flush();
  // One-letter words match nearly everything; keep them only if nothing else is left.
  std::vector<std::string> longer;
  std::copy_if(words.begin(), words.end(), std::back_inserter(longer),
               [](const std::string& w) { return w.size() > 1; });
  if (!longer.empty()) words = std::move(longer);
  std::stable_sort(words.begin(), words.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  if (words.size() > kMaxFallbackWords) words.resize(kMaxFallbackWords);
  return words;
}

// ILIKE patterns, one per line (passed as one parameter and split in SQL, which avoids
// array-literal quoting). Backslash is ILIKE's default escape character.
std::string LikePatterns(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += '\n';
    out += '%';
    for (char c : w) {
      if (c == '%' || c == '_' || c == '\\') out += '\\';
      out += c;
    }
    out += '%';
  }
  return out;
}

// A window of `content` around the first occurrence of any word (ASCII case-insensitive),
// with "…" where it was cut.
std::string Excerpt(const std::string& content, const std::vector<std::string>& words) {
  std::string lower = content;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t hit = std::string::npos;
  for (const auto& w : words) hit = std::min(hit, lower.find(w));
  if (hit == std::string::npos) hit = 0;
  size_t start = hit > kExcerptBytes / 3 ? hit - kExcerptBytes / 3 : 0;
  while (start > 0 && (static_cast<unsigned char>(content[start]) & 0xC0) == 0x80) --start;
  // Start on a word boundary when one is near, so the excerpt does not open mid-word.
  if (start > 0) {
    size_t space = content.find(' ', start);
    if (space != std::string::npos && space < hit) start = space + 1;
  }
  std::string out = CutUtf8(std::string_view(content).substr(start), kExcerptBytes);
  const bool cut_end = start + out.size() < content.size();
  return (start > 0 ? "…" : "") + out + (cut_end ? "…" : "");
}

// The title a note gets when none is given: its first line, shortened.
std::string DerivedTitle(const std::string& content) {
  std::string_view first = content;
  first = first.substr(0, first.find('\n'));
  while (!first.empty() && std::isspace(static_cast<unsigned char>(first.front()))) first.remove_prefix(1);
  std::string title = CutUtf8(first, kDerivedTitleBytes);
  if (title.size() < first.size()) title += "…";
  return title;
}

std::string ArgString(const json& args, const char* key) {
  auto it = args.find(key);
  return it != args.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int ArgLimit(const json& args) {
  auto it = args.find("limit");
  if (it == args.end() || !it->is_number()) return kDefaultLimit;
  return std::clamp(static_cast<int>(it->get<double>()), 1, 50);
}

// The uuid text to bind, or "" (bound as NULL through NULLIF) when it is not a uuid.
std::string UuidOrEmpty(const std::string& s) { return IsUuid(s) ? s : std::string(); }

void LogAccess(pqxx::work& tx, const char* action, const std::string& item_id,
               const std::string& query, const CallContext& ctx) {
  tx.exec_params(
      "INSERT INTO memory_access_log (item_id, action, query, run_id) "
      "VALUES (NULLIF($1, '')::bigint, $2, NULLIF($3, ''), NULLIF($4, '')::uuid)",
      item_id, action, query, UuidOrEmpty(ctx.run_id));
}

// A query of only stop words makes PostgreSQL send a NOTICE per parse, which libpq would print
// to stderr; an empty result already says all there is to say.
void QuietNotices(pqxx::work& tx) { tx.exec("SET LOCAL client_min_messages TO warning"); }

struct Match {
  std::string session_id;
  std::string session_title;
  std::string created_at;
  std::string role;
  std::string excerpt;
};

// Filters shared by both recall queries: $2 since, $3 until, $4 excluded session, $5 limit.
constexpr const char* kRecallFilters =
    " AND m.role IN ('user', 'assistant')"
    " AND (NULLIF($2, '') IS NULL OR m.created_at >= NULLIF($2, '')::timestamptz)"
    " AND (NULLIF($3, '') IS NULL OR m.created_at < NULLIF($3, '')::timestamptz)"
    " AND (NULLIF($4, '') IS NULL OR m.session_id <> NULLIF($4, '')::uuid)";

std::string RecallText(const std::vector<Match>& matches, const std::string& query) {
  if (matches.empty()) {
    return "No earlier conversation matches \"" + query + "\".";
  }
  std::map<std::string, int> sessions;
  for (const auto& m : matches) sessions[m.session_id]++;
  std::string text = "Found " + std::to_string(matches.size()) +
                     (matches.size() == 1 ? " message" : " messages") + " in " +
                     std::to_string(sessions.size()) +
                     (sessions.size() == 1 ? " earlier conversation" : " earlier conversations") +
                     " matching \"" + query + "\":\n";
  std::string current;
  for (const auto& m : matches) {
    if (m.session_id != current) {
      current = m.session_id;
      text += "\nConversation \"" + (m.session_title.empty() ? "untitled" : m.session_title) +
              "\" (session " + m.session_id + "):\n";
    }
    text += "- " + m.created_at + " " + m.role + ": " + m.excerpt + "\n";
  }
  return text;
}

}  // namespace

namespace {
std::vector<ToolInfo> BuildTools() {
  std::vector<ToolInfo> tools;
  tools.push_back(MakeTool(
      "recall_conversation",
      "Find what was said in earlier conversations with the user (never the current one). "
      "Searches past chat messages by topic words, optionally within a time range, and returns "
      "excerpts grouped by conversation. Use it when the user refers to something discussed "
      "before, e.g. \"what did we decide about the trip last week?\".",
      {{"type", "object"},
       {"properties",
        {{"query", QuerySchema("Topic words to look for, e.g. \"paris trip budget\".")},
         {"since",
          {{"type", "string"},
           {"format", "date-time"},
           {"description", "Only messages at or after this time, e.g. 2024-05-01T00:00:00Z."}}},
         {"until",
          {{"type", "string"},
           {"format", "date-time"},
           {"description", "Only messages before this time, e.g. 2024-05-08T00:00:00Z."}}},
         {"limit", LimitSchema()}}},
       {"required", {"query"}},
       {"additionalProperties", false}},
      "searching past conversations"));
  tools.push_back(MakeTool(
      "remember",
      "Save a note to long-term memory so it can be found later with memory.search. Use it for "
      "facts, preferences and decisions the user wants kept.",
      {{"type", "object"},
       {"properties",
        {{"content",
          {{"type", "string"},
           {"minLength", 1},
           {"maxLength", 20000},
           {"description", "What to remember, self-contained."}}},
         {"title",
          {{"type", "string"},
           {"maxLength", 200},
           {"description", "A short title; defaults to the first line of content."}}}}},
       {"required", {"content"}},
       {"additionalProperties", false}},
      "saving to memory"));
  tools.push_back(MakeTool(
      "search",
      "Search saved memory (notes, facts, ingested documents) by relevance to a query.",
      {{"type", "object"},
       {"properties",
        {{"query", QuerySchema("What to look for, in words. Dates (\"last week\", \"on May 3\") and "
                               "key:value terms (type:note, author:ann) in the query become filters.")},
         {"limit", LimitSchema()},
         {"types",
          {{"type", "array"},
           {"items", {{"type", "string"}}},
           {"description", "Only these item types, e.g. [\"note\", \"document\"]."}}},
         {"since", {{"type", "string"}, {"format", "date-time"}, {"description", "Only items created at or after this time."}}},
         {"until", {{"type", "string"}, {"format", "date-time"}, {"description", "Only items created before this time."}}},
         {"as_of",
          {{"type", "string"},
           {"format", "date-time"},
           {"description", "Search memory as it was at this time (superseded versions included)."}}}}},
       {"required", {"query"}},
       {"additionalProperties", false}},
      "searching memory"));
  return tools;
}

// The list is the same for every provider and never changes: built once, not per call.
const std::vector<ToolInfo>& Tools() {
  static const std::vector<ToolInfo> kTools = BuildTools();
  return kTools;
}
}  // namespace

std::vector<ToolInfo> MemoryToolProvider::ListTools() const { return Tools(); }

std::shared_ptr<const ToolInfo> MemoryToolProvider::FindTool(std::string_view name) const {
  for (const auto& info : Tools()) {
    // The list is a static that outlives every call: a non-owning pointer (aliasing an empty
    // owner) is safe and costs no copy.
    if (info.name == name) return std::shared_ptr<const ToolInfo>(std::shared_ptr<const ToolInfo>(), &info);
  }
  return nullptr;
}

Result<ToolCallResult> MemoryToolProvider::Call(std::string_view tool, const json& args,
                                                const CallContext& ctx) {
  if (tool == "recall_conversation") return RecallConversation(args, ctx);
  if (tool == "remember") return Remember(args, ctx);
  if (tool == "search") return Search(args, ctx);
  return MakeError(ErrorCode::kNotFound, "the memory server has no tool \"" + std::string(tool) + "\"",
                   "memory." + std::string(tool));
}

Result<ToolCallResult> MemoryToolProvider::RecallConversation(const json& args,
                                                              const CallContext& ctx) {
  const std::string query = ArgString(args, "query");
  const std::string since = ArgString(args, "since");
  const std::string until = ArgString(args, "until");
  const int limit = ArgLimit(args);
  const std::string exclude = UuidOrEmpty(ctx.session_id);
  const std::vector<std::string> words = Words(query);
  // A child of the tool call's span (the registry makes it current around Call).
  telemetry::ScopedSpan span = telemetry::StartSpan("memory.recall_conversation");
  span.Set("memory.operation", "recall_conversation").Set("memory.query", query).SetRunId(ctx.run_id);

  auto rows = db_.Transact([&](pqxx::work& tx) {
    QuietNotices(tx);
    // Rank and cut first, then compute headlines for the survivors only: ts_headline re-parses
    // the whole message and is the expensive part.
    pqxx::result r = tx.exec_params(
        std::string("SELECT h.session_id, h.title, to_char(h.created_at AT TIME ZONE 'UTC', ") +
            kIsoUtc + "), h.role, " + Headline("h") + " FROM ("
            " SELECT m.session_id::text AS session_id, s.title, m.created_at, m.role, m.content,"
            "  q.q, ts_rank(m.search, q.q) AS rank"
            " FROM chat_message m JOIN chat_session s ON s.id = m.session_id,"
            "  websearch_to_tsquery('english', $1) AS q(q)"
            " WHERE m.search @@ q.q" +
            kRecallFilters + " ORDER BY rank DESC, m.created_at DESC LIMIT $5) h" +
            " ORDER BY h.rank DESC, h.created_at DESC",
        query, since, until, exclude, limit);
    std::vector<Match> matches;
    for (const auto& row : r) {
      matches.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                         row[2].as<std::string>(), row[3].as<std::string>(),
                         row[4].as<std::string>()});
    }
    // Full-text search finds nothing for stop words, names the stemmer mangles and partial
    // words; a plain substring match on each word is the safety net.
    if (matches.empty() && !words.empty()) {
      r = tx.exec_params(
          std::string("SELECT m.session_id::text, s.title, to_char(m.created_at AT TIME ZONE "
                      "'UTC', ") +
              kIsoUtc +
              "), m.role, m.content"
              " FROM chat_message m JOIN chat_session s ON s.id = m.session_id"
              " WHERE m.content ILIKE ANY (string_to_array($1, chr(10)))" +
              kRecallFilters +
              " ORDER BY (SELECT count(*) FROM unnest(string_to_array($1, chr(10))) p"
              "           WHERE m.content ILIKE p) DESC, m.created_at DESC LIMIT $5",
          LikePatterns(words), since, until, exclude, limit);
      for (const auto& row : r) {
        matches.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                           row[2].as<std::string>(), row[3].as<std::string>(),
                           Excerpt(row[4].as<std::string>(), words)});
      }
    }
    LogAccess(tx, "search", "", "recall_conversation: " + query, ctx);
    return matches;
  });
  span.Set("memory.result_count", rows.ok() ? rows->size() : 0);
  if (!rows.ok()) {
    span.SetError(rows.error().message);
    return rows.error();
  }

  // Group by conversation, best-matching conversation first, each one's messages in order.
  std::vector<Match> matches = std::move(*rows);
  std::map<std::string, size_t> first_seen;
  for (size_t i = 0; i < matches.size(); ++i) first_seen.emplace(matches[i].session_id, i);
  std::stable_sort(matches.begin(), matches.end(), [&](const Match& a, const Match& b) {
    const size_t ga = first_seen.at(a.session_id), gb = first_seen.at(b.session_id);
    if (ga != gb) return ga < gb;
    return a.created_at < b.created_at;
  });

  json list = json::array();
  for (const auto& m : matches) {
    list.push_back({{"session_id", m.session_id},
                    {"session_title", m.session_title},
                    {"created_at", m.created_at},
                    {"role", m.role},
                    {"excerpt", m.excerpt}});
  }
  return ToolCallResult::Text(RecallText(matches, query), {{"matches", std::move(list)}});
}

Result<ToolCallResult> MemoryToolProvider::Remember(const json& args, const CallContext& ctx) {
  if (index_ != nullptr) return RememberIndexed(args, ctx);
  const std::string content = ArgString(args, "content");
  std::string title = ArgString(args, "title");
  if (title.empty()) title = DerivedTitle(content);
  const std::string source = IsUuid(ctx.session_id) ? "conversation:" + ctx.session_id
                                                    : std::string("conversation");
  json metadata = {{"principal", ctx.principal}};
  if (IsUuid(ctx.run_id)) metadata["run_id"] = ctx.run_id;

  auto saved = db_.Transact([&](pqxx::work& tx) {
    const pqxx::row row = tx.exec_params1(
        std::string("INSERT INTO memory_item (type, title, source, content, metadata) "
                    "VALUES ('note', $1, $2, $3, $4::jsonb) "
                    "RETURNING id, to_char(created_at AT TIME ZONE 'UTC', ") +
            kIsoUtc + ")",
        title, source, content, metadata.dump());
    const auto id = row[0].as<int64_t>();
    LogAccess(tx, "write", std::to_string(id), "", ctx);
    return std::make_pair(id, row[1].as<std::string>());
  });
  if (!saved.ok()) return saved.error();
  const auto& [id, created_at] = *saved;
  return ToolCallResult::Text(
      "Saved note " + std::to_string(id) + ": \"" + title + "\".",
      {{"id", id}, {"title", title}, {"source", source}, {"created_at", created_at}});
}

Result<ToolCallResult> MemoryToolProvider::Search(const json& args, const CallContext& ctx) {
  if (index_ != nullptr) return SearchIndexed(args, ctx);
  const std::string query = ArgString(args, "query");
  const int limit = ArgLimit(args);
  const std::vector<std::string> words = Words(query);
  telemetry::ScopedSpan span = telemetry::StartSpan("memory.search");
  span.Set("memory.operation", "search").Set("memory.query", query).SetRunId(ctx.run_id);

  auto found = db_.Transact([&](pqxx::work& tx) {
    QuietNotices(tx);
    constexpr const char* kValid = " AND (i.valid_to IS NULL OR i.valid_to > now())";
    pqxx::result r = tx.exec_params(
        std::string("SELECT h.id, h.title, h.source, ") + Headline("h") +
            ", to_char(h.created_at AT TIME ZONE 'UTC', " + kIsoUtc + ") FROM ("
            " SELECT i.id, i.title, i.source, i.content, i.created_at, q.q,"
            "  ts_rank(i.search, q.q) AS rank"
            " FROM memory_item i, websearch_to_tsquery('english', $1) AS q(q)"
            " WHERE i.search @@ q.q" +
            kValid + " ORDER BY rank DESC, i.created_at DESC LIMIT $2) h" +
            " ORDER BY h.rank DESC, h.created_at DESC",
        query, limit);
    json results = json::array();
    for (const auto& row : r) {
      results.push_back({{"id", row[0].as<int64_t>()},
                         {"title", row[1].as<std::string>()},
                         {"source", row[2].as<std::string>()},
                         {"excerpt", row[3].as<std::string>()},
                         {"created_at", row[4].as<std::string>()}});
    }
    if (results.empty() && !words.empty()) {
      r = tx.exec_params(
          std::string("SELECT i.id, i.title, i.source, i.content, "
                      "to_char(i.created_at AT TIME ZONE 'UTC', ") +
              kIsoUtc +
              ") FROM memory_item i"
              " WHERE (i.title || ' ' || i.content) ILIKE ANY (string_to_array($1, chr(10)))" +
              kValid +
              " ORDER BY (SELECT count(*) FROM unnest(string_to_array($1, chr(10))) p"
              "           WHERE (i.title || ' ' || i.content) ILIKE p) DESC,"
              " i.created_at DESC LIMIT $2",
          LikePatterns(words), limit);
      for (const auto& row : r) {
        results.push_back({{"id", row[0].as<int64_t>()},
                           {"title", row[1].as<std::string>()},
                           {"source", row[2].as<std::string>()},
                           {"excerpt", Excerpt(row[3].as<std::string>(), words)},
                           {"created_at", row[4].as<std::string>()}});
      }
    }
    LogAccess(tx, "search", "", query, ctx);
    for (const auto& item : results) {
      LogAccess(tx, "read", std::to_string(item["id"].get<int64_t>()), query, ctx);
    }
    return results;
  });
  span.Set("memory.result_count", found.ok() ? found->size() : 0);
  if (!found.ok()) {
    span.SetError(found.error().message);
    return found.error();
  }

  json results = std::move(*found);
  std::string text;
  if (results.empty()) {
    text = "Nothing in memory matches \"" + query + "\".";
  } else {
    text = "Found " + std::to_string(results.size()) + " memory item" +
           (results.size() == 1 ? "" : "s") + " for \"" + query + "\":\n";
    for (const auto& item : results) {
      text += "\n[" + std::to_string(item["id"].get<int64_t>()) + "] " +
              item["title"].get<std::string>() + " (" + item["source"].get<std::string>() + ", " +
              item["created_at"].get<std::string>() + ")\n" + item["excerpt"].get<std::string>() +
              "\n";
    }
  }
  return ToolCallResult::Text(std::move(text), {{"results", std::move(results)}});
}

Result<ToolCallResult> MemoryToolProvider::RememberIndexed(const json& args, const CallContext& ctx) {
  ItemInput item;
  item.type = "note";
  item.content = ArgString(args, "content");
  item.title = ArgString(args, "title");
  if (item.title.empty()) item.title = DerivedTitle(item.content);
  item.source = IsUuid(ctx.session_id) ? "conversation:" + ctx.session_id : std::string("conversation");
  item.metadata = {{"principal", ctx.principal}};
  if (IsUuid(ctx.run_id)) item.metadata["run_id"] = ctx.run_id;
  telemetry::ScopedSpan span = telemetry::StartSpan("memory.remember");
  span.Set("memory.operation", "remember").SetRunId(ctx.run_id);
  auto saved = index_->Add(item, AccessContext{UuidOrEmpty(ctx.run_id), ctx.principal});
  if (!saved.ok()) {
    span.SetError(saved.error().message);
    return saved.error();
  }
  span.Set("memory.item_id", static_cast<int64_t>(saved->id)).Set("memory.chunks", saved->chunks);
  return ToolCallResult::Text("Saved note " + std::to_string(saved->id) + ": \"" + item.title + "\".",
                              {{"id", saved->id},
                               {"title", item.title},
                               {"source", item.source},
                               {"created_at", saved->created_at},
                               {"chunks", saved->chunks},
                               {"embedded", saved->embedded == saved->chunks}});
}

Result<ToolCallResult> MemoryToolProvider::SearchIndexed(const json& args, const CallContext& ctx) {
  SearchRequest request;
  request.query = ArgString(args, "query");
  request.limit = ArgLimit(args);
  if (auto it = args.find("types"); it != args.end() && it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_string()) request.types.push_back(t.get<std::string>());
    }
  }
  request.created_from = ArgString(args, "since");
  request.created_to = ArgString(args, "until");
  request.as_of = ArgString(args, "as_of");
  telemetry::ScopedSpan span = telemetry::StartSpan("memory.search");
  span.Set("memory.operation", "search").Set("memory.query", request.query).SetRunId(ctx.run_id);
  auto found = index_->Search(request, AccessContext{UuidOrEmpty(ctx.run_id), ctx.principal});
  if (!found.ok()) {
    span.SetError(found.error().message);
    return found.error();
  }
  // The plan is part of the trace: which intent, paths, filters and how long each took.
  span.Set("memory.result_count", found->hits.size())
      .Set("memory.intent", found->plan.value("intent", std::string()))
      .Set("memory.plan", found->plan.dump());
  json results = json::array();
  std::string text;
  if (found->hits.empty()) {
    text = "Nothing in memory matches \"" + request.query + "\".";
  } else {
    text = "Found " + std::to_string(found->hits.size()) + " memory item" + (found->hits.size() == 1 ? "" : "s") +
           " for \"" + request.query + "\" (" + found->plan.value("intent", std::string("search")) + " search):\n";
    for (const auto& hit : found->hits) {
      json j = ToJson(hit);
      j["id"] = hit.item_id;  // what earlier clients read
      results.push_back(std::move(j));
      text += "\n[" + std::to_string(hit.item_id) + "] " + (hit.title.empty() ? "untitled" : hit.title) + " (" +
              (hit.source.empty() ? hit.type : hit.source) + ", " + hit.created_at + ")\n" + hit.excerpt + "\n";
    }
  }
  return ToolCallResult::Text(std::move(text), {{"results", std::move(results)}, {"plan", found->plan}});
}

}  // namespace steward::memory
