#include "tools/builtin/builtin_tools.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "telemetry/logging.hpp"
#include "tools/builtin/email_tool_provider.hpp"
#include "tools/builtin/local_corpus.hpp"
#include "tools/builtin/web_tool_provider.hpp"

namespace steward::tools::builtin {

namespace fs = std::filesystem;

fs::path FindShippedConfig(std::string_view relative) {
  std::error_code ec;
  fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (int up = 0; up < 5 && !dir.empty(); ++up, dir = dir.parent_path()) {
    const fs::path candidate = dir / "config" / relative;
    if (fs::exists(candidate, ec)) return candidate;
    if (dir == dir.root_path()) break;
  }
  // A development build outside the source tree (build dirs like /work/build-x): the config/ of
  // the source tree it was compiled from, if that still exists.
  const fs::path source_config =
      (fs::path(STEWARD_SOURCE_DIR) / "config").lexically_normal();
  for (const fs::path& root : {fs::path("/opt/steward/config"), fs::path("/usr/share/steward"), source_config}) {
    if (fs::exists(root / relative, ec)) return root / relative;
  }
  return {};
}

Status RegisterBuiltinTools(ToolRegistry& registry, store::Database& db, BuiltinToolsConfig config,
                            const std::vector<std::string>& replaced_by_mcp) {
  auto replaced = [&](const char* name) {
    if (std::find(replaced_by_mcp.begin(), replaced_by_mcp.end(), name) == replaced_by_mcp.end()) return false;
    spdlog::info("built-in tool server \"{}\" not registered: mcp_servers.{} takes its name", name, name);
    return true;
  };
  if (config.web.enabled && !replaced("web")) {
    LocalCorpus corpus;
    if (config.web.search_backend == "local") {
      const bool shipped = config.web.corpus.empty();
      if (shipped) config.web.corpus = FindShippedConfig("corpus");
      if (config.web.corpus.empty()) {
        spdlog::warn("web.search: the shipped offline corpus (config/corpus) was not found; set "
                     "tools.web.corpus to a folder of documents");
      } else {
        auto loaded = LocalCorpus::Load(config.web.corpus);
        if (!loaded.ok()) {
          if (!shipped) {
            Error e = loaded.error();
            e.message = "tools.web.corpus: " + e.message;
            return e;
          }
          spdlog::warn("web.search: {}", loaded.error().ToString());
        } else {
          corpus = std::move(*loaded);
          spdlog::info("web.search: {} documents in the offline corpus {}", corpus.documents().size(),
                       config.web.corpus.string());
        }
      }
    }
    if (config.web.hn_fixture.empty()) config.web.hn_fixture = FindShippedConfig("feeds/hn_top.json");
    STEWARD_RETURN_IF_ERROR(
        registry.Register(std::make_shared<WebToolProvider>(std::move(config.web), std::move(corpus))));
  }
  if (!config.email.smtp_url.empty() && !replaced("email")) {
    telemetry::RegisterSecret(config.email.password);
    STEWARD_RETURN_IF_ERROR(
        registry.Register(std::make_shared<EmailToolProvider>(db, std::move(config.email))));
  }
  return Status::Ok();
}

}  // namespace steward::tools::builtin
