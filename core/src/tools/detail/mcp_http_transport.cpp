// The Streamable HTTP transport (MCP 2025-03-26 and later): every client message is a POST; the
// server answers a request with one JSON body or with an SSE stream that carries the response
// (and any notifications or requests before it); a GET opens a stream for messages the server
// sends on its own (list_changed). The session id the server assigns at initialize goes on every
// later request.

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "models/detail/sse_parser.hpp"
#include "tools/detail/mcp_frame.hpp"
#include "tools/detail/mcp_transport.hpp"

namespace steward::tools::detail {

namespace {

using models::detail::SseEvent;
using models::detail::SseParser;

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr size_t kMaxIdleHandles = 8;
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kDeleteTimeout = std::chrono::seconds(2);
constexpr auto kStreamRetryMin = std::chrono::seconds(1);
constexpr auto kStreamRetryMax = std::chrono::seconds(30);

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The readable part of an HTTP error body: a JSON-RPC error's message, else the start of the text.
std::string ErrorBodyText(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    if (auto e = j.find("error"); e != j.end()) {
      if (e->is_object() && e->contains("message") && (*e)["message"].is_string()) {
        return (*e)["message"].get<std::string>();
      }
      if (e->is_string()) return e->get<std::string>();
    }
    if (auto m = j.find("message"); m != j.end() && m->is_string()) return m->get<std::string>();
    if (auto d = j.find("detail"); d != j.end() && d->is_string()) return d->get<std::string>();
  }
  std::string text = Trim(body.substr(0, 300));
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text.empty() ? "(empty body)" : text;
}

enum class BodyMode { kUndecided, kSse, kJson, kError, kIgnore };

// One transfer's state, shared with libcurl's C callbacks.
struct Exchange {
  McpTransportSink* sink = nullptr;
  CURL* curl = nullptr;
  const std::atomic<bool>* stop = nullptr;
  long status = 0;
  std::string content_type;
  std::string session_id;  // from the response headers
  BodyMode mode = BodyMode::kUndecided;
  std::string body;        // JSON body or error body
  size_t body_size = 0;
  SseParser sse;
  std::vector<SseEvent> events;
  bool oversized = false;
  bool delivered = false;  // some message reached the sink
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto& x = *static_cast<Exchange*>(user);
  const std::string_view line(data, size * count);
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos && Lower(line.substr(0, colon)) == "mcp-session-id") {
    x.session_id = Trim(line.substr(colon + 1));
  }
  return size * count;
}

void Deliver(Exchange& x, std::string_view text) {
  x.delivered = true;
  x.sink->OnText(text);
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto& x = *static_cast<Exchange*>(user);
  const size_t bytes = size * count;
  const std::string_view chunk(data, bytes);
  if (x.mode == BodyMode::kUndecided) {
    curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &x.status);
    char* type = nullptr;
    curl_easy_getinfo(x.curl, CURLINFO_CONTENT_TYPE, &type);
    x.content_type = type == nullptr ? "" : Lower(type);
    if (x.status < 200 || x.status >= 300) {
      x.mode = BodyMode::kError;
    } else if (x.content_type.find("text/event-stream") != std::string::npos) {
      x.mode = BodyMode::kSse;
    } else if (x.content_type.find("json") != std::string::npos) {
      x.mode = BodyMode::kJson;
    } else {
      x.mode = BodyMode::kIgnore;  // 202 with a stray body, or a content type we cannot read
    }
  }
  switch (x.mode) {
    case BodyMode::kSse: {
      x.events.clear();
      if (!x.sse.Feed(chunk, x.events)) {
        x.oversized = true;
        return 0;  // aborts the transfer
      }
      for (const auto& event : x.events) {
        // Only "message" events carry JSON-RPC; empty ones are resumability primers.
        if ((event.event.empty() || event.event == "message") && !event.data.empty()) {
          Deliver(x, event.data);
        }
      }
      return bytes;
    }
    case BodyMode::kJson:
      x.body_size += bytes;
      if (x.body_size > kMaxMcpFrameBytes) {
        x.oversized = true;
        return 0;
      }
      x.body.append(chunk);
      return bytes;
    case BodyMode::kError:
      if (x.body.size() < kMaxErrorBody) x.body.append(chunk.substr(0, kMaxErrorBody - x.body.size()));
      return bytes;
    default:
      return bytes;
  }
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto& x = *static_cast<Exchange*>(user);
  return x.stop->load() ? 1 : 0;  // non-zero aborts
}

class HttpTransport final : public McpTransport {
 public:
  explicit HttpTransport(McpServerConfig config) : config_(std::move(config)) { EnsureCurlGlobalInit(); }

  ~HttpTransport() override {
    Close();
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
  }

  Status Open(McpTransportSink& sink) override {
    sink_ = &sink;
    stop_ = false;
    closed_reported_ = false;
    std::lock_guard lock(mu_);
    session_id_.clear();
    protocol_version_.clear();
    return Status::Ok();
  }

  Status Send(const std::string& message, std::chrono::steady_clock::time_point deadline) override {
    if (stop_) return MakeError(ErrorCode::kUnavailable, "the connection is closed");
    std::string session;
    {
      std::lock_guard lock(mu_);
      session = session_id_;
    }
    Exchange x;
    const CURLcode code = Perform("POST", &message, deadline, x);
    if (!x.session_id.empty()) {
      std::lock_guard lock(mu_);
      session_id_ = x.session_id;
    }
    if (x.oversized) {
      return MakeError(ErrorCode::kUnavailable, "sent a message larger than " +
                                                    std::to_string(kMaxMcpFrameBytes >> 20) +
                                                    " MiB; it was dropped");
    }
    if (code != CURLE_OK) return TransferError(code);
    if (x.status == 404 && !session.empty()) {
      // The server forgot the session (it restarted, or expired it): only a new initialize helps.
      Error gone = MakeError(ErrorCode::kUnavailable,
                             "the server no longer knows session " + session + " (HTTP 404)");
      ReportClosed(gone);
      return gone;
    }
    if (x.status < 200 || x.status >= 300) {
      return MakeError(ErrorCodeForStatus(x.status),
                       "HTTP " + std::to_string(x.status) + " from " + config_.url + ": " +
                           ErrorBodyText(x.body));
    }
    if (x.mode == BodyMode::kJson && !x.body.empty()) Deliver(x, x.body);
    if (x.mode == BodyMode::kSse) {
      if (auto last = x.sse.Finish(); last && !last->data.empty()) Deliver(x, last->data);
    }
    return Status::Ok();
  }

  void Initialized(const std::string& protocol_version) override {
    {
      std::lock_guard lock(mu_);
      protocol_version_ = protocol_version;
    }
    if (!stream_thread_.joinable()) stream_thread_ = std::thread([this] { ListenForServerMessages(); });
  }

  void Close() override {
    if (stop_.exchange(true)) return;
    {
      std::lock_guard lock(stream_mu_);  // so the stream thread cannot miss the wakeup
    }
    stream_cv_.notify_all();
    if (stream_thread_.joinable()) stream_thread_.join();
    std::string session;
    {
      std::lock_guard lock(mu_);
      session = session_id_;
      session_id_.clear();
    }
    if (!session.empty()) {
      // Ending the session is a courtesy; the server expires it anyway.
      std::atomic<bool> never{false};
      Exchange x;
      (void)PerformWith("DELETE", nullptr, std::chrono::steady_clock::now() + kDeleteTimeout, x,
                        &never, session);
    }
  }

 private:
  static ErrorCode ErrorCodeForStatus(long status) {
    if (status == 408 || status == 504) return ErrorCode::kDeadlineExceeded;
    if (status == 400 || status == 422) return ErrorCode::kInvalidArgument;
    return ErrorCode::kUnavailable;  // 401/403 (our credentials), 404, 429, 5xx
  }

  Error TransferError(CURLcode code) {
    const std::string what = curl_easy_strerror(code);
    if (stop_) return MakeError(ErrorCode::kUnavailable, "the connection was closed");
    if (code == CURLE_OPERATION_TIMEDOUT) {
      // A JSON answer's headers come with its body, so silence until the deadline is a slow
      // call as often as a dead server; the caller's deadline decides either way.
      return MakeError(ErrorCode::kDeadlineExceeded, "no answer from " + config_.url + " in time");
    }
    if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST) {
      Error down = MakeError(ErrorCode::kUnavailable, "cannot connect to " + config_.url + ": " + what);
      ReportClosed(down);
      return down;
    }
    if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
      return MakeError(ErrorCode::kConfig, "the url " + config_.url + " is not usable: " + what);
    }
    return MakeError(ErrorCode::kUnavailable,
                     "the exchange with " + config_.url + " broke off: " + what);
  }

  void ReportClosed(const Error& why) {
    if (!stop_ && !closed_reported_.exchange(true)) sink_->OnClosed(why);
  }

  CURLcode Perform(const char* method, const std::string* body,
                   std::chrono::steady_clock::time_point deadline, Exchange& x) {
    std::string session;
    {
      std::lock_guard lock(mu_);
      session = session_id_;
    }
    return PerformWith(method, body, deadline, x, &stop_, session);
  }

  CURLcode PerformWith(const char* method, const std::string* body,
                       std::chrono::steady_clock::time_point deadline, Exchange& x,
                       const std::atomic<bool>* stop, const std::string& session) {
    CURL* curl = Acquire();
    if (curl == nullptr) return CURLE_FAILED_INIT;
    std::string version;
    {
      std::lock_guard lock(mu_);
      version = protocol_version_;
    }
    curl_slist* headers = nullptr;
    const bool get = std::string_view(method) == "GET";
    headers = curl_slist_append(headers, get ? "Accept: text/event-stream"
                                             : "Accept: application/json, text/event-stream");
    if (body != nullptr) headers = curl_slist_append(headers, "Content-Type: application/json");
    if (!session.empty()) headers = curl_slist_append(headers, ("Mcp-Session-Id: " + session).c_str());
    if (!version.empty()) headers = curl_slist_append(headers, ("MCP-Protocol-Version: " + version).c_str());
    for (const auto& [name, value] : config_.headers) {
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    headers = curl_slist_append(headers, "Expect:");

    x.sink = sink_;
    x.curl = curl;
    x.stop = stop;
    const auto left = std::max<long>(
        1, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 deadline - std::chrono::steady_clock::now())
                                 .count()));
    curl_easy_setopt(curl, CURLOPT_URL, config_.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body != nullptr) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    } else if (get) {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "steward-mcp-client/0.1");
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, get ? 0L : left);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     std::min<long>(left, std::chrono::milliseconds(kConnectTimeout).count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    const CURLcode code = curl_easy_perform(curl);
    if (x.status == 0) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &x.status);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(headers);
    Release(curl);
    return code;
  }

  // The GET stream: notifications the server sends outside any request (list_changed). A server
  // that answers 405 has no such stream; one that drops it is reconnected with backoff.
  void ListenForServerMessages() {
    auto retry = std::chrono::duration_cast<std::chrono::milliseconds>(kStreamRetryMin);
    while (!stop_) {
      Exchange x;
      const auto opened = std::chrono::steady_clock::now();
      const CURLcode code = Perform("GET", nullptr, opened + std::chrono::hours(24 * 365), x);
      if (stop_) return;
      if (x.status == 405) {
        spdlog::debug("mcp {}: the server offers no GET stream; list_changed arrives only with "
                      "responses",
                      config_.name);
        return;
      }
      if (x.status == 404) {
        ReportClosed(MakeError(ErrorCode::kUnavailable,
                               "the server no longer knows the session (HTTP 404 on its GET stream)"));
        return;
      }
      if (code != CURLE_OK || x.status >= 400) {
        spdlog::debug("mcp {}: GET stream ended ({}; HTTP {})", config_.name, curl_easy_strerror(code),
                      x.status);
      }
      // A stream that stayed up a while earns a fast reconnect; one that keeps failing, a slow one.
      if (std::chrono::steady_clock::now() - opened > kStreamRetryMax) {
        retry = std::chrono::duration_cast<std::chrono::milliseconds>(kStreamRetryMin);
      }
      std::unique_lock lock(stream_mu_);
      stream_cv_.wait_for(lock, retry, [this] { return stop_.load(); });
      retry = std::min(retry * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kStreamRetryMax));
    }
  }

  CURL* Acquire() {
    {
      std::lock_guard lock(pool_mu_);
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        curl_easy_reset(handle);  // keeps the connection cache
        return handle;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* handle) {
    std::lock_guard lock(pool_mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(handle);
    } else {
      curl_easy_cleanup(handle);
    }
  }

  const McpServerConfig config_;
  McpTransportSink* sink_ = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<bool> closed_reported_{false};
  std::mutex mu_;
  std::string session_id_;        // guarded by mu_
  std::string protocol_version_;  // guarded by mu_
  std::mutex pool_mu_;
  std::vector<CURL*> idle_;  // guarded by pool_mu_
  std::thread stream_thread_;
  std::mutex stream_mu_;
  std::condition_variable stream_cv_;
};

}  // namespace

std::unique_ptr<McpTransport> MakeHttpTransport(const McpServerConfig& config) {
  return std::make_unique<HttpTransport>(config);
}

}  // namespace steward::tools::detail
