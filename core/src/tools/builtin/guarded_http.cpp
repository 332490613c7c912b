#include "tools/builtin/guarded_http.hpp"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <optional>

#include "tools/builtin/html_text.hpp"

namespace steward::tools::builtin {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kUserAgent = "Steward/0.1 (built-in web tools)";

// libcurl requires curl_global_init before any other call, and it is not thread-safe itself.
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

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct ParsedUrl {
  std::string url;  // normalised by libcurl
  std::string scheme;
  std::string host;  // as in the URL (IPv6 in brackets)
  int port = 0;
};

std::string UrlPart(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, flags) != CURLUE_OK || value == nullptr) return "";
  std::string out(value);
  curl_free(value);
  return out;
}

Result<ParsedUrl> ParseUrl(std::string_view url) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  const std::string text(url);
  if (u == nullptr || curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "not a valid URL (expected an absolute http:// or https:// URL)", text);
  }
  ParsedUrl out;
  out.scheme = Lower(UrlPart(u.get(), CURLUPART_SCHEME));
  if (out.scheme != "http" && out.scheme != "https") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "only http:// and https:// URLs can be fetched, not " + out.scheme + "://", text);
  }
  out.host = Lower(UrlPart(u.get(), CURLUPART_HOST));
  if (out.host.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "the URL has no host", text);
  }
  const std::string port = UrlPart(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  out.port = port.empty() ? 0 : std::atoi(port.c_str());
  out.url = UrlPart(u.get(), CURLUPART_URL);
  return out;
}

std::string RefusalMessage(const std::string& address, const std::string& range,
                           const ParsedUrl& hop) {
  return "refused to connect to " + address + " for " + hop.url + ": it is a " + range +
         " address, and web tools only reach public addresses unless tools.web.allow_private is "
         "true or \"" + hop.host + ":" + std::to_string(hop.port) +
         "\" is listed in tools.web.allow_hosts. Nothing was sent to it.";
}

// What the open-socket callback needs; one per hop, on the calling thread's stack.
struct SocketGuard {
  bool active = false;
  const ParsedUrl* hop = nullptr;
  std::optional<std::string> refusal;  // set when a connection was refused
};

curl_socket_t OpenSocket(void* user, curlsocktype purpose, struct curl_sockaddr* address) {
  auto* guard = static_cast<SocketGuard*>(user);
  if (guard->active) {
    const auto addr = FromSockaddr(&address->addr);
    if (!addr) {
      guard->refusal = "refused a connection of an unexpected address family for " + guard->hop->url;
      return CURL_SOCKET_BAD;
    }
    if (auto range = BlockedRange(*addr)) {
      guard->refusal = RefusalMessage(ToString(*addr), *range, *guard->hop);
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype, address->protocol);
}

struct Sink {
  std::string* body;
  size_t max_bytes;
  bool truncated = false;
};

size_t Write(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * count;
  const size_t room = sink->max_bytes - std::min(sink->max_bytes, sink->body->size());
  if (bytes > room) {
    sink->body->append(data, room);
    sink->truncated = true;
    return 0;  // stops the transfer (CURLE_WRITE_ERROR), which is expected here
  }
  sink->body->append(data, bytes);
  return bytes;
}

Error TransferError(CURLcode code, const char* detail, const ParsedUrl& hop) {
  std::string message = detail != nullptr && *detail != '\0' ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return MakeError(ErrorCode::kDeadlineExceeded, "timed out fetching " + hop.url + ": " + message,
                       hop.url);
    case CURLE_COULDNT_RESOLVE_HOST:
      return MakeError(ErrorCode::kUnavailable,
                       "cannot resolve " + hop.host + " (no network, or the name does not exist)",
                       hop.url);
    case CURLE_UNSUPPORTED_PROTOCOL:
      return MakeError(ErrorCode::kInvalidArgument, "unsupported URL scheme: " + message, hop.url);
    default:
      return MakeError(ErrorCode::kUnavailable, "fetching " + hop.url + " failed: " + message, hop.url);
  }
}

}  // namespace

Result<HttpGetResponse> HttpGet(std::string_view url, const HttpGetOptions& options) {
  EnsureCurlGlobalInit();
  const Clock::time_point deadline = Clock::now() + options.timeout;
  HttpGetResponse response;
  auto hop = ParseUrl(url);
  if (!hop.ok()) return hop.error();

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& h : options.headers) {
    curl_slist* next = curl_slist_append(headers.get(), h.c_str());
    if (next == nullptr) return MakeError(ErrorCode::kInternal, "out of memory building headers");
    headers.release();
    headers.reset(next);
  }

  for (int redirects = 0;; ++redirects) {
    SocketGuard guard;
    guard.hop = &*hop;
    guard.active = options.guard && !options.allow_private &&
                   !(options.allow_hosts != nullptr && options.allow_hosts->Allows(hop->host, hop->port));
    // A literal address is judged before libcurl is involved at all.
    if (guard.active) {
      if (auto literal = ParseIpAddress(hop->host)) {
        if (auto range = BlockedRange(*literal)) {
          return MakeError(ErrorCode::kPermissionDenied, RefusalMessage(ToString(*literal), *range, *hop),
                           hop->url);
        }
      }
    }
    const auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) {
      return MakeError(ErrorCode::kDeadlineExceeded, "timed out before fetching " + hop->url, hop->url);
    }

    std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
    if (curl == nullptr) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
    CURL* c = curl.get();
    char error_buffer[CURL_ERROR_SIZE] = {};
    response.body.clear();
    Sink sink{&response.body, options.max_bytes};
    curl_easy_setopt(c, CURLOPT_URL, hop->url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(remaining.count()));
    curl_easy_setopt(c, CURLOPT_USERAGENT, std::string(kUserAgent).c_str());
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OpenSocket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &guard);
    if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    if (options.guard) curl_easy_setopt(c, CURLOPT_PROXY, "");

    const CURLcode code = curl_easy_perform(c);
    const bool stopped_at_cap = code == CURLE_WRITE_ERROR && sink.truncated;
    // A name with both a refused and a public address may still succeed on the public one.
    if (guard.refusal && code != CURLE_OK && !stopped_at_cap) {
      return MakeError(ErrorCode::kPermissionDenied, *guard.refusal, hop->url);
    }
    if (code != CURLE_OK && !stopped_at_cap) return TransferError(code, error_buffer, *hop);

    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    char* redirect = nullptr;
    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &redirect);
    const bool is_redirect = status == 301 || status == 302 || status == 303 || status == 307 ||
                             status == 308;
    if (is_redirect && redirect != nullptr && *redirect != '\0') {
      // A Location header is the server's bytes: keep messages valid UTF-8.
      const std::string target = SanitizeUtf8(redirect);
      if (redirects >= options.max_redirects) {
        return MakeError(ErrorCode::kUnavailable,
                         "stopped after " + std::to_string(options.max_redirects) +
                             " redirects (the last went to " + target + ")",
                         std::string(url));
      }
      auto next = ParseUrl(redirect);
      if (!next.ok()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         hop->url + " redirected to " + target +
                             ", which cannot be followed: " + next.error().message,
                         std::string(url));
      }
      response.redirects.push_back(next->url);
      hop = std::move(next);
      continue;
    }
    response.status = status;
    char* content_type = nullptr;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &content_type);
    response.content_type = content_type != nullptr ? SanitizeUtf8(Lower(content_type)) : "";
    response.truncated = sink.truncated;
    response.final_url = hop->url;
    return response;
  }
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string UrlHost(std::string_view url) {
  auto parsed = ParseUrl(url);
  return parsed.ok() ? parsed->host : std::string();
}

}  // namespace steward::tools::builtin
