#include "app/schedules_command.hpp"
#include "app/text_table.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

#include "app/chat_client.hpp"

namespace steward::app {

namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

std::string RenderSchedules(const json& answer) {
  const json list = answer.value("schedules", json::array());
  if (!list.is_array() || list.empty()) return "no workflow has a schedule (add `schedule:` to a workflow)\n";
  std::vector<std::vector<std::string>> rows = {{"WORKFLOW", "CRON", "TIME ZONE", "MISSED", "NEXT FIRE", "LAST FIRE"}};
  for (const auto& s : list) {
    std::string missed = Str(s, "missed");
    if (missed == "catch_up") missed += "(" + Str(s, "max_catch_up") + ")";
    std::string next = Str(s, "next_fire_local");
    if (next.empty()) next = "never";
    std::string last = Str(s, "last_fire");
    if (last.empty()) {
      last = "-";
    } else {
      last += " " + Str(s, "last_status");
      if (const std::string error = Str(s, "last_error"); !error.empty()) last += ": " + error;
    }
    rows.push_back({Str(s, "workflow"), Str(s, "cron"), Str(s, "timezone"), missed, next, last});
  }
  return TextTable(rows);
}

int RunSchedulesCommand(const std::string& base_url, const std::string& token, bool as_json, std::ostream& out,
                        std::ostream& err) {
  auto answer = GetJson(base_url, token, "/api/schedules");
  if (!answer.ok()) {
    err << "steward: " << answer.error().ToString() << "\n";
    return 1;
  }
  if (as_json) {
    out << answer->dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    out << RenderSchedules(*answer);
  }
  return 0;
}

}  // namespace steward::app
