#include "store/embedded_postgres.hpp"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "store/detail/postmaster_pid.hpp"
#include "store/detail/subprocess.hpp"

namespace steward::store {

namespace fs = std::filesystem;
using detail::FileLock;

namespace {

constexpr const char* kLockFile = "postgres.lock";
constexpr const char* kUsersFile = "postgres.users";
constexpr const char* kLogFile = "postgres.log";

std::string ReadFile(const fs::path& path, std::streamoff from = 0) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(from);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::streamoff FileSize(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<std::streamoff>(size);
}

std::string PercentEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string ConfQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string SocketUrl(const fs::path& socket_dir, int port, const std::string& database) {
  return "postgresql:///" + database + "?host=" + PercentEncode(socket_dir.string()) +
         "&port=" + std::to_string(port) + "&user=" + EmbeddedPostgres::kUser;
}

Error ToolFailed(const std::string& what, const detail::CommandOutput& out, const std::string& log = {}) {
  std::string message = what + " failed (exit " + std::to_string(out.exit_code) + ")";
  const std::string tail = detail::Tail(out.output);
  if (!tail.empty()) message += ": " + tail;
  const std::string log_tail = detail::Tail(log);
  if (!log_tail.empty()) message += "\nserver log:\n" + log_tail;
  return MakeError(ErrorCode::kUnavailable, message);
}

}  // namespace

Result<std::unique_ptr<EmbeddedPostgres>> EmbeddedPostgres::Start(const fs::path& steward_home,
                                                                  const EmbeddedPostgresOptions& options) {
  // Declared before the lock so that on an error the lock is released before the destructor's
  // Stop() needs it.
  std::unique_ptr<EmbeddedPostgres> pg(new EmbeddedPostgres());
  pg->options_ = options;

  std::error_code ec;
  fs::path home = fs::absolute(steward_home, ec);
  const std::string shown = steward_home.string();
  if (fs::exists(home, ec) && !fs::is_directory(home, ec)) {
    return MakeError(ErrorCode::kConfig,
                     "STEWARD_HOME must be a directory, but this is a file; point STEWARD_HOME elsewhere "
                     "or move the file away",
                     shown);
  }
  if (!fs::exists(home, ec)) {
    if (!fs::create_directories(home, ec) && ec) {
      return MakeError(ErrorCode::kConfig, "cannot create STEWARD_HOME: " + ec.message(), shown);
    }
    fs::permissions(home, fs::perms::owner_all, ec);
  }
  home = fs::canonical(home, ec);
  if (ec) return MakeError(ErrorCode::kConfig, "cannot resolve STEWARD_HOME: " + ec.message(), shown);
  pg->home_ = home;
  pg->data_dir_ = home / "postgres";

  Result<detail::PgUser> user = detail::ResolvePgUser();
  if (!user.ok()) return user.error();
  pg->user_ = *user;

  Result<FileLock> lock = FileLock::Acquire(home / kLockFile, FileLock::Mode::kExclusive, options.timeout);
  if (!lock.ok()) return lock.error();
  STEWARD_RETURN_IF_ERROR(detail::MakeTraversable(home, pg->user_));

  if (!fs::exists(pg->data_dir_ / "PG_VERSION", ec)) {
    STEWARD_RETURN_IF_ERROR(pg->CreateCluster());
  } else {
    const std::string version = ReadFile(pg->data_dir_ / "PG_VERSION");
    Result<fs::path> bin = detail::FindPgBinaries(options.install_root, std::atoi(version.c_str()));
    if (!bin.ok()) return bin.error();
    pg->bin_dir_ = *bin;
  }
  pg->socket_dir_ = detail::SocketDirFor(home, kPort);
  STEWARD_RETURN_IF_ERROR(detail::EnsureOwnedDir(pg->socket_dir_, pg->user_));

  Result<FileLock> users = FileLock::Acquire(home / kUsersFile, FileLock::Mode::kShared, options.timeout);
  if (!users.ok()) return users.error();
  pg->users_lock_.emplace(std::move(*users));

  Result<bool> running = pg->IsRunning();
  if (!running.ok()) return running.error();
  STEWARD_RETURN_IF_ERROR(*running ? pg->AdoptServer() : pg->StartServer());
  STEWARD_RETURN_IF_ERROR(pg->EnsureDatabase());
  return pg;
}

Status EmbeddedPostgres::CreateCluster() {
  std::error_code ec;
  if (fs::exists(data_dir_, ec)) {
    if (!fs::is_directory(data_dir_, ec) || !fs::is_empty(data_dir_, ec)) {
      return MakeError(ErrorCode::kConfig,
                       "exists but is not a PostgreSQL cluster (no PG_VERSION); move it away so steward "
                       "can create a fresh one",
                       data_dir_.string());
    }
    fs::remove(data_dir_, ec);
  }
  Result<fs::path> bin = detail::FindPgBinaries(options_.install_root, std::nullopt);
  if (!bin.ok()) return bin.error();
  bin_dir_ = *bin;

  // initdb into a scratch directory renamed into place when complete, so a crash mid-way
  // leaves no half-made cluster behind.
  const fs::path scratch = home_ / "postgres.initdb";
  fs::remove_all(scratch, ec);
  STEWARD_RETURN_IF_ERROR(detail::EnsureOwnedDir(scratch, user_));
  spdlog::info("creating the PostgreSQL cluster in {} (first start)", data_dir_.string());
  std::vector<std::string> args = {"-D", scratch.string(), "-U", kUser, "-A", "trust", "-E", "UTF8",
                                   "--locale=C.UTF-8", "--no-instructions"};
  if (!options_.sync_initdb) args.push_back("--no-sync");
  Result<detail::CommandOutput> out = detail::RunCommand(detail::PgCommand(user_, bin_dir_, "initdb", std::move(args)));
  if (!out.ok()) return out.error();
  if (out->exit_code != 0) {
    fs::remove_all(scratch, ec);
    return ToolFailed("initdb", *out);
  }
  {
    std::ofstream conf(scratch / "postgresql.conf", std::ios::app);
    conf << "\n# Added by steward: the socket settings it rewrites at every start.\n"
            "include_if_exists = 'steward.conf'\n";
    if (!conf) return MakeError(ErrorCode::kConfig, "cannot append to postgresql.conf", scratch.string());
  }
  fs::rename(scratch, data_dir_, ec);
  if (ec) return MakeError(ErrorCode::kConfig, "cannot move the new cluster into place: " + ec.message(), data_dir_.string());
  created_cluster_ = true;
  return Status::Ok();
}

Result<bool> EmbeddedPostgres::IsRunning() {
  const std::optional<detail::PostmasterPid> pid = detail::ReadPostmasterPid(data_dir_);
  if (!pid) return false;
  if (detail::IsLivePostmaster(pid->pid, data_dir_)) return true;
  // Left by a postmaster that was killed. PostgreSQL removes such a file itself only when
  // the pid is free; a zombie or a recycled pid would make it refuse to start.
  std::error_code ec;
  fs::remove(data_dir_ / "postmaster.pid", ec);
  if (ec) {
    return MakeError(ErrorCode::kConfig, "cannot remove the stale postmaster.pid: " + ec.message(),
                     data_dir_.string());
  }
  spdlog::info("removed the stale postmaster.pid of PostgreSQL pid {} (it died without cleaning up)",
               pid->pid);
  return false;
}

Status EmbeddedPostgres::AdoptServer() {
  std::optional<detail::PostmasterPid> pid = detail::ReadPostmasterPid(data_dir_);
  if (pid && pid->status == "stopping") {
    // Another process is shutting the server down; wait for it, then start it again.
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    for (;;) {
      Result<bool> running = IsRunning();
      if (!running.ok()) return running.error();
      if (!*running) return StartServer();
      if (std::chrono::steady_clock::now() > deadline) {
        return MakeError(ErrorCode::kUnavailable, "PostgreSQL has been shutting down for too long",
                         data_dir_.string());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (!pid || pid->socket_dir.empty() || pid->port <= 0) {
    return MakeError(ErrorCode::kConfig,
                     "a PostgreSQL server is running on this cluster without a unix socket (started "
                     "outside steward?); stop it with pg_ctl stop -D " + data_dir_.string(),
                     data_dir_.string());
  }
  url_ = SocketUrl(pid->socket_dir, pid->port, kDatabase);
  started_server_ = false;
  spdlog::info("using the PostgreSQL server (pid {}) already running for {}", pid->pid, data_dir_.string());
  return Status::Ok();
}

Status EmbeddedPostgres::StartServer() {
  {
    const fs::path conf_path = data_dir_ / "steward.conf";
    std::ofstream conf(conf_path, std::ios::trunc);
    conf << "# Written by steward at every start; put your own settings in postgresql.conf.\n"
         << "listen_addresses = ''\n"
         << "port = " << kPort << "\n"
         << "unix_socket_directories = " << ConfQuote(socket_dir_.string()) << "\n"
         << "unix_socket_permissions = 0700\n";
    conf.close();
    if (!conf) return MakeError(ErrorCode::kConfig, "cannot write the server settings", conf_path.string());
    STEWARD_RETURN_IF_ERROR(detail::EnsureOwnedFile(conf_path, user_));
  }
  const fs::path log = home_ / kLogFile;
  STEWARD_RETURN_IF_ERROR(detail::EnsureOwnedFile(log, user_));
  if (const pid_t stale = detail::RemoveStaleSocketLock(socket_dir_, kPort); stale != 0) {
    spdlog::info("removed the stale socket lock of PostgreSQL pid {} in {}", stale, socket_dir_.string());
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  for (;;) {
    const std::streamoff log_start = FileSize(log);
    Result<detail::CommandOutput> out = detail::RunCommand(detail::PgCommand(
        user_, bin_dir_, "pg_ctl",
        {"start", "-w", "-t", std::to_string(options_.timeout.count()), "-D", data_dir_.string(), "-l",
         log.string()}));
    if (!out.ok()) return out.error();
    if (out->exit_code == 0) break;
    const std::string log_text = ReadFile(log, log_start);
    // After a postmaster was SIGKILLed its children take a moment to notice and exit; until
    // then the new postmaster refuses the old shared memory.
    if (log_text.find("pre-existing shared memory block") != std::string::npos &&
        std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    return ToolFailed("pg_ctl start", *out, log_text);
  }
  url_ = SocketUrl(socket_dir_, kPort, kDatabase);
  started_server_ = true;
  spdlog::info("started PostgreSQL for {} (socket in {})", data_dir_.string(), socket_dir_.string());
  return Status::Ok();
}

Status EmbeddedPostgres::EnsureDatabase() {
  // The maintenance database is always there; `steward` is created on first start.
  std::string admin_url = url_;
  admin_url.replace(admin_url.find("///") + 3, std::string(kDatabase).size(), "postgres");
  try {
    pqxx::connection conn(admin_url);
    pqxx::nontransaction tx(conn);
    if (tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", kDatabase).empty()) {
      tx.exec(std::string("CREATE DATABASE ") + kDatabase);
    }
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() != "42P04") {  // duplicate_database: a concurrent adopter won the race
      return MakeError(ErrorCode::kUnavailable, std::string("cannot create database steward: ") + e.what(),
                       data_dir_.string());
    }
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kUnavailable,
                     std::string("cannot connect to the embedded PostgreSQL: ") + e.what(), data_dir_.string());
  }
  return Status::Ok();
}

Status EmbeddedPostgres::Stop() {
  if (!users_lock_) return Status::Ok();
  // Under the start lock, so that no process adopts the server while we decide to stop it.
  Result<FileLock> lock = FileLock::Acquire(home_ / kLockFile, FileLock::Mode::kExclusive, options_.timeout);
  users_lock_.reset();
  if (!lock.ok()) return lock.error();
  Result<FileLock> last = FileLock::TryAcquire(home_ / kUsersFile, FileLock::Mode::kExclusive);
  if (!last.ok()) return last.error();
  if (!last->held()) {
    spdlog::info("leaving PostgreSQL running for the other steward processes using {}", home_.string());
    return Status::Ok();
  }
  Result<detail::CommandOutput> out = detail::RunCommand(detail::PgCommand(
      user_, bin_dir_, "pg_ctl",
      {"stop", "-m", "fast", "-w", "-t", std::to_string(options_.timeout.count()), "-D", data_dir_.string()}));
  if (!out.ok()) return out.error();
  if (out->exit_code != 0) {
    Result<bool> running = IsRunning();
    if (!running.ok() || *running) return ToolFailed("pg_ctl stop", *out);
  }
  spdlog::info("stopped PostgreSQL for {}", data_dir_.string());
  return Status::Ok();
}

EmbeddedPostgres::~EmbeddedPostgres() {
  if (Status status = Stop(); !status.ok()) {
    spdlog::error("stopping the embedded PostgreSQL: {}", status.error().ToString());
  }
}

}  // namespace steward::store
