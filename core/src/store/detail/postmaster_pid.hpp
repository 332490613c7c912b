#pragma once
// Reading a cluster's postmaster.pid and deciding whether the server it names is alive.
// pg_ctl status only asks kill(pid, 0), which a zombie or a recycled pid also passes; in a
// container whose init does not reap orphans, a SIGKILLed postmaster stays a zombie forever.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

namespace steward::store::detail {

struct PostmasterPid {
  pid_t pid = 0;
  int port = 0;
  std::string socket_dir;  // empty when the server has no unix socket
  std::string status;      // "starting", "ready", "stopping", ... (may be empty)
};

// Parses <data_dir>/postmaster.pid; empty if the file is missing or unreadable.
[[nodiscard]] std::optional<PostmasterPid> ReadPostmasterPid(const std::filesystem::path& data_dir);

// True if `pid` is a live (not zombie) process running the postgres binary.
[[nodiscard]] bool IsLivePostgresProcess(pid_t pid);

// True if `pid` is a live (not zombie) postgres process whose working directory, when we may
// read it, is `data_dir` (the postmaster chdirs into its data directory).
[[nodiscard]] bool IsLivePostmaster(pid_t pid, const std::filesystem::path& data_dir);

// Removes <socket_dir>/.s.PGSQL.<port>.lock when the process it names is gone (or a zombie,
// which PostgreSQL would take for a live rival). Returns the stale pid it removed, or 0.
pid_t RemoveStaleSocketLock(const std::filesystem::path& socket_dir, int port);

}  // namespace steward::store::detail
