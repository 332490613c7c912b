#pragma once
// Reading one file for ingestion with bounded memory: the whole file is hashed as it streams
// past, but only a prefix is kept, so a 50 MB line costs the cap, not 50 MB.

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.hpp"

namespace steward::memory::ingest {

struct FileBytes {
  std::string bytes;        // the first min(size, keep_bytes) bytes
  uint64_t size = 0;        // bytes read in total
  std::string sha256;       // of all `size` bytes, lowercase hex
  bool cut = false;         // bytes is a strict prefix of the file
  int64_t mtime_s = 0;      // modification time, seconds since the epoch
};

// Opens `path` without blocking (a FIFO or device is refused, never read) and reads it.
// Errors: kNotFound (missing, broken symlink), kPermissionDenied (cannot open or read),
// kInvalidArgument (not a regular file: directory, FIFO, socket, device).
[[nodiscard]] Result<FileBytes> ReadFileCapped(const std::filesystem::path& path, size_t keep_bytes);

// SHA-256 of `bytes`, lowercase hex.
[[nodiscard]] std::string Sha256Hex(std::string_view bytes);

// "2024-05-01T12:00:00Z" for seconds since the epoch.
[[nodiscard]] std::string IsoUtcSeconds(int64_t seconds);

}  // namespace steward::memory::ingest
