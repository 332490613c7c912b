#pragma once
// Reading members of a zip archive held in memory (DOCX files are zips of XML). Stored and
// deflated members only, no ZIP64, no encryption: what Office writes. zlib does the inflating;
// this file does the directory parsing, so the build needs nothing beyond zlib.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace steward::memory::ingest {

class ZipArchive final {
 public:
  struct Entry {
    std::string name;
    uint16_t method = 0;  // 0 stored, 8 deflated
    uint32_t crc32 = 0;
    uint64_t compressed_size = 0;
    uint64_t size = 0;
    uint64_t local_header_offset = 0;
  };

  // Parses the central directory of `bytes`, which must outlive the archive.
  // Errors: kInvalidArgument ("not a zip archive", "damaged: …", "ZIP64 is not supported").
  [[nodiscard]] static Result<ZipArchive> Open(std::string_view bytes);

  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }
  [[nodiscard]] const Entry* Find(std::string_view name) const;

  // The member's bytes, checked against its CRC-32. A member that inflates past `max_bytes`
  // is an error (a zip bomb must not exhaust memory). Errors: kNotFound, kInvalidArgument.
  [[nodiscard]] Result<std::string> Read(std::string_view name, size_t max_bytes) const;

 private:
  explicit ZipArchive(std::string_view bytes) : bytes_(bytes) {}
  std::string_view bytes_;
  std::vector<Entry> entries_;
};

}  // namespace steward::memory::ingest
