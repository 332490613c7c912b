#include "app/sse_client.hpp"

#include <cctype>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/curl_handles.hpp"

namespace steward::app {

namespace {


struct StreamState {
  const SseEventHandler* on_event = nullptr;
  models::detail::SseParser parser;
  std::vector<models::detail::SseEvent> events;
  SseResponse response;
};

size_t OnBody(char* ptr, size_t size, size_t nmemb, void* user) {
  auto& s = *static_cast<StreamState*>(user);
  const size_t n = size * nmemb;
  if (!s.response.streamed) {
    s.response.body.append(ptr, n);
    return n;
  }
  s.events.clear();
  // Returning short makes curl abort the transfer: an oversized event ends the stream.
  if (!s.parser.Feed(std::string_view(ptr, n), s.events)) return 0;
  for (const auto& ev : s.events) (*s.on_event)(ev);
  return n;
}

size_t OnHeader(char* ptr, size_t size, size_t nmemb, void* user) {
  auto& s = *static_cast<StreamState*>(user);
  std::string line(ptr, size * nmemb);
  for (auto& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (line.rfind("content-type:", 0) == 0 && line.find("text/event-stream") != std::string::npos) {
    s.response.streamed = true;
  }
  return size * nmemb;
}

}  // namespace

Result<SseResponse> PostForEvents(const SseRequest& request, const SseEventHandler& on_event) {
  CurlPtr curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
  const std::string url = request.base_url + request.path;
  const std::string auth = "Authorization: Bearer " + request.token;
  HeaderList headers(curl_slist_append(nullptr, "Content-Type: application/json"), curl_slist_free_all);
  headers.reset(curl_slist_append(headers.release(), "Accept: text/event-stream"));
  headers.reset(curl_slist_append(headers.release(), auth.c_str()));

  StreamState state;
  state.on_event = &on_event;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, request.json_body.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(request.json_body.size()));
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &state);
  // No overall timeout: a stream lives as long as the run (a model, an approval) takes.
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl.get(), CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(curl.get());
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &state.response.status);
  if (rc != CURLE_OK) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot reach Steward at " + request.base_url + ": " + curl_easy_strerror(rc));
  }
  if (state.response.streamed) {
    if (auto last = state.parser.Finish()) on_event(*last);
  }
  return std::move(state.response);
}

Error ErrorFromAnswer(long status, std::string_view body, std::string_view url) {
  const nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  std::string message = "HTTP " + std::to_string(status);
  if (!url.empty()) message.append(" from ").append(url);
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

}  // namespace steward::app
