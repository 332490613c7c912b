#include "models/detail/http_stream.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

namespace steward::models::detail {

namespace {

constexpr size_t kMaxIdleHandles = 16;
constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr size_t kMaxJsonBody = 32 * 1024 * 1024;
constexpr size_t kMaxUpstreamMessage = 1000;

// libcurl requires curl_global_init before any other call and it is not thread-safe itself.
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

struct TransferState {
  CURL* curl = nullptr;
  const BodyCallback* on_body = nullptr;
  ResponseHead head;
  bool head_known = false;
  bool aborted = false;
  std::exception_ptr exception;
};

void CaptureHead(TransferState& state) {
  if (state.head_known) return;
  state.head_known = true;
  long status = 0;
  curl_easy_getinfo(state.curl, CURLINFO_RESPONSE_CODE, &status);
  state.head.status = status;
  char* content_type = nullptr;
  curl_easy_getinfo(state.curl, CURLINFO_CONTENT_TYPE, &content_type);
  if (content_type != nullptr) state.head.content_type = Lower(content_type);
}

size_t WriteCallback(char* data, size_t size, size_t count, void* user) {
  auto& state = *static_cast<TransferState*>(user);
  const size_t bytes = size * count;
  CaptureHead(state);
  // Exceptions must not unwind through libcurl's C frames.
  try {
    if ((*state.on_body)(state.head, std::string_view(data, bytes))) return bytes;
  } catch (...) {
    state.exception = std::current_exception();
  }
  state.aborted = true;
  return 0;  // anything but `bytes` makes libcurl stop with CURLE_WRITE_ERROR
}

TransferOutcome Classify(CURLcode code, CURL* curl, bool aborted) {
  if (code == CURLE_OK) return TransferOutcome::kCompleted;
  if (aborted) return TransferOutcome::kAborted;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: {
      // A timeout before the TCP connect finished means the server is unreachable.
      curl_off_t connect_us = 0;
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
      return connect_us == 0 ? TransferOutcome::kConnectFailed : TransferOutcome::kTimedOut;
    }
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return TransferOutcome::kConnectFailed;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return TransferOutcome::kBadUrl;
    default:
      return TransferOutcome::kFailed;
  }
}

std::string Scrub(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
    text.replace(pos, secret.size(), "[redacted]");
    pos += 10;
  }
  return text;
}

std::string Truncate(std::string text, size_t limit) {
  if (text.size() > limit) {
    text.resize(limit);
    text += "...";
  }
  return text;
}

std::string StatusHint(long status, std::string_view provider) {
  if (status == 401 || status == 403) {
    return " (check the API key of providers." + std::string(provider) + ")";
  }
  if (status == 404) return " (check the model name and the provider's base_url)";
  return {};
}

}  // namespace

HttpStreamClient::HttpStreamClient() { EnsureCurlGlobalInit(); }

HttpStreamClient::~HttpStreamClient() {
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* HttpStreamClient::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      // Resets options but keeps the handle's live connections and DNS cache.
      curl_easy_reset(static_cast<CURL*>(handle));
      return handle;
    }
  }
  return curl_easy_init();
}

void HttpStreamClient::Release(void* handle) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdleHandles) {
    idle_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

TransferResult HttpStreamClient::Post(const HttpPost& post, const BodyCallback& on_body) {
  TransferResult result;
  CURL* curl = static_cast<CURL*>(Acquire());
  if (curl == nullptr) {
    result.error = "libcurl could not create a handle";
    return result;
  }
  curl_slist* headers = nullptr;
  for (const auto& header : post.headers) headers = curl_slist_append(headers, header.c_str());
  // Without this libcurl waits for "100 Continue" before sending larger bodies.
  headers = curl_slist_append(headers, "Expect:");

  TransferState state;
  state.curl = curl;
  state.on_body = &on_body;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl, CURLOPT_URL, post.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "steward/0.1");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteCallback);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(post.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(post.connect_timeout.count()));
  // Signals are process-wide; libcurl must not use them from many threads.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);

  const CURLcode code = curl_easy_perform(curl);
  CaptureHead(state);
  result.head = state.head;
  result.outcome = Classify(code, curl, state.aborted);
  if (code != CURLE_OK) {
    result.error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    while (!result.error.empty() && result.error.back() == '\n') result.error.pop_back();
  }
  // The handle still points at these; clear before it goes back to the pool.
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  Release(curl);
  if (state.exception) std::rethrow_exception(state.exception);
  return result;
}

std::string JoinUrl(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base) + std::string(path);
}

std::vector<std::string> MergeHeaders(
    const std::vector<std::pair<std::string, std::string>>& defaults,
    const std::map<std::string, std::string>& extra) {
  std::vector<std::string> lines;
  for (const auto& [name, value] : defaults) {
    const bool overridden = std::any_of(extra.begin(), extra.end(), [&](const auto& e) {
      return Lower(e.first) == Lower(name);
    });
    if (!overridden) lines.push_back(name + ": " + value);
  }
  for (const auto& [name, value] : extra) lines.push_back(name + ": " + value);
  return lines;
}

ErrorCode ErrorCodeForHttpStatus(long status) {
  if (status == 408 || status == 504) return ErrorCode::kDeadlineExceeded;
  // 401/403 mean Steward's own key is wrong: nothing the caller can fix, and another
  // provider may still serve the request.
  if (status == 401 || status == 403 || status == 429) return ErrorCode::kUnavailable;
  if (status >= 400 && status < 500) return ErrorCode::kInvalidArgument;
  return ErrorCode::kUnavailable;
}

std::string ExtractUpstreamError(std::string_view body) {
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string message;
  std::string type;
  if (json.is_object()) {
    const auto error = json.find("error");
    if (error != json.end() && error->is_object()) {
      if (auto m = error->find("message"); m != error->end() && m->is_string()) message = *m;
      if (auto t = error->find("type"); t != error->end() && t->is_string()) type = *t;
      if (type.empty()) {
        if (auto c = error->find("code"); c != error->end() && c->is_string()) type = *c;
      }
    } else if (error != json.end() && error->is_string()) {
      message = *error;
    } else if (auto m = json.find("message"); m != json.end() && m->is_string()) {
      message = *m;
    } else if (auto d = json.find("detail"); d != json.end()) {
      message = d->is_string() ? d->get<std::string>() : d->dump();
    }
  }
  if (message.empty()) {
    // Not a known error shape: show the start of the body, on one line.
    for (char c : body) {
      if (message.size() >= 300) break;
      message.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
    }
    while (!message.empty() && message.back() == ' ') message.pop_back();
    if (message.empty()) return "(empty body)";
    return Truncate(std::move(message), kMaxUpstreamMessage);
  }
  message = Truncate(std::move(message), kMaxUpstreamMessage);
  return type.empty() ? message : type + ": " + message;
}

Error MakeProviderError(const ProviderCall& call, ErrorCode code, std::string_view detail) {
  std::string message = "provider '" + call.provider + "' (POST " + call.post.url + "): ";
  message.append(detail);
  return MakeError(code, Scrub(std::move(message), call.secret),
                   Scrub("providers." + call.provider, call.secret));
}

Status RunProviderCall(HttpStreamClient& client, const ProviderCall& call,
                       const ResponseHandlers& handlers) {
  enum class Mode { kUndecided, kSse, kJson, kError };
  Mode mode = Mode::kUndecided;
  SseParser parser;
  std::vector<SseEvent> events;
  std::string body;  // error or JSON body, or bytes held back while sniffing
  std::optional<Error> handler_error;

  const auto feed_sse = [&](std::string_view bytes) -> bool {
    events.clear();
    if (!parser.Feed(bytes, events)) {
      handler_error = MakeError(ErrorCode::kUnavailable, "sent an SSE event larger than 16 MiB");
      return false;
    }
    for (const auto& event : events) {
      Status status = handlers.on_event(event);
      if (!status.ok()) {
        handler_error = status.error();
        return false;
      }
    }
    return true;
  };

  const auto on_body = [&](const ResponseHead& head, std::string_view bytes) -> bool {
    if (mode == Mode::kUndecided) {
      if (head.status < 200 || head.status >= 300) {
        mode = Mode::kError;
      } else if (head.content_type.find("event-stream") != std::string::npos) {
        mode = Mode::kSse;
      } else if (head.content_type.find("json") != std::string::npos) {
        mode = Mode::kJson;
      } else {
        // No usable content type: a JSON body starts with '{', anything else is read as SSE.
        body.append(bytes);
        const size_t first = body.find_first_not_of(" \t\r\n");
        if (first == std::string::npos) return true;
        mode = body[first] == '{' ? Mode::kJson : Mode::kSse;
        if (mode == Mode::kJson) return true;
        std::string held = std::move(body);
        body.clear();
        return feed_sse(held);
      }
    }
    switch (mode) {
      case Mode::kSse:
        return feed_sse(bytes);
      case Mode::kJson:
        if (body.size() + bytes.size() > kMaxJsonBody) {
          handler_error = MakeError(ErrorCode::kUnavailable, "sent a JSON body larger than 32 MiB");
          return false;
        }
        body.append(bytes);
        return true;
      default:
        if (body.size() < kMaxErrorBody) body.append(bytes.substr(0, kMaxErrorBody - body.size()));
        return true;
    }
  };

  const TransferResult transfer = client.Post(call.post, on_body);
  if (handler_error) {
    if (handler_error->code == ErrorCode::kCancelled) {
      return MakeProviderError(call, ErrorCode::kCancelled, "cancelled by the caller");
    }
    return MakeProviderError(call, handler_error->code, handler_error->message);
  }
  const long status = transfer.head.status;
  if (status >= 400) {
    return MakeProviderError(call, ErrorCodeForHttpStatus(status),
                             "HTTP " + std::to_string(status) + ": " + ExtractUpstreamError(body) +
                                 StatusHint(status, call.provider));
  }
  switch (transfer.outcome) {
    case TransferOutcome::kCompleted:
      break;
    case TransferOutcome::kTimedOut:
      return MakeProviderError(call, ErrorCode::kDeadlineExceeded,
                               "no complete answer within the provider timeout of " +
                                   std::to_string(call.post.timeout.count()) + " ms (" +
                                   transfer.error + ")");
    case TransferOutcome::kConnectFailed:
      return MakeProviderError(call, ErrorCode::kUnavailable, "cannot connect: " + transfer.error);
    case TransferOutcome::kBadUrl:
      return MakeProviderError(call, ErrorCode::kConfig,
                               "base_url is not a usable http(s) URL: " + transfer.error);
    case TransferOutcome::kAborted:  // only when a handler threw; Post() rethrew already
    case TransferOutcome::kFailed:
      return MakeProviderError(call, ErrorCode::kUnavailable,
                               "the response broke off: " + transfer.error);
  }
  if (status < 200 || status >= 300) {
    return MakeProviderError(call, ErrorCode::kUnavailable,
                             "unexpected HTTP " + std::to_string(status) + " (check base_url)");
  }
  Status finished;
  if (mode == Mode::kJson) {
    finished = handlers.on_json(body);
  } else {
    if (auto last = parser.Finish()) finished = handlers.on_event(*last);
  }
  if (!finished.ok()) {
    return MakeProviderError(call, finished.error().code, finished.error().message);
  }
  return Status::Ok();
}

}  // namespace steward::models::detail
