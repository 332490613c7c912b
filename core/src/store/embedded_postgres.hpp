#pragma once
// The private PostgreSQL cluster steward runs when no database.url is configured: a cluster
// in $STEWARD_HOME/postgres, listening only on a unix socket, started by Debian's binaries.
//
// Several steward processes may share one home (a `serve` and one-shot CLI commands). They
// coordinate through two flock files in the home:
//   postgres.lock   exclusive, held briefly while creating, starting or stopping the cluster;
//   postgres.users  shared, held by every process using the server for as long as it does.
// The first process creates (initdb, once) and starts the server; later ones adopt it. On
// Stop (or destruction) a process stops the server only when it is the last user, whichever
// process started it; otherwise it leaves it running for the others. A server orphaned by a
// killed steward is adopted by the next Start; one whose postmaster died is restarted.

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "store/detail/file_lock.hpp"
#include "store/detail/pg_setup.hpp"

namespace steward::store {

struct EmbeddedPostgresOptions {
  // Holds one directory per installed major version, each with a bin/ (Debian's layout).
  std::filesystem::path install_root = "/usr/lib/postgresql";
  // How long pg_ctl may take to start or stop the server, and how long to wait for another
  // steward process that is creating or starting it.
  std::chrono::seconds timeout{120};
  // Whether initdb flushes the new cluster to disk (seconds on a busy disk). Only tests,
  // which throw their clusters away, turn it off.
  bool sync_initdb = true;
};

// One process's use of the embedded server. Not thread-safe: one owner starts and stops it.
class EmbeddedPostgres final {
 public:
  static constexpr int kPort = 5432;  // names the socket file only: no TCP listener
  static constexpr const char* kDatabase = "steward";
  static constexpr const char* kUser = "steward";

  // Creates the home and the cluster if needed, then starts the server or adopts the one
  // already running for this home, and makes sure database `steward` exists. Blocking; may
  // take seconds the first time (initdb). Errors: kConfig (bad home, binaries missing,
  // cluster unusable; the message names the path and the fix), kUnavailable (initdb or
  // pg_ctl failed: the message carries the end of their output and the server log).
  [[nodiscard]] static Result<std::unique_ptr<EmbeddedPostgres>> Start(
      const std::filesystem::path& steward_home, const EmbeddedPostgresOptions& options = {});

  // Calls Stop() and logs its error, if any.
  ~EmbeddedPostgres();
  EmbeddedPostgres(const EmbeddedPostgres&) = delete;
  EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;

  // libpq URI of database `steward` over the unix socket:
  // postgresql:///steward?host=<socket dir>&port=5432&user=steward. Has no password.
  [[nodiscard]] const std::string& url() const { return url_; }

  // Gives up this process's use of the server, stopping it (pg_ctl stop -m fast) when no
  // other steward process uses it. Close Database pools on it first. Idempotent.
  [[nodiscard]] Status Stop();

  // True if this Start launched the server, false if it adopted a running one.
  [[nodiscard]] bool started_server() const { return started_server_; }
  // True if this Start ran initdb.
  [[nodiscard]] bool created_cluster() const { return created_cluster_; }
  [[nodiscard]] const std::filesystem::path& data_dir() const { return data_dir_; }
  [[nodiscard]] const std::filesystem::path& socket_dir() const { return socket_dir_; }

 private:
  EmbeddedPostgres() = default;

  [[nodiscard]] Status CreateCluster();
  [[nodiscard]] Result<bool> IsRunning();
  [[nodiscard]] Status StartServer();
  [[nodiscard]] Status AdoptServer();
  [[nodiscard]] Status EnsureDatabase();

  EmbeddedPostgresOptions options_;
  detail::PgUser user_;
  std::filesystem::path home_;
  std::filesystem::path data_dir_;
  std::filesystem::path socket_dir_;
  std::filesystem::path bin_dir_;
  std::string url_;
  bool started_server_ = false;
  bool created_cluster_ = false;
  std::optional<detail::FileLock> users_lock_;  // empty once stopped
};

}  // namespace steward::store
