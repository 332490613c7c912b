#include "app/memory_command.hpp"

#include <cctype>
#include <cstdio>

#include "app/chat_client.hpp"
#include "telemetry/logging.hpp"

namespace steward::app {

namespace {

using nlohmann::json;

std::string Ms(const json& v) {
  if (!v.is_number()) return "?";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", v.get<double>());
  return buf;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string UrlEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string RenderMemorySearch(const json& answer, bool explain) {
  std::string text;
  const json results = answer.value("results", json::array());
  const json plan = answer.value("plan", json::object());
  if (results.empty()) text += "Nothing in memory matches \"" + Str(answer, "query") + "\".\n";
  int n = 0;
  for (const auto& r : results) {
    char score[32];
    std::snprintf(score, sizeof score, "%.4f", r.value("score", 0.0));
    std::string ranks;
    if (r.contains("text_rank")) ranks += "text #" + std::to_string(r["text_rank"].get<int>());
    if (r.contains("vector_rank")) ranks += (ranks.empty() ? "" : " · ") + std::string("vector #") + std::to_string(r["vector_rank"].get<int>());
    const std::string title = Str(r, "title").empty() ? "untitled" : Str(r, "title");
    const std::string source = Str(r, "source").empty() ? Str(r, "type") : Str(r, "source");
    text += std::to_string(++n) + ". [" + std::to_string(r.value("item_id", 0)) + "] " + title + " — " + source + " (" +
            Str(r, "created_at") + ")  score " + score + (ranks.empty() ? "" : "  " + ranks) + "\n";
    std::string excerpt = Str(r, "excerpt");
    for (char& c : excerpt) {
      if (c == '\n') c = ' ';
    }
    text += "   " + excerpt + "\n";
  }
  std::string paths;
  for (const auto& p : plan.value("paths", json::array())) {
    std::string name = Str(p, "path");
    if (!Str(p, "backend").empty()) name += " (" + Str(p, "backend") + ")";
    paths += (paths.empty() ? "" : " + ") + name;
  }
  if (paths.empty()) paths = plan.value("order", std::string("filters only"));
  const json timings = plan.value("timings_ms", json::object());
  text += "plan: " + Str(plan, "intent") + " (" + Str(plan, "reason") + "); " + paths + "; " +
          Ms(timings.value("total_ms", json())) + "\n";
  if (!explain) return text;
  text += "\nquery words: \"" + Str(plan, "text_query") + "\"\n";
  for (const auto& p : plan.value("paths", json::array())) {
    text += "path " + Str(p, "path") + " (weight " + p.value("weight", json(1)).dump() + ", " +
            std::to_string(p.value("candidates", 0)) + " candidates): " + Str(p, "how") + "\n";
  }
  const json fusion = plan.value("fusion", json::object());
  text += "fusion: " + Str(fusion, "method") + ", k = " + fusion.value("k", json(60)).dump() + "\n";
  const json rerank = plan.value("rerank", json::object());
  text += "re-rank: recency weight " + rerank.value("recency_weight", json(0)).dump() + " (half-life " +
          rerank.value("recency_half_life_days", json(0)).dump() + " days), source authority\n";
  text += "filters: " + plan.value("filters", json::object()).dump() + "\n";
  if (plan.contains("time_window")) text += "time window: " + plan["time_window"].dump() + "\n";
  if (plan.contains("counts")) text += "candidates: " + plan["counts"].dump() + "\n";
  for (const auto& note : plan.value("notes", json::array())) text += "note: " + note.get<std::string>() + "\n";
  text += "timings:";
  for (const auto& [key, value] : timings.items()) text += " " + key + "=" + Ms(value);
  text += "\n";
  for (const auto& step : plan.value("sql", json::array())) {
    text += "\n-- " + Str(step, "step") + "\n" + Str(step, "sql") + "\n";
  }
  return text;
}

int RunMemorySearchCommand(const std::string& base_url, const std::string& token, const MemorySearchFlags& flags,
                           std::ostream& out, std::ostream& err) {
  std::string path = "/api/memory/search?q=" + UrlEncode(flags.query) + "&limit=" + std::to_string(flags.limit);
  if (!flags.mode.empty()) path += "&mode=" + UrlEncode(flags.mode);
  if (flags.explain) path += "&explain=1";
  auto answer = GetJson(base_url, token, path);
  if (!answer.ok()) {
    err << "steward: " << telemetry::Redact(answer.error().ToString()) << "\n";
    return 1;
  }
  out << (flags.json ? answer->dump(2) + "\n" : RenderMemorySearch(*answer, flags.explain));
  return 0;
}

}  // namespace steward::app
