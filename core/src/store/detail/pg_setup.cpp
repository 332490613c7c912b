#include "store/detail/pg_setup.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace steward::store::detail {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxSocketPath = 107;  // sizeof(sockaddr_un::sun_path) - 1

std::string Errno() { return std::strerror(errno); }

// Debian version dirs are "15", "16", older ones "9.6": compare numerically.
std::optional<std::pair<int, int>> ParseVersion(const std::string& name) {
  int major = 0;
  int minor = 0;
  char tail = 0;
  const int n = std::sscanf(name.c_str(), "%d.%d%c", &major, &minor, &tail);
  if (n == 1 && std::to_string(major) == name) return std::make_pair(major, 0);
  if (n == 2) return std::make_pair(major, minor);
  return std::nullopt;
}

bool HasTools(const fs::path& bin) {
  for (const char* tool : {"initdb", "pg_ctl", "postgres"}) {
    if (access((bin / tool).c_str(), X_OK) != 0) return false;
  }
  return true;
}

bool CanTraverse(const struct stat& st, const PgUser& user) {
  if (st.st_uid == user.uid) return (st.st_mode & S_IXUSR) != 0;
  if (std::find(user.groups.begin(), user.groups.end(), st.st_gid) != user.groups.end()) {
    return (st.st_mode & S_IXGRP) != 0;
  }
  return (st.st_mode & S_IXOTH) != 0;
}

std::string RunuserPath() {
  for (const char* candidate : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return "runuser";
}

}  // namespace

Result<PgUser> ResolvePgUser() {
  PgUser user;
  if (geteuid() != 0) {
    user.uid = geteuid();
    user.gid = getegid();
    return user;
  }
  const struct passwd* pw = getpwnam("postgres");
  if (pw == nullptr) {
    return MakeError(ErrorCode::kConfig,
                     "steward runs as root, and PostgreSQL refuses to run as root, but there is no "
                     "'postgres' user to run it as: install postgresql-15 (it creates the user) or "
                     "set database.url");
  }
  user.via_runuser = true;
  user.uid = pw->pw_uid;
  user.gid = pw->pw_gid;
  int count = 32;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  if (getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count));
    getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &count);
  }
  groups.resize(static_cast<size_t>(std::max(count, 0)));
  user.groups = std::move(groups);
  return user;
}

Result<fs::path> FindPgBinaries(const fs::path& install_root, std::optional<int> major) {
  std::optional<std::pair<int, int>> best;
  std::string best_name;
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(install_root, ec)) {
    const std::string name = entry.path().filename().string();
    const auto version = ParseVersion(name);
    if (!version || !HasTools(entry.path() / "bin")) continue;
    found.push_back(name);
    if (major && version->first != *major) continue;
    if (!best || *version > *best) {
      best = version;
      best_name = name;
    }
  }
  const std::string wanted = major ? std::to_string(*major) : "15";
  if (!best) {
    if (major && !found.empty()) {
      return MakeError(ErrorCode::kConfig,
                       "the embedded PostgreSQL cluster was created by PostgreSQL " + wanted +
                           ", whose binaries are not in " + install_root.string() +
                           ": install postgresql-" + wanted + " (or upgrade the cluster with pg_upgrade)");
    }
    return MakeError(ErrorCode::kConfig,
                     "PostgreSQL binaries not found in " + install_root.string() + ": install postgresql-" +
                         wanted + " (apt install postgresql-" + wanted + ") or set database.url");
  }
  return install_root / best_name / "bin";
}

std::vector<std::string> PgCommand(const PgUser& user, const fs::path& bin, const std::string& tool,
                                   std::vector<std::string> args) {
  std::vector<std::string> argv;
  if (user.via_runuser) argv = {RunuserPath(), "-u", "postgres", "--"};
  argv.push_back((bin / tool).string());
  for (std::string& a : args) argv.push_back(std::move(a));
  return argv;
}

Status MakeTraversable(const fs::path& dir, const PgUser& user) {
  if (!user.via_runuser) return Status::Ok();
  fs::path current;
  for (const fs::path& part : dir) {
    current /= part;
    struct stat st {};
    if (stat(current.c_str(), &st) != 0) {
      return MakeError(ErrorCode::kConfig, "cannot inspect directory: " + Errno(), current.string());
    }
    if (CanTraverse(st, user)) continue;
    if (chmod(current.c_str(), (st.st_mode & 07777) | S_IXOTH) != 0) {
      return MakeError(ErrorCode::kConfig,
                       "the postgres user cannot reach the data directory through this directory, and "
                       "adding o+x failed: " + Errno(),
                       current.string());
    }
    spdlog::info("added o+x to {} so the postgres user can reach steward's PostgreSQL data directory",
                 current.string());
  }
  return Status::Ok();
}

Status EnsureOwnedDir(const fs::path& dir, const PgUser& user) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return MakeError(ErrorCode::kConfig, "cannot inspect directory: " + Errno(), dir.string());
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return MakeError(ErrorCode::kConfig, "cannot create directory: " + Errno(), dir.string());
    }
    if (lstat(dir.c_str(), &st) != 0) {
      return MakeError(ErrorCode::kConfig, "cannot inspect directory: " + Errno(), dir.string());
    }
  }
  if (!S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kConfig, "expected a directory (not a file or symlink) here", dir.string());
  }
  if (st.st_uid != user.uid && st.st_uid != geteuid()) {
    return MakeError(ErrorCode::kConfig,
                     "directory belongs to another user (uid " + std::to_string(st.st_uid) +
                         "); remove it or fix its owner",
                     dir.string());
  }
  if (st.st_uid != user.uid || st.st_gid != user.gid) {
    if (chown(dir.c_str(), user.uid, user.gid) != 0) {
      return MakeError(ErrorCode::kConfig, "cannot give the directory to the postgres user: " + Errno(), dir.string());
    }
  }
  if ((st.st_mode & 0777) != 0700 && chmod(dir.c_str(), 0700) != 0) {
    return MakeError(ErrorCode::kConfig, "cannot make the directory private (0700): " + Errno(), dir.string());
  }
  return Status::Ok();
}

Status EnsureOwnedFile(const fs::path& file, const PgUser& user) {
  FILE* f = std::fopen(file.c_str(), "a");
  if (f == nullptr) return MakeError(ErrorCode::kConfig, "cannot create file: " + Errno(), file.string());
  std::fclose(f);
  struct stat st {};
  if (stat(file.c_str(), &st) != 0) return MakeError(ErrorCode::kConfig, "cannot inspect file: " + Errno(), file.string());
  if ((st.st_uid != user.uid || st.st_gid != user.gid) && chown(file.c_str(), user.uid, user.gid) != 0) {
    return MakeError(ErrorCode::kConfig, "cannot give the file to the postgres user: " + Errno(), file.string());
  }
  if ((st.st_mode & 0777) != 0600) chmod(file.c_str(), 0600);
  return Status::Ok();
}

fs::path SocketDirFor(const fs::path& home, int port) {
  const fs::path preferred = home / "run";
  const std::string socket_name = ".s.PGSQL." + std::to_string(port);
  if ((preferred / socket_name).string().size() <= kMaxSocketPath) return preferred;
  // FNV-1a: stable across builds and runs, so every process sharing the home agrees.
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : home.string()) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char name[32];
  std::snprintf(name, sizeof name, "steward-%016llx", static_cast<unsigned long long>(hash));
  // Not TMPDIR: processes with different environments must agree on the path.
  return fs::path("/tmp") / name;
}

}  // namespace steward::store::detail

