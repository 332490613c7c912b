#pragma once
// HTTP GET for the built-in tools (libcurl), with the limits a tool call needs: a deadline over
// the whole exchange, a cap on bytes read, and, for URLs a model chose, the address guard.
//
// The guard is enforced where it cannot be bypassed: libcurl's open-socket callback sees the
// address each connection is about to use (after DNS), so a name that resolves, or re-resolves
// (DNS rebinding), to a refused address gets no socket at all. Redirects are followed here, one
// hop at a time, with each hop's URL checked (scheme, host allowlist) and its connection guarded
// again. Environment proxies are ignored for guarded requests: a proxy would connect on our
// behalf to addresses the guard never sees.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "tools/builtin/address_guard.hpp"

namespace steward::tools::builtin {

struct HttpGetOptions {
  std::chrono::milliseconds timeout{15'000};  // whole exchange, all redirects included
  size_t max_bytes = 2 * 1024 * 1024;         // body bytes read (after content decoding)
  int max_redirects = 5;
  // Address guard: off for URLs the owner configured (SearXNG, the HN API), on for URLs a
  // model supplied (web.fetch).
  bool guard = false;
  bool allow_private = false;               // guard: let every address through
  const HostAllowlist* allow_hosts = nullptr;  // guard: hosts whose private addresses are fine
  std::vector<std::string> headers;         // extra request headers, "Name: value"
};

struct HttpGetResponse {
  long status = 0;
  std::string content_type;  // lowercase, as sent ("text/html; charset=utf-8")
  std::string body;
  bool truncated = false;  // body stopped at max_bytes
  std::string final_url;   // after redirects
  std::vector<std::string> redirects;  // the URLs redirected to, in order
};

// GETs `url` (http or https only). Errors: kInvalidArgument (not an http(s) URL, a redirect to
// another scheme), kPermissionDenied (the guard refused an address; nothing was sent to it),
// kDeadlineExceeded, kUnavailable (DNS failure, connection refused, TLS, too many redirects).
// A response with any status is a success; callers judge the status. Thread-safe.
[[nodiscard]] Result<HttpGetResponse> HttpGet(std::string_view url, const HttpGetOptions& options);

// `text` with every character outside unreserved URL characters percent-encoded.
[[nodiscard]] std::string UrlEncode(std::string_view text);

// The host of an http(s) URL, lowercase, or "" when it cannot be parsed.
[[nodiscard]] std::string UrlHost(std::string_view url);

}  // namespace steward::tools::builtin
