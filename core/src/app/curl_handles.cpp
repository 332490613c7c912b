#include "app/curl_handles.hpp"

namespace steward::app {

std::string UrlEscape(std::string_view text) {
  // libcurl before 7.82 needs a handle here; one is cheap next to the request it is for.
  CurlPtr curl(curl_easy_init(), curl_easy_cleanup);
  char* escaped = curl_easy_escape(curl.get(), text.data(), static_cast<int>(text.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

}  // namespace steward::app
