#include "store/detail/postmaster_pid.hpp"

#include <fstream>
#include <sstream>
#include <vector>

namespace steward::store::detail {

namespace fs = std::filesystem;

std::optional<PostmasterPid> ReadPostmasterPid(const fs::path& data_dir) {
  std::ifstream in(data_dir / "postmaster.pid");
  if (!in) return std::nullopt;
  // Lines: pid, data dir, start time, port, socket dir, listen address, shmem key, status.
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (lines.empty()) return std::nullopt;
  PostmasterPid out;
  out.pid = static_cast<pid_t>(std::atol(lines[0].c_str()));
  if (out.pid <= 0) return std::nullopt;
  if (lines.size() > 3) out.port = std::atoi(lines[3].c_str());
  if (lines.size() > 4) out.socket_dir = lines[4];
  if (lines.size() > 7) {
    out.status = lines[7];
    while (!out.status.empty() && out.status.back() == ' ') out.status.pop_back();
  }
  return out;
}

bool IsLivePostgresProcess(pid_t pid) {
  const fs::path proc = fs::path("/proc") / std::to_string(pid);
  std::ifstream stat_file(proc / "stat");
  std::string stat;
  if (!stat_file || !std::getline(stat_file, stat)) return false;  // no such process
  // "pid (comm) S ...": comm may contain spaces and parentheses, so split at the last ')'.
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) return false;
  const std::string comm = stat.substr(open + 1, close - open - 1);
  const char state = stat[close + 2];
  if (state == 'Z' || state == 'X') return false;
  return comm == "postgres" || comm == "postmaster";
}

bool IsLivePostmaster(pid_t pid, const fs::path& data_dir) {
  if (!IsLivePostgresProcess(pid)) return false;
  const fs::path proc = fs::path("/proc") / std::to_string(pid);
  std::error_code ec;
  const fs::path cwd = fs::read_symlink(proc / "cwd", ec);
  if (ec) return true;  // not ours to inspect; the name is the best evidence we have
  return fs::equivalent(cwd, data_dir, ec) && !ec;
}

pid_t RemoveStaleSocketLock(const fs::path& socket_dir, int port) {
  const fs::path lock = socket_dir / (".s.PGSQL." + std::to_string(port) + ".lock");
  std::ifstream in(lock);
  std::string first;
  if (!in || !std::getline(in, first)) return 0;
  const auto pid = static_cast<pid_t>(std::atol(first.c_str()));
  // Only this home's cluster uses the directory, so any live postgres here is ours (and then
  // the lock is not stale).
  if (pid <= 0 || IsLivePostgresProcess(pid)) return 0;
  std::error_code ec;
  fs::remove(lock, ec);
  return ec ? 0 : pid;
}

}  // namespace steward::store::detail
