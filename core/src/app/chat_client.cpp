#include "app/chat_client.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <vector>

#include "app/approvals_command.hpp"
#include "models/detail/sse_parser.hpp"

namespace steward::app {

namespace {

using CurlPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

struct StreamState {
  const ChatClientOptions* options = nullptr;
  models::detail::SseParser parser;
  std::vector<models::detail::SseEvent> events;
  ChatTurnOutcome outcome;
  std::optional<Error> failure;
  std::string non_sse_body;  // an error answered as JSON instead of a stream
  bool is_sse = false;
  bool at_line_start = true;
  long status = 0;
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

size_t OnBody(char* ptr, size_t size, size_t nmemb, void* user) {
  auto& s = *static_cast<StreamState*>(user);
  const size_t n = size * nmemb;
  if (!s.is_sse) {
    s.non_sse_body.append(ptr, n);
    return n;
  }
  s.events.clear();
  if (!s.parser.Feed(std::string_view(ptr, n), s.events)) return 0;
  for (const auto& ev : s.events) Render(s, ev);
  return n;
}

size_t OnHeader(char* ptr, size_t size, size_t nmemb, void* user) {
  auto& s = *static_cast<StreamState*>(user);
  std::string line(ptr, size * nmemb);
  for (auto& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (line.rfind("content-type:", 0) == 0 && line.find("text/event-stream") != std::string::npos) s.is_sse = true;
  return size * nmemb;
}

Error ServerError(long status, const std::string& body, const std::string& url) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  std::string message = "HTTP " + std::to_string(status) + " from " + url;
  std::string context;
  if (!j.is_discarded() && j.contains("error") && j["error"].is_object()) {
    message = j["error"].value("message", message);
    context = j["error"].value("context", std::string());
  }
  ErrorCode code = ErrorCode::kUnavailable;
  if (status == 400) code = ErrorCode::kInvalidArgument;
  if (status == 401) code = ErrorCode::kUnauthenticated;
  if (status == 403) code = ErrorCode::kPermissionDenied;
  if (status == 404) code = ErrorCode::kNotFound;
  return MakeError(code, message, context);
}

}  // namespace

Result<ChatTurnOutcome> SendChat(const ChatClientOptions& options, const std::string& message) {
  CurlPtr curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
  nlohmann::json body = {{"message", message}, {"source", "cli"}};
  if (!options.agent.empty()) body["agent"] = options.agent;
  if (!options.session_id.empty()) body["session_id"] = options.session_id;
  const std::string payload = body.dump();
  const std::string url = options.base_url + "/api/chat";
  const std::string auth = "Authorization: Bearer " + options.token;
  HeaderList headers(curl_slist_append(nullptr, "Content-Type: application/json"), curl_slist_free_all);
  headers.reset(curl_slist_append(headers.release(), "Accept: text/event-stream"));
  headers.reset(curl_slist_append(headers.release(), auth.c_str()));

  StreamState state;
  state.options = &options;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &state);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl.get(), CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(curl.get());
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &state.status);
  if (rc != CURLE_OK) {
    return MakeError(ErrorCode::kUnavailable, std::string("cannot reach Steward at ") + options.base_url + ": " +
                                                  curl_easy_strerror(rc));
  }
  if (!state.is_sse) return ServerError(state.status, state.non_sse_body, url);
  if (auto last = state.parser.Finish()) Render(state, *last);
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
  if (status != 200) return ServerError(status, body, url);
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
