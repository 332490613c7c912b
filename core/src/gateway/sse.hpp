#pragma once
// Server-sent events framing.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace steward::gateway {

// "event: <type>\ndata: <json>\n\n". JSON has no raw newlines, so one data line suffices.
inline std::string SseEvent(std::string_view type, const nlohmann::json& data) {
  std::string out;
  out.reserve(64);
  out.append("event: ").append(type).append("\ndata: ");
  out.append(data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  out.append("\n\n");
  return out;
}

// A data-only event, as OpenAI streams use.
inline std::string SseData(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 8);
  out.append("data: ").append(data).append("\n\n");
  return out;
}

}  // namespace steward::gateway
