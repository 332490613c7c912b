#pragma once
// What the CLI's HTTP clients share over libcurl: owners for its handles, and URL escaping.

#include <curl/curl.h>

#include <memory>
#include <string>
#include <string_view>

namespace steward::app {

using CurlPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// `text` percent-encoded for one URL path segment or query value (curl_easy_escape).
[[nodiscard]] std::string UrlEscape(std::string_view text);

}  // namespace steward::app
