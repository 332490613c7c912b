#include "tools/builtin/web_tool_provider.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <future>
#include <sstream>

#include "tools/builtin/guarded_http.hpp"
#include "tools/builtin/html_text.hpp"
#include "tools/risk_policy.hpp"

namespace steward::tools::builtin {

namespace {

using nlohmann::json;

constexpr int kDefaultSearchLimit = 5;
constexpr int kMaxSearchLimit = 20;
constexpr int kDefaultHnLimit = 10;
constexpr int kMaxHnLimit = 30;
constexpr size_t kApiMaxBytes = 4 * 1024 * 1024;

ToolInfo MakeTool(std::string name, std::string description, json schema, std::string activity) {
  ToolInfo info;
  info.name = "web." + name;
  info.server = "web";
  info.description = std::move(description);
  info.input_schema = std::move(schema);
  info.risk_tier = DefaultTier(info.name);
  info.activity = std::move(activity);
  return info;
}

int ArgInt(const json& args, const char* key, int fallback, int lo, int hi) {
  const auto it = args.find(key);
  if (it == args.end() || !it->is_number()) return fallback;
  return std::clamp(static_cast<int>(it->get<double>()), lo, hi);
}

std::string ArgString(const json& args, const char* key) {
  const auto it = args.find(key);
  return it != args.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The value of `charset=` in a Content-Type or <meta> tag, lowercase, or "".
std::string Charset(std::string_view text) {
  const std::string lower = Lower(std::string(text));
  const size_t at = lower.find("charset=");
  if (at == std::string::npos) return "";
  size_t i = at + 8;
  if (i < lower.size() && (lower[i] == '"' || lower[i] == '\'')) ++i;
  std::string out;
  while (i < lower.size() && (std::isalnum(static_cast<unsigned char>(lower[i])) || lower[i] == '-' || lower[i] == '_')) {
    out += lower[i++];
  }
  return out;
}

bool IsLatin1(const std::string& charset) {
  return charset == "iso-8859-1" || charset == "latin1" || charset == "latin-1" ||
         charset == "windows-1252" || charset == "cp1252" || charset == "iso-8859-15";
}

enum class BodyKind { kHtml, kText, kOther };

BodyKind KindOf(const std::string& content_type, std::string_view body) {
  const std::string type = content_type.substr(0, content_type.find(';'));
  if (type == "text/html" || type == "application/xhtml+xml") return BodyKind::kHtml;
  if (type.starts_with("text/") || type == "application/json" || type == "application/xml" ||
      type.ends_with("+json") || type.ends_with("+xml") || type == "application/javascript") {
    return BodyKind::kText;
  }
  if (!type.empty() && type != "application/octet-stream") return BodyKind::kOther;
  // No usable type: look at the bytes.
  const std::string head = Lower(std::string(body.substr(0, 512)));
  if (head.find("<html") != std::string::npos || head.find("<!doctype html") != std::string::npos) {
    return BodyKind::kHtml;
  }
  const bool binary = std::any_of(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(body.size(), 512)),
                                  [](char c) { return c == '\0'; });
  return binary ? BodyKind::kOther : BodyKind::kText;
}

std::string ReasonPhrase(long status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "authentication required";
    case 403: return "forbidden";
    case 404: return "not found";
    case 410: return "gone";
    case 429: return "too many requests";
    case 500: return "server error";
    case 502: return "bad gateway";
    case 503: return "service unavailable";
    case 504: return "gateway timeout";
    default: return status >= 500 ? "server error" : "client error";
  }
}

// "12.3 KB" for messages.
std::string Size(size_t bytes) {
  std::ostringstream out;
  out.precision(1);
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  out << std::fixed << static_cast<double>(bytes) / 1024.0 << " KB";
  return out.str();
}

Result<json> GetJson(const std::string& url, const WebToolsConfig& config, std::string_view what) {
  HttpGetOptions options;
  options.timeout = config.timeout;
  options.max_bytes = kApiMaxBytes;
  options.headers = {"Accept: application/json"};
  auto response = HttpGet(url, options);
  if (!response.ok()) {
    Error e = response.error();
    e.message = std::string(what) + " is unavailable: " + e.message;
    if (e.code == ErrorCode::kInvalidArgument) e.code = ErrorCode::kConfig;
    return e;
  }
  if (response->status != 200) {
    return MakeError(ErrorCode::kUnavailable,
                     std::string(what) + " answered HTTP " + std::to_string(response->status) + " (" +
                         ReasonPhrase(response->status) + ") for " + url,
                     url);
  }
  json parsed = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return MakeError(ErrorCode::kUnavailable,
                     std::string(what) + " did not answer JSON" +
                         (response->truncated ? " (the answer passed 4 MB)" : ""),
                     url);
  }
  return parsed;
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

json StoryOf(const json& item) {
  const int64_t id = item.value("id", int64_t{0});
  const std::string hn_url = "https://news.ycombinator.com/item?id=" + std::to_string(id);
  std::string url = item.contains("url") && item["url"].is_string() ? item["url"].get<std::string>() : hn_url;
  return {{"id", id},
          {"title", SanitizeUtf8(item.value("title", ""))},
          {"url", SanitizeUtf8(url)},
          {"score", item.value("score", 0)},
          {"by", SanitizeUtf8(item.value("by", ""))},
          {"time", item.value("time", int64_t{0})},
          {"comments", item.value("descendants", item.value("comments", 0))},
          {"hn_url", hn_url}};
}

std::string StoriesText(const json& stories, const std::string& note) {
  std::string text = "Hacker News top stories" + note + ":\n";
  int n = 0;
  for (const auto& s : stories) {
    text += "\n" + std::to_string(++n) + ". " + s["title"].get<std::string>() + " — " +
            s["url"].get<std::string>() + " (" + std::to_string(s["score"].get<int>()) + " points, " +
            std::to_string(s["comments"].get<int>()) + " comments)";
  }
  return text + "\n";
}

}  // namespace

WebToolProvider::WebToolProvider(WebToolsConfig config, LocalCorpus corpus)
    : config_(std::move(config)), corpus_(std::move(corpus)), allow_hosts_(config_.allow_hosts) {}

std::vector<ToolInfo> WebToolProvider::ListTools() const {
  std::vector<ToolInfo> tools;
  const bool local = config_.search_backend != "searxng";
  tools.push_back(MakeTool(
      "search",
      local ? "Search documents for a query and get titles, URLs and matching passages. This "
              "server searches an offline corpus of saved documents (no live web). Use it to find "
              "sources before answering; fetch a result's URL for the full text."
            : "Search the web for a query and get titles, URLs and snippets of the top results. "
              "Use it to find sources before answering; fetch a result's URL for the full text.",
      {{"type", "object"},
       {"properties",
        {{"query",
          {{"type", "string"}, {"minLength", 1}, {"maxLength", 500}, {"description", "What to search for, in words."}}},
         {"limit",
          {{"type", "integer"},
           {"minimum", 1},
           {"maximum", kMaxSearchLimit},
           {"default", kDefaultSearchLimit},
           {"description", "Most results to return (default 5)."}}}}},
       {"required", {"query"}},
       {"additionalProperties", false}},
      "searching the web"));
  tools.push_back(MakeTool(
      "fetch",
      "Fetch a web page (http or https URL) and return its title and readable text, without "
      "scripts, styles or markup. Long pages are cut. Private network addresses are refused.",
      {{"type", "object"},
       {"properties",
        {{"url",
          {{"type", "string"}, {"minLength", 1}, {"maxLength", 4000}, {"description", "The http:// or https:// URL to fetch."}}},
         {"max_bytes",
          {{"type", "integer"},
           {"minimum", 1},
           {"maximum", static_cast<int64_t>(config_.max_bytes)},
           {"default", static_cast<int64_t>(config_.max_text_bytes)},
           {"description", "Most bytes of text to return (default " + std::to_string(config_.max_text_bytes) + ")."}}}}},
       {"required", {"url"}},
       {"additionalProperties", false}},
      "fetching a web page"));
  tools.push_back(MakeTool(
      "hn_top",
      "The current top stories on Hacker News: title, link, points and comment count. Use it "
      "for what is trending in technology.",
      {{"type", "object"},
       {"properties",
        {{"limit",
          {{"type", "integer"},
           {"minimum", 1},
           {"maximum", kMaxHnLimit},
           {"default", kDefaultHnLimit},
           {"description", "How many stories (default 10)."}}}}},
       {"additionalProperties", false}},
      "fetching Hacker News top stories"));
  return tools;
}

Result<ToolCallResult> WebToolProvider::Call(std::string_view tool, const json& args, const CallContext& ctx) {
  if (tool == "search") return Search(args);
  if (tool == "fetch") return Fetch(args, ctx);
  if (tool == "hn_top") return HnTop(args);
  return MakeError(ErrorCode::kNotFound, "the web server has no tool \"" + std::string(tool) + "\"",
                   "web." + std::string(tool));
}

Result<ToolCallResult> WebToolProvider::Search(const json& args) {
  const std::string query = ArgString(args, "query");
  const int limit = ArgInt(args, "limit", kDefaultSearchLimit, 1, kMaxSearchLimit);
  if (config_.search_backend == "searxng") return SearchSearxng(query, limit);

  json results = json::array();
  std::string text;
  for (const auto& hit : corpus_.Search(query, static_cast<size_t>(limit))) {
    const CorpusDocument& doc = corpus_.documents()[hit.index];
    results.push_back({{"title", doc.title}, {"url", doc.url}, {"content", hit.snippet},
                       {"score", std::round(hit.score * 1000) / 1000}});
    text += "\n[" + std::to_string(results.size()) + "] " + doc.title + " — " + doc.url + "\n" + hit.snippet + "\n";
  }
  text = results.empty()
             ? "No document in the offline corpus matches \"" + query + "\"."
             : "Found " + std::to_string(results.size()) + " document" + (results.size() == 1 ? "" : "s") +
                   " in the offline corpus for \"" + query + "\":\n" + text;
  return ToolCallResult::Text(std::move(text),
                              {{"backend", "local"}, {"query", query}, {"results", std::move(results)}});
}

Result<ToolCallResult> WebToolProvider::SearchSearxng(const std::string& query, int limit) {
  const std::string url = TrimSlash(config_.searxng_url) + "/search?q=" + UrlEncode(query) + "&format=json";
  auto parsed = GetJson(url, config_, "web search (SearXNG at " + config_.searxng_url + ")");
  if (!parsed.ok()) {
    Error e = parsed.error();
    if (e.message.find("HTTP 403") != std::string::npos) {
      e.message += "; enable the JSON format in SearXNG's settings.yml (search: formats: [html, json])";
    }
    return e;
  }
  json results = json::array();
  std::string text;
  if (parsed->contains("results") && (*parsed)["results"].is_array()) {
    for (const auto& r : (*parsed)["results"]) {
      if (!r.is_object() || !r.contains("url") || !r["url"].is_string()) continue;
      json item = {{"title", SanitizeUtf8(r.value("title", ""))},
                   {"url", SanitizeUtf8(r["url"].get<std::string>())},
                   {"content", SanitizeUtf8(r.contains("content") && r["content"].is_string() ? r["content"].get<std::string>() : "")}};
      if (r.contains("engine") && r["engine"].is_string()) item["engine"] = r["engine"];
      text += "\n[" + std::to_string(results.size() + 1) + "] " + item["title"].get<std::string>() + " — " +
              item["url"].get<std::string>() + "\n" + item["content"].get<std::string>() + "\n";
      results.push_back(std::move(item));
      if (static_cast<int>(results.size()) >= limit) break;
    }
  }
  text = results.empty() ? "The web search found nothing for \"" + query + "\"."
                         : "Found " + std::to_string(results.size()) + " web result" +
                               (results.size() == 1 ? "" : "s") + " for \"" + query + "\":\n" + text;
  return ToolCallResult::Text(std::move(text),
                              {{"backend", "searxng"}, {"query", query}, {"results", std::move(results)}});
}

Result<ToolCallResult> WebToolProvider::Fetch(const json& args, const CallContext& ctx) {
  const std::string url = ArgString(args, "url");
  const auto max_text = static_cast<size_t>(
      ArgInt(args, "max_bytes", static_cast<int>(config_.max_text_bytes), 1, static_cast<int>(config_.max_bytes)));
  const std::string host = UrlHost(url);
  if (ctx.emit) {
    ctx.emit("status", {{"run_id", ctx.run_id}, {"text", "fetching " + (host.empty() ? url : host) + "…"}});
  }
  HttpGetOptions options;
  options.timeout = config_.timeout;
  options.max_bytes = config_.max_bytes;
  options.guard = true;
  options.allow_private = config_.allow_private;
  options.allow_hosts = &allow_hosts_;
  options.headers = {"Accept: text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5"};
  auto response = HttpGet(url, options);
  if (!response.ok()) return response.error();
  if (response->status >= 400) {
    return MakeError(ErrorCode::kUnavailable,
                     response->final_url + " answered HTTP " + std::to_string(response->status) + " (" +
                         ReasonPhrase(response->status) + ")",
                     url);
  }
  const BodyKind kind = KindOf(response->content_type, response->body);
  if (kind == BodyKind::kOther) {
    return MakeError(ErrorCode::kInvalidArgument,
                     response->final_url + " is " + response->content_type +
                         ", not a page web.fetch can read (it returns text from HTML and text documents)",
                     url);
  }
  std::string charset = Charset(response->content_type);
  if (charset.empty() && kind == BodyKind::kHtml) charset = Charset(std::string_view(response->body).substr(0, 2048));
  std::string body = IsLatin1(charset) ? Latin1ToUtf8(response->body) : std::move(response->body);
  PageText page;
  if (kind == BodyKind::kHtml) {
    page = HtmlToText(body);
  } else {
    page.text = CollapseWhitespace(SanitizeUtf8(body));
  }
  bool cut = false;
  std::string content = CutText(page.text, max_text, &cut);
  const bool truncated = cut || response->truncated;

  std::string text = (page.title.empty() ? std::string() : page.title + "\n") + response->final_url + "\n\n" +
                     content;
  if (truncated) {
    text += "\n\n[cut: the page is longer than " + Size(cut ? max_text : config_.max_bytes) + "]";
  }
  json pageinfo = {{"url", url},
                   {"final_url", response->final_url},
                   {"title", page.title},
                   {"content", content},
                   {"content_type", response->content_type},
                   {"status", response->status},
                   {"bytes", content.size()},
                   {"truncated", truncated}};
  return ToolCallResult::Text(std::move(text), {{"pages", json::array({std::move(pageinfo)})}});
}

Result<ToolCallResult> WebToolProvider::HnTop(const json& args) {
  const int limit = ArgInt(args, "limit", kDefaultHnLimit, 1, kMaxHnLimit);
  if (config_.offline) return HnFromFixture(limit, "tools.web.offline is set");
  const std::string base = TrimSlash(config_.hn_base_url);
  auto ids = GetJson(base + "/topstories.json", config_, "the Hacker News API");
  if (!ids.ok()) return HnFromFixture(limit, ids.error().message);
  if (!ids->is_array()) return HnFromFixture(limit, "the Hacker News API did not answer a list of ids");

  std::vector<int64_t> wanted;
  for (const auto& id : *ids) {
    if (id.is_number_integer()) wanted.push_back(id.get<int64_t>());
    if (static_cast<int>(wanted.size()) >= limit) break;
  }
  // One request per story; in parallel, since each is a round trip to the same API.
  std::vector<std::future<Result<json>>> items;
  for (int64_t id : wanted) {
    items.push_back(std::async(std::launch::async, [this, base, id] {
      return GetJson(base + "/item/" + std::to_string(id) + ".json", config_, "the Hacker News API");
    }));
  }
  json stories = json::array();
  std::string failure;
  for (auto& f : items) {
    auto item = f.get();
    if (!item.ok()) {
      failure = item.error().message;
      continue;
    }
    if (item->is_object() && item->value("type", "story") != "job" && !item->value("deleted", false) &&
        !item->value("dead", false)) {
      stories.push_back(StoryOf(*item));
    }
  }
  if (stories.empty() && !wanted.empty()) return HnFromFixture(limit, failure);
  return ToolCallResult::Text(StoriesText(stories, ""), {{"source", "live"}, {"stories", std::move(stories)}});
}

Result<ToolCallResult> WebToolProvider::HnFromFixture(int limit, const std::string& why) {
  std::ifstream in(config_.hn_fixture, std::ios::binary);
  std::ostringstream raw;
  raw << in.rdbuf();
  const json feed = json::parse(raw.str(), nullptr, /*allow_exceptions=*/false);
  const json* list = nullptr;
  if (feed.is_array()) list = &feed;
  if (feed.is_object() && feed.contains("stories") && feed["stories"].is_array()) list = &feed["stories"];
  if (!in || list == nullptr) {
    return MakeError(ErrorCode::kUnavailable,
                     "Hacker News cannot be reached (" + why + ") and the saved feed " +
                         config_.hn_fixture.string() +
                         " cannot be read (expected a JSON list of stories or {\"stories\": [...]})",
                     "web.hn_top");
  }
  json stories = json::array();
  for (const auto& item : *list) {
    if (!item.is_object()) continue;
    stories.push_back(StoryOf(item));
    if (static_cast<int>(stories.size()) >= limit) break;
  }
  const std::string saved_at = feed.is_object() ? feed.value("fetched_at", "") : "";
  const std::string note = " (offline: from the saved feed" + (saved_at.empty() ? "" : " of " + saved_at) +
                           ", because " + why + ")";
  json structured = {{"source", "fixture"}, {"stories", std::move(stories)}, {"reason", why}};
  if (!saved_at.empty()) structured["fetched_at"] = saved_at;
  return ToolCallResult::Text(StoriesText(structured["stories"], note), std::move(structured));
}

}  // namespace steward::tools::builtin
