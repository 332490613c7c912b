#pragma once
// The ingested_file table (migration 0008): what ingestion last saw at each path, so a re-run
// can skip unchanged files by hash and notice files that disappeared.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "store/database.hpp"

namespace steward::memory::ingest {

struct LedgerRow {
  std::string path;
  std::string content_hash;
  std::optional<int64_t> item_id;
  int64_t size = 0;
  int64_t mtime_s = 0;
  std::string status;  // added | updated | unchanged | skipped | failed | deleted
  std::string error;
  bool deleted = false;  // deleted_at is set
};

// Thread-safe (the Database is).
class IngestLedger final {
 public:
  explicit IngestLedger(store::Database& db) : db_(db) {}

  // The row for `path`, if any. Errors: the Database's.
  [[nodiscard]] Result<std::optional<LedgerRow>> Get(const std::string& path);

  // Rows not marked deleted whose path is inside directory `dir` (at any depth, or only direct
  // children when !recursive), keyed by path.
  [[nodiscard]] Result<std::map<std::string, LedgerRow>> LiveUnder(const std::string& dir, bool recursive);

  // Inserts or replaces the row for row.path; ingested_at = now(), deleted_at = now() iff
  // row.status is "deleted" (else cleared).
  [[nodiscard]] Status Record(const LedgerRow& row);

 private:
  store::Database& db_;
};

}  // namespace steward::memory::ingest
