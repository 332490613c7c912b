#pragma once
// flock(2) locks on files in STEWARD_HOME, which is how steward processes sharing a home
// agree on who creates, starts and stops the embedded PostgreSQL.

#include <chrono>
#include <filesystem>

#include "common/result.hpp"

namespace steward::store::detail {

// An flock held on an open file until destruction. Locks are per open file, so two
// FileLocks on the same path conflict even inside one process. Move-only; not thread-safe.
class FileLock final {
 public:
  enum class Mode { kShared, kExclusive };

  // Opens (creating, mode 0600) `path` and waits up to `timeout` for the lock.
  // Errors: kUnavailable on timeout (naming the file), kConfig if the file cannot be opened.
  [[nodiscard]] static Result<FileLock> Acquire(const std::filesystem::path& path, Mode mode,
                                                std::chrono::milliseconds timeout);
  // As Acquire without waiting: a FileLock that is not held() when someone else holds it.
  [[nodiscard]] static Result<FileLock> TryAcquire(const std::filesystem::path& path, Mode mode);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  ~FileLock();

  [[nodiscard]] bool held() const { return fd_ >= 0; }
  // Releases the lock now (closing the file).
  void Release();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace steward::store::detail
