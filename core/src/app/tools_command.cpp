#include "app/tools_command.hpp"
#include "app/text_table.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

#include "app/chat_client.hpp"

namespace steward::app {

namespace {

using nlohmann::json;

constexpr size_t kDescriptionChars = 70;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// The first sentence (or line) of a description, cut to fit a terminal row.
std::string Summary(std::string text) {
  const size_t line = text.find('\n');
  if (line != std::string::npos) text.resize(line);
  const size_t sentence = text.find(". ");
  if (sentence != std::string::npos) text.resize(sentence + 1);
  if (text.size() > kDescriptionChars) {
    size_t cut = kDescriptionChars - 1;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "…";
  }
  return text;
}

std::string Detail(const json& server) {
  std::vector<std::string> parts;
  if (server.contains("pid")) parts.push_back("pid " + Str(server, "pid"));
  if (!Str(server, "protocol_version").empty()) parts.push_back("MCP " + Str(server, "protocol_version"));
  if (server.value("restarts", 0) > 0) parts.push_back(Str(server, "restarts") + " restarts");
  if (server.contains("retry_in_s")) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "retry in %.1f s", server["retry_in_s"].get<double>());
    parts.push_back(buf);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  const std::string error = Str(server, "last_error");
  if (!error.empty() && server.value("health", "") != "ready") {
    out += (out.empty() ? "" : ": ") + Summary(error);
  }
  return out;
}

}  // namespace

std::string RenderTools(const json& answer) {
  std::vector<std::vector<std::string>> servers = {{"SERVER", "TRANSPORT", "HEALTH", "TOOLS", "DETAIL"}};
  for (const auto& s : answer.value("servers", json::array())) {
    servers.push_back({Str(s, "name"), Str(s, "transport"), Str(s, "health"),
                       std::to_string(s.value("tool_count", 0)), Detail(s)});
  }
  std::vector<std::vector<std::string>> tools = {{"TOOL", "TIER", "DESCRIPTION"}};
  for (const auto& t : answer.value("tools", json::array())) {
    tools.push_back({Str(t, "name"), Str(t, "risk_tier"), Summary(Str(t, "description"))});
  }
  std::string out = TextTable(servers);
  out += "\n";
  out += tools.size() == 1 ? "No tools are available.\n" : TextTable(tools);
  return out;
}

int RunToolsCommand(const std::string& base_url, const std::string& token, bool as_json,
                    std::ostream& out, std::ostream& err) {
  auto answer = GetJson(base_url, token, "/api/tools");
  if (!answer.ok()) {
    err << "steward: " << answer.error().ToString() << "\n";
    return 1;
  }
  if (as_json) {
    out << answer->dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    out << RenderTools(*answer);
  }
  return 0;
}

}  // namespace steward::app
