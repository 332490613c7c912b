#pragma once
// The built-in "web" tool server: search (a SearXNG instance or the offline corpus), fetch a
// URL as readable text (behind the address guard), and Hacker News top stories (live, or the
// saved feed when offline).

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "tools/builtin/address_guard.hpp"
#include "tools/builtin/builtin_config.hpp"
#include "tools/builtin/local_corpus.hpp"
#include "tools/tool.hpp"

namespace steward::tools::builtin {

// Tools (namespaced under "web", risk tier from DefaultTier: medium):
//   search {query, limit?} -> {backend, query, results: [{title, url, content, score?}]}
//   fetch {url, max_bytes?} -> {pages: [{url, final_url, title, content, content_type, status,
//       bytes, truncated}]}: http(s) only; private addresses refused unless allowed (see
//       address_guard.hpp); at most config.max_bytes read and max_bytes (default
//       config.max_text_bytes) of text returned.
//   hn_top {limit?} -> {source: live|fixture, stories: [{id, title, url, score, by, time,
//       comments, hn_url}]}: from config.hn_base_url, or config.hn_fixture when offline is set
//       or the API cannot be reached.
// Failures are Errors: kPermissionDenied (refused address), kInvalidArgument (bad URL, not a
// text page), kUnavailable (network, HTTP error status), kDeadlineExceeded.
// Thread-safe: configuration and corpus are read-only after construction.
class WebToolProvider final : public ToolProvider {
 public:
  // `corpus` serves search_backend "local" (it may be empty).
  WebToolProvider(WebToolsConfig config, LocalCorpus corpus);

  [[nodiscard]] std::string_view server() const override { return "web"; }
  [[nodiscard]] std::vector<ToolInfo> ListTools() const override;
  [[nodiscard]] Result<ToolCallResult> Call(std::string_view tool, const nlohmann::json& args,
                                            const CallContext& ctx) override;

 private:
  [[nodiscard]] Result<ToolCallResult> Search(const nlohmann::json& args);
  [[nodiscard]] Result<ToolCallResult> SearchSearxng(const std::string& query, int limit);
  [[nodiscard]] Result<ToolCallResult> Fetch(const nlohmann::json& args, const CallContext& ctx);
  [[nodiscard]] Result<ToolCallResult> HnTop(const nlohmann::json& args);
  [[nodiscard]] Result<ToolCallResult> HnFromFixture(int limit, const std::string& why);

  WebToolsConfig config_;
  LocalCorpus corpus_;
  HostAllowlist allow_hosts_;
};

}  // namespace steward::tools::builtin
