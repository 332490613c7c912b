#include "app/home.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/run_registry.hpp"

namespace steward::app {

namespace fs = std::filesystem;

fs::path ResolveHome() {
  if (const char* home = std::getenv("STEWARD_HOME"); home && *home) return fs::path(home);
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return fs::path(xdg) / "steward";
  const char* user_home = std::getenv("HOME");
  return fs::path(user_home && *user_home ? user_home : "/tmp") / ".local/share/steward";
}

Status EnsureHome(const fs::path& home) {
  std::error_code ec;
  if (fs::exists(home, ec) && !fs::is_directory(home, ec)) {
    return MakeError(ErrorCode::kConfig, "exists but is not a directory", home.string());
  }
  fs::create_directories(home, ec);
  if (ec) return MakeError(ErrorCode::kConfig, "cannot create the data directory: " + ec.message(), home.string());
  ::chmod(home.c_str(), 0700);
  return Status::Ok();
}

Result<std::string> LoadOrCreateOwnerToken(const fs::path& home) {
  const fs::path path = home / "token";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 0077) != 0) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "the owner token file is readable by other users; run: chmod 600 " + path.string(),
                       path.string());
    }
    std::ifstream in(path);
    std::string token;
    std::getline(in, token);
    if (token.size() < 32) {
      return MakeError(ErrorCode::kConfig, "the owner token file is empty or truncated; delete it to make a new one",
                       path.string());
    }
    return token;
  }
  const std::string token = "stw_" + engine::RandomHex(32);
  const fs::path tmp = home / "token.tmp";
  const mode_t old_mask = ::umask(0077);
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << token << "\n";
    if (!out.flush()) {
      ::umask(old_mask);
      return MakeError(ErrorCode::kConfig, "cannot write the owner token", tmp.string());
    }
  }
  ::umask(old_mask);
  ::chmod(tmp.c_str(), 0600);
  std::error_code ec;
  // link() never replaces an existing file, so concurrent first starts agree on one token, and
  // readers see either no token file or a complete one.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    fs::remove(tmp, ec);
    return LoadOrCreateOwnerToken(home);  // another process won the race; use its token
  }
  fs::remove(tmp, ec);
  return token;
}

Result<std::string> ClientToken(const fs::path& home) {
  if (const char* token = std::getenv("STEWARD_TOKEN"); token && *token) return std::string(token);
  std::ifstream in(home / "token");
  std::string token;
  if (!in || !std::getline(in, token) || token.empty()) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "no token: set STEWARD_TOKEN or STEWARD_HOME to the server's data directory (it holds the token "
                     "file)",
                     (home / "token").string());
  }
  return token;
}

fs::path DefaultConfigPath(const fs::path& home) {
  if (const char* path = std::getenv("STEWARD_CONFIG"); path && *path) return fs::path(path);
  std::error_code ec;
  if (fs::exists(home / "steward.yaml", ec)) return home / "steward.yaml";
  return {};
}

}  // namespace steward::app
