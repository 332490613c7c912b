#pragma once
// The ingestion pipeline: walk the given paths, read and hash each file, skip what the ledger
// says is unchanged, extract text and metadata, hand documents to the memory index in batches,
// mark files that disappeared, and report every file on the way. A bad file is reported and
// skipped; nothing about one file stops the batch.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "memory/ingest/document_sink.hpp"
#include "memory/ingest/ingest_ledger.hpp"
#include "store/database.hpp"

namespace steward::memory::ingest {

// The knobs of memory.ingest in steward.yaml (besides the crawled folders).
struct IngestOptions {
  size_t max_text_bytes = 1u << 20;   // text indexed per file; beyond it the file is "truncated"
  size_t max_file_bytes = 64u << 20;  // PDF/DOCX/JSON are read whole; bigger ones are refused
  bool include_hidden = false;        // walk dot-files and dot-directories (.git, .cache…)
  size_t batch_items = 16;            // documents per MemoryIndex::UpsertBatch (shared embedding)
  size_t batch_bytes = 8u << 20;      // …or fewer, when their text adds up to this
};

struct IngestRequest {
  std::vector<std::string> paths;  // absolute; files or directories
  bool recursive = true;           // into subdirectories of directory paths
  // Globs on the path relative to a walked directory (a pattern without '/' is matched against
  // the file name alone). Empty include: every supported type. Exclude also prunes directories.
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::string origin = "api";  // "cli", "crawler:<folder>": for logs and memory_access_log
};

enum class FileStatus { kAdded, kUpdated, kUnchanged, kSkipped, kFailed, kDeleted };

// "added", "updated", "unchanged", "skipped", "failed", "deleted".
[[nodiscard]] const char* ToString(FileStatus status);

struct FileReport {
  std::string path;
  FileStatus status = FileStatus::kFailed;
  std::string error;  // why it failed or was skipped
  int64_t item_id = 0;
  std::string format;
  int chunks = 0;
  int embedded = 0;
  std::vector<std::string> notes;  // "truncated…", "decoded as Windows-1252…"
};

struct IngestSummary {
  int total = 0;  // files considered (the progress bar's denominator)
  int added = 0, updated = 0, unchanged = 0, skipped = 0, failed = 0, deleted = 0;
  int ignored = 0;     // files in walked folders with an unsupported type or excluded by a glob
  int64_t chunks = 0;  // chunks written
  int64_t embedded = 0;  // chunks embedded during this run (0 for an unchanged tree)
  int64_t bytes = 0;   // bytes read
  bool cancelled = false;
  double seconds = 0;
};

[[nodiscard]] nlohmann::json ToJson(const FileReport& report);
[[nodiscard]] nlohmann::json ToJson(const IngestSummary& summary);

// Callbacks from the ingesting thread. Any may be empty.
struct IngestObserver {
  // Before each file: files finished so far, the total, the file now being read.
  std::function<void(int done, int total, const std::string& current)> progress;
  // Once per file, when its outcome is final.
  std::function<void(const FileReport&)> file;
  // Polled between files (and while waiting for another batch); true stops the run early:
  // finished files are kept, deletions are not detected.
  std::function<bool()> cancelled;
  // Called about once a second while another run holds the ingester.
  std::function<void()> waiting;
};

// One per process; thread-safe. Runs are serialised (the crawler and `steward ingest` take
// turns), since two runs over the same files would race on the ledger.
class Ingester final {
 public:
  // `db` (with migration 0008) and `sink` must outlive the ingester.
  Ingester(store::Database& db, DocumentSink& sink, IngestOptions options);

  // Ingests request.paths. Errors only for the request itself (kInvalidArgument: no paths, a
  // relative path) or when the ledger is unreachable (kUnavailable); every per-file problem is
  // a FileReport with status kFailed and the run goes on.
  [[nodiscard]] Result<IngestSummary> Run(const IngestRequest& request, const IngestObserver& observer = {});

  [[nodiscard]] const IngestOptions& options() const { return options_; }

  class Batch;  // ingester.cpp

 private:
  store::Database& db_;
  DocumentSink& sink_;
  IngestLedger ledger_;
  const IngestOptions options_;
  std::timed_mutex run_mu_;
};

}  // namespace steward::memory::ingest
