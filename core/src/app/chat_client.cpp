#include "app/chat_client.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>

#include "app/approvals_command.hpp"
#include "app/curl_handles.hpp"
#include "app/sse_client.hpp"

namespace steward::app {

namespace {


struct StreamState {
  const ChatClientOptions* options = nullptr;
  ChatTurnOutcome outcome;
  std::optional<Error> failure;
  bool at_line_start = true;
};

void EnsureNewline(StreamState& s) {
  if (!s.at_line_start) {
    std::fputc('\n', s.options->out);
    std::fflush(s.options->out);
    s.at_line_start = true;
  }
}

void Progress(StreamState& s, const std::string& line) {
  if (!s.options->show_progress) return;
  EnsureNewline(s);
  std::fprintf(s.options->progress, "  · %s\n", line.c_str());
  std::fflush(s.options->progress);
}

void Render(StreamState& s, const models::detail::SseEvent& ev) {
  nlohmann::json data = nlohmann::json::parse(ev.data, nullptr, false);
  if (data.is_discarded()) return;
  if (ev.event == "session") {
    s.outcome.session_id = data.value("session_id", "");
    s.outcome.run_id = data.value("run_id", "");
  } else if (ev.event == "status") {
    Progress(s, data.value("text", ""));
  } else if (ev.event == "tool_call") {
    Progress(s, "→ " + data.value("tool", std::string("tool")) + " " + data.value("arguments", nlohmann::json::object()).dump());
  } else if (ev.event == "tool_result") {
    Progress(s, std::string(data.value("ok", false) ? "← " : "✗ ") + data.value("tool", std::string("tool")) + ": " +
                    data.value("summary", std::string()));
  } else if (ev.event == "approval_required") {
    // Shown even when quiet: the run waits for this answer. The stream pauses while we ask.
    EnsureNewline(s);
    HandleApprovalRequired(s.options->base_url, s.options->token, data, isatty(STDIN_FILENO) != 0, std::cin,
                           s.options->progress);
  } else if (ev.event == "approval_resolved") {
    Progress(s, "approval " + data.value("approval_id", std::string()) + ": " +
                    data.value("decision", std::string()) + " by " + data.value("by", std::string()));
  } else if (ev.event == "token") {
    const std::string text = data.value("text", "");
    s.outcome.answer += text;
    std::fwrite(text.data(), 1, text.size(), s.options->out);
    std::fflush(s.options->out);
    if (!text.empty()) s.at_line_start = text.back() == '\n';
  } else if (ev.event == "done") {
    EnsureNewline(s);
    s.outcome.done = data;
    if (data.contains("tool_gap") && data["tool_gap"].is_object()) {
      std::string missing;
      const nlohmann::json& report = data["tool_gap"]["report"];
      if (report.is_object() && report.contains("missing_tools") && report["missing_tools"].is_array()) {
        for (const auto& t : report["missing_tools"]) {
          if (t.is_object()) missing += (missing.empty() ? "" : ", ") + t.value("name", std::string("?"));
        }
      }
      Progress(s, "tool gap reported" + (missing.empty() ? std::string() : ": missing " + missing) +
                      " (steward tools gaps)");
    }
    std::fprintf(s.options->progress, "%s\n", data.value("summary", std::string("✓ complete")).c_str());
    std::fflush(s.options->progress);
  } else if (ev.event == "error") {
    EnsureNewline(s);
    s.failure = MakeError(ErrorCode::kUnavailable, data.value("message", std::string("the run failed")),
                          data.value("code", std::string()));
  }
}

}  // namespace

Result<ChatTurnOutcome> SendChat(const ChatClientOptions& options, const std::string& message) {
  nlohmann::json body = {{"message", message}, {"source", "cli"}};
  if (!options.agent.empty()) body["agent"] = options.agent;
  if (!options.session_id.empty()) body["session_id"] = options.session_id;
  StreamState state;
  state.options = &options;
  auto response = PostForEvents({options.base_url, "/api/chat", options.token, body.dump()},
                                [&](const models::detail::SseEvent& ev) { Render(state, ev); });
  if (!response.ok()) return response.error();
  if (!response->streamed) return ErrorFromAnswer(response->status, response->body, options.base_url + "/api/chat");
  if (state.failure) return *state.failure;
  if (state.outcome.done.is_null()) {
    return MakeError(ErrorCode::kUnavailable, "the stream ended before the answer was complete");
  }
  return state.outcome;
}

Result<nlohmann::json> GetJson(const std::string& base_url, const std::string& token, const std::string& path) {
  CurlPtr curl(curl_easy_init(), curl_easy_cleanup);
  const std::string url = base_url + path;
  const std::string auth = "Authorization: Bearer " + token;
  HeaderList headers(curl_slist_append(nullptr, auth.c_str()), curl_slist_free_all);
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION,
                   +[](char* p, size_t s, size_t n, void* u) -> size_t {
                     static_cast<std::string*>(u)->append(p, s * n);
                     return s * n;
                   });
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) {
    return MakeError(ErrorCode::kUnavailable, "cannot reach Steward at " + base_url + ": " + curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) return ErrorFromAnswer(status, body, url);
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return MakeError(ErrorCode::kUnavailable, "the server sent invalid JSON", url);
  return j;
}

bool ServerIsUp(const std::string& base_url, long timeout_ms) {
  CurlPtr curl(curl_easy_init(), curl_easy_cleanup);
  const std::string url = base_url + "/healthz";
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) -> size_t { return s * n; });
  if (curl_easy_perform(curl.get()) != CURLE_OK) return false;
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  return status == 200;
}

}  // namespace steward::app
