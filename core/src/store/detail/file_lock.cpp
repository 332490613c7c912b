#include "store/detail/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace steward::store::detail {

namespace {

Result<int> Open(const std::filesystem::path& path) {
  // O_CLOEXEC: a postmaster started by pg_ctl must not inherit (and so hold) our locks.
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kConfig, std::string("cannot open lock file: ") + std::strerror(errno),
                     path.string());
  }
  return fd;
}

int Operation(FileLock::Mode mode) { return mode == FileLock::Mode::kShared ? LOCK_SH : LOCK_EX; }

}  // namespace

Result<FileLock> FileLock::TryAcquire(const std::filesystem::path& path, Mode mode) {
  Result<int> fd = Open(path);
  if (!fd.ok()) return fd.error();
  while (flock(*fd, Operation(mode) | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    close(*fd);
    if (err == EWOULDBLOCK) return FileLock(-1);
    return MakeError(ErrorCode::kInternal, std::string("flock failed: ") + std::strerror(err), path.string());
  }
  return FileLock(*fd);
}

Result<FileLock> FileLock::Acquire(const std::filesystem::path& path, Mode mode,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Result<FileLock> lock = TryAcquire(path, mode);
    if (!lock.ok() || lock->held()) return lock;
    if (std::chrono::steady_clock::now() >= deadline) {
      return MakeError(ErrorCode::kUnavailable,
                       "another steward process has held this lock for over " +
                           std::to_string(timeout.count() / 1000) + " s; is it stuck?",
                       path.string());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() { Release(); }

void FileLock::Release() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

}  // namespace steward::store::detail
