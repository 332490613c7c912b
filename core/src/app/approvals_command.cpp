#include "app/approvals_command.hpp"

#include <algorithm>
#include <memory>
#include <sstream>
#include <vector>

#include "app/chat_client.hpp"
#include "app/curl_handles.hpp"
#include "app/text_table.hpp"

namespace steward::app {

namespace {

using nlohmann::json;

constexpr size_t kArgumentsChars = 160;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// Cut to `max` bytes without splitting a UTF-8 sequence.
std::string Cut(std::string text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max - 1;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "…";
}

std::string Compact(const json& value) {
  return Cut(value.dump(-1, ' ', false, json::error_handler_t::replace), kArgumentsChars);
}

ErrorCode CodeForStatus(long status) {
  switch (status) {
    case 400: return ErrorCode::kInvalidArgument;
    case 401: return ErrorCode::kUnauthenticated;
    case 403: return ErrorCode::kPermissionDenied;
    case 404: return ErrorCode::kNotFound;
    case 409: return ErrorCode::kConflict;
    default: return ErrorCode::kUnavailable;
  }
}

int Report(std::ostream& err, const Error& error) {
  err << "steward: " << error.ToString() << "\n";
  return 1;
}

}  // namespace

std::string RenderApprovals(const json& answer) {
  const json approvals = answer.value("approvals", json::array());
  if (approvals.empty()) return "No approvals are pending.\n";
  std::vector<std::vector<std::string>> rows = {{"ID", "TOOL", "TIER", "STATUS", "REQUESTED"}};
  std::vector<std::string> details;
  for (const auto& a : approvals) {
    std::string status = Str(a, "status");
    if (a.value("escalated", false)) status += " (escalated)";
    rows.push_back({Str(a, "id"), Str(a, "tool"), Str(a, "tier"), status, Str(a, "requested_at")});
    std::string detail = "    " + Compact(a.value("arguments", json::object()));
    if (!Str(a, "reason").empty()) detail += "\n    why: " + Str(a, "reason");
    if (!Str(a, "decided_by").empty()) {
      detail += "\n    decided by " + Str(a, "decided_by") + " at " + Str(a, "decided_at");
      if (!Str(a, "note").empty()) detail += ": " + Str(a, "note");
    }
    details.push_back(detail);
  }
  // The table, with each approval's arguments under its row.
  const std::string table = TextTable(rows);
  std::istringstream lines(table);
  std::string line;
  std::string out;
  for (size_t i = 0; std::getline(lines, line); ++i) {
    out += line + "\n";
    if (i > 0) out += details[i - 1] + "\n";
  }
  return out;
}

std::string RenderToolGaps(const json& answer) {
  const json reports = answer.value("reports", json::array());
  if (reports.empty()) return "No tool-gap reports.\n";
  std::string out;
  for (const auto& r : reports) {
    const json report = r.value("report", json::object());
    out += "#" + Str(r, "id") + "  " + Str(r, "created_at") + "  " + (r.value("valid", false) ? "valid" : "INVALID");
    if (!Str(r, "run_id").empty()) out += "  run " + Str(r, "run_id");
    out += "\n";
    if (report.is_object() && !Str(report, "task").empty()) out += "  task: " + Cut(Str(report, "task"), 200) + "\n";
    if (report.is_object() && report.contains("missing_tools") && report["missing_tools"].is_array()) {
      for (const auto& t : report["missing_tools"]) {
        if (!t.is_object()) continue;
        out += "  missing: " + Str(t, "name") + " (" + Str(t, "estimated_risk") + " risk)";
        if (!Str(t, "description").empty()) out += " - " + Cut(Str(t, "description"), 120);
        out += "\n";
      }
    }
    if (report.is_object() && report.contains("proposed_mcp_server") && report["proposed_mcp_server"].is_object()) {
      const json& server = report["proposed_mcp_server"];
      out += "  proposed server: " + Str(server, "name");
      if (!Str(server, "description").empty()) out += " - " + Cut(Str(server, "description"), 120);
      out += "\n";
    }
    for (const auto& e : r.value("errors", json::array())) {
      if (e.is_string()) out += "  schema: " + e.get<std::string>() + "\n";
    }
  }
  return out;
}

Result<json> PostApprovalDecision(const std::string& base_url, const std::string& token, const std::string& id,
                                  bool approve, const std::string& note, const std::string& arguments_hash) {
  CurlPtr curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
  json body = {{"decision", approve ? "approve" : "deny"}};
  if (!note.empty()) body["note"] = note;
  if (!arguments_hash.empty()) body["arguments_hash"] = arguments_hash;
  const std::string payload = body.dump();
  const std::string url = base_url + "/api/approvals/" + UrlEscape(id);
  const std::string auth = "Authorization: Bearer " + token;
  HeaderList headers(curl_slist_append(nullptr, "Content-Type: application/json"), curl_slist_free_all);
  headers.reset(curl_slist_append(headers.release(), auth.c_str()));
  std::string answer;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* u) -> size_t {
    static_cast<std::string*>(u)->append(p, s * n);
    return s * n;
  });
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &answer);
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) {
    return MakeError(ErrorCode::kUnavailable, "cannot reach Steward at " + base_url + ": " + curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  json j = json::parse(answer, nullptr, false);
  if (status != 200) {
    std::string message = "HTTP " + std::to_string(status) + " from " + url;
    std::string context;
    if (!j.is_discarded() && j.contains("error") && j["error"].is_object()) {
      message = j["error"].value("message", message);
      context = j["error"].value("context", std::string());
    }
    return MakeError(CodeForStatus(status), message, context);
  }
  if (j.is_discarded()) return MakeError(ErrorCode::kUnavailable, "the server sent invalid JSON", url);
  return j;
}

int RunApprovalsCommand(const std::string& base_url, const std::string& token, bool all, bool as_json,
                        std::ostream& out, std::ostream& err) {
  auto answer = GetJson(base_url, token, all ? "/api/approvals?status=all" : "/api/approvals?status=pending");
  if (!answer.ok()) return Report(err, answer.error());
  if (as_json) {
    out << answer->dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    out << RenderApprovals(*answer);
  }
  return 0;
}

int RunDecideCommand(const std::string& base_url, const std::string& token, const std::string& id, bool approve,
                     const std::string& note, std::ostream& out, std::ostream& err) {
  auto decided = PostApprovalDecision(base_url, token, id, approve, note);
  if (!decided.ok()) return Report(err, decided.error());
  out << (approve ? "approved " : "denied ") << Str(*decided, "tool") << " " << Compact(decided->value("arguments", json::object()))
      << " (approval " << Str(*decided, "id") << ")\n";
  return 0;
}

int RunToolGapsCommand(const std::string& base_url, const std::string& token, bool as_json, std::ostream& out,
                       std::ostream& err) {
  auto answer = GetJson(base_url, token, "/api/tool-gaps?limit=50");
  if (!answer.ok()) return Report(err, answer.error());
  if (as_json) {
    out << answer->dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    out << RenderToolGaps(*answer);
  }
  return 0;
}

std::string ApprovalQuestion(const json& event) {
  return "Approve " + Str(event, "tool") + " " + Compact(event.value("arguments", json::object())) + "? [y/N] ";
}

std::string ApprovalNotice(const json& event) {
  const std::string id = Str(event, "approval_id");
  std::string out = "approval required (" + Str(event, "tier") + " risk";
  if (!Str(event, "reason").empty()) out += ": " + Str(event, "reason");
  out += "): " + Str(event, "tool") + " " + Compact(event.value("arguments", json::object())) + "\n";
  out += "    approve: steward approve " + id + "\n";
  out += "    deny:    steward deny " + id + "\n";
  return out;
}

void HandleApprovalRequired(const std::string& base_url, const std::string& token, const json& event,
                            bool interactive, std::istream& in, FILE* prompt) {
  if (!interactive) {
    std::fprintf(prompt, "  · %s", ApprovalNotice(event).c_str());
    std::fflush(prompt);
    return;
  }
  std::fprintf(prompt, "  ? %s", ApprovalQuestion(event).c_str());
  std::fflush(prompt);
  std::string answer;
  if (!std::getline(in, answer)) answer.clear();
  const bool approve = answer == "y" || answer == "Y" || answer == "yes" || answer == "Yes";
  auto decided = PostApprovalDecision(base_url, token, Str(event, "approval_id"), approve, "",
                                      Str(event, "arguments_hash"));
  if (decided.ok()) {
    std::fprintf(prompt, "  · %s\n", approve ? "approved" : "denied");
  } else {
    std::fprintf(prompt, "  · could not %s: %s\n", approve ? "approve" : "deny", decided.error().ToString().c_str());
  }
  std::fflush(prompt);
}

}  // namespace steward::app
