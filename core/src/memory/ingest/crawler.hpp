#pragma once
// The folder crawler: a background thread that re-ingests each configured folder every
// interval (memory.ingest.folders in steward.yaml), so notes saved on disk become searchable
// without anyone running `steward ingest`. Incremental, so a quiet folder costs a walk and a
// hash per file.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "memory/ingest/ingester.hpp"

namespace steward::memory::ingest {

struct CrawlFolder {
  std::string path;  // absolute
  bool recursive = true;
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  std::vector<std::string> include;  // globs, as IngestRequest
  std::vector<std::string> exclude;
};

struct CrawlerOptions {
  // Before the first crawl, so start-up (workers, embedder) settles first.
  std::chrono::milliseconds initial_delay{std::chrono::seconds(2)};
};

// What the crawler last did for one folder.
struct CrawlStatus {
  std::string path;
  int runs = 0;  // completed crawls
  std::optional<IngestSummary> last;
  std::string last_error;  // the run-level error of the last crawl, if it had one
};

// Thread-safe. Owns its thread; Stop() (or the destructor) stops it at the next file boundary.
class Crawler final {
 public:
  // Starts the thread. `ingester` must outlive the crawler. An empty folder list starts no thread.
  Crawler(Ingester& ingester, std::vector<CrawlFolder> folders, CrawlerOptions options = {});
  ~Crawler();
  Crawler(const Crawler&) = delete;
  Crawler& operator=(const Crawler&) = delete;

  // Makes every folder due now (e.g. after a config reload or for tests).
  void CrawlNow();

  // Stops and joins the thread; an ingest in progress ends at the next file boundary. Idempotent.
  void Stop();

  [[nodiscard]] std::vector<CrawlStatus> Status() const;

 private:
  void Loop();

  Ingester& ingester_;
  const std::vector<CrawlFolder> folders_;
  const CrawlerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                                     // guarded by mu_
  std::vector<std::chrono::steady_clock::time_point> due_;    // guarded by mu_, one per folder
  std::vector<CrawlStatus> status_;                           // guarded by mu_
  std::thread thread_;
};

}  // namespace steward::memory::ingest
