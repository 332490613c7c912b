#pragma once
// libcurl plumbing shared by the HTTP model providers: a POST whose response body is handed
// to a callback piece by piece as it arrives (real streaming, no buffering), and on top of it
// one provider call: status and content type decide between an SSE stream, a whole JSON
// body and an upstream error, and every failure becomes an Error naming the provider and URL
// with the API key scrubbed out.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "models/detail/sse_parser.hpp"

namespace steward::models::detail {

struct HttpPost {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::chrono::milliseconds timeout{120'000};  // whole transfer
  std::chrono::milliseconds connect_timeout{10'000};
};

struct ResponseHead {
  long status = 0;           // 0 when no response arrived
  std::string content_type;  // lower-cased; empty when the server sent none
};

enum class TransferOutcome {
  kCompleted,       // the whole response was read (any HTTP status)
  kAborted,         // the body callback returned false
  kTimedOut,        // the whole-transfer limit passed after connecting
  kConnectFailed,   // refused, unresolvable, or no connection within connect_timeout
  kBadUrl,          // malformed URL or a scheme other than http/https
  kFailed,          // anything else (reset, TLS, truncated response)
};

struct TransferResult {
  TransferOutcome outcome = TransferOutcome::kFailed;
  ResponseHead head;
  std::string error;  // libcurl's explanation unless kCompleted
};

// Gets the response head and each body piece as it arrives, on the thread calling Post().
// Returning false aborts the transfer.
using BodyCallback = std::function<bool(const ResponseHead&, std::string_view)>;

// Reuses libcurl handles (and so their connections) across calls. Thread-safe.
class HttpStreamClient final {
 public:
  HttpStreamClient();
  ~HttpStreamClient();
  HttpStreamClient(const HttpStreamClient&) = delete;
  HttpStreamClient& operator=(const HttpStreamClient&) = delete;

  // Performs one POST, blocking until it ends. An exception thrown by `on_body` aborts the
  // transfer and is rethrown here.
  [[nodiscard]] TransferResult Post(const HttpPost& post, const BodyCallback& on_body);

 private:
  void* Acquire();
  void Release(void* handle);

  std::mutex mu_;
  std::vector<void*> idle_;  // CURL*, kept opaque so callers need not include curl
};

// One upstream model call as the providers see it.
struct ProviderCall {
  std::string provider;  // the name under `providers:`, for messages
  std::string secret;    // the API key: never appears in a returned Error
  HttpPost post;
};

// What a provider does with a successful (2xx) response. A handler returning an Error stops
// the transfer; return kCancelled when the caller's sink asked to stop.
struct ResponseHandlers {
  std::function<Status(const SseEvent&)> on_event;
  std::function<Status(std::string_view body)> on_json;  // a whole non-streamed JSON body
};

// Sends `call` and feeds the response to `handlers`. Errors: kUnavailable (refused, 5xx, 429,
// 401/403, broken stream), kInvalidArgument (other 4xx), kDeadlineExceeded (timeout, 408,
// 504), kCancelled, kConfig (unusable base_url); the upstream error message is included.
[[nodiscard]] Status RunProviderCall(HttpStreamClient& client, const ProviderCall& call,
                                     const ResponseHandlers& handlers);

// "provider 'NAME' (POST URL): detail" with the secret replaced; context "providers.NAME".
[[nodiscard]] Error MakeProviderError(const ProviderCall& call, ErrorCode code,
                                      std::string_view detail);

// The human-readable message of an upstream error body (OpenAI, Anthropic, Ollama and
// FastAPI shapes), or the start of the body when it is not one of those.
[[nodiscard]] std::string ExtractUpstreamError(std::string_view body);

// `base` without trailing slashes, then `path` (which starts with '/').
[[nodiscard]] std::string JoinUrl(std::string_view base, std::string_view path);

// "Name: value" lines: `defaults` first, except those whose name (case-insensitively) also
// appears in `extra`, which then wins.
[[nodiscard]] std::vector<std::string> MergeHeaders(
    const std::vector<std::pair<std::string, std::string>>& defaults,
    const std::map<std::string, std::string>& extra);

// How an upstream HTTP error status maps onto Steward's codes.
[[nodiscard]] ErrorCode ErrorCodeForHttpStatus(long status);

}  // namespace steward::models::detail
