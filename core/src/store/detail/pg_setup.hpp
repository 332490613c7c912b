#pragma once
// The file-system and user plumbing EmbeddedPostgres needs: finding Debian's PostgreSQL
// binaries, running them as the postgres user when steward runs as root (initdb and pg_ctl
// refuse root), owned directories, and a unix socket path short enough for sun_path.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace steward::store::detail {

// Who runs the PostgreSQL tools and owns the cluster's files.
struct PgUser {
  bool via_runuser = false;  // true when steward is root: tools run as `postgres`
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups of that user, for permission checks
};

// The current user, or the `postgres` system user when running as root.
// Errors: kConfig when root and no `postgres` user exists.
[[nodiscard]] Result<PgUser> ResolvePgUser();

// The bin/ directory of the PostgreSQL major `major` under `install_root` (Debian:
// /usr/lib/postgresql/<major>/bin), or of the newest installed major when `major` is empty.
// Errors: kConfig naming the directory and the package to install.
[[nodiscard]] Result<std::filesystem::path> FindPgBinaries(const std::filesystem::path& install_root,
                                                           std::optional<int> major);

// argv to run `bin/tool args...` as `user`.
[[nodiscard]] std::vector<std::string> PgCommand(const PgUser& user, const std::filesystem::path& bin,
                                                 const std::string& tool, std::vector<std::string> args);

// Makes every directory from / down to `dir` (inclusive) searchable by `user`, adding o+x
// where it is missing (logged at info). A no-op unless user.via_runuser.
[[nodiscard]] Status MakeTraversable(const std::filesystem::path& dir, const PgUser& user);

// Creates `dir` if needed (mode 0700) and makes `user` own it. An existing dir must not be a
// symlink and, when not newly created, must already be owned by `user` or by us.
[[nodiscard]] Status EnsureOwnedDir(const std::filesystem::path& dir, const PgUser& user);

// Makes `user` own `file` (creating it empty, mode 0600, if missing).
[[nodiscard]] Status EnsureOwnedFile(const std::filesystem::path& file, const PgUser& user);

// Where the server's unix socket lives: <home>/run, or /tmp/steward-<hash of home> when the
// socket path would exceed the 107 bytes sun_path allows.
[[nodiscard]] std::filesystem::path SocketDirFor(const std::filesystem::path& home, int port);

}  // namespace steward::store::detail
