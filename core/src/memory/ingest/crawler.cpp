#include "memory/ingest/crawler.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace steward::memory::ingest {

using Clock = std::chrono::steady_clock;

Crawler::Crawler(Ingester& ingester, std::vector<CrawlFolder> folders, CrawlerOptions options)
    : ingester_(ingester), folders_(std::move(folders)), options_(options) {
  const auto first = Clock::now() + options_.initial_delay;
  for (const CrawlFolder& f : folders_) {
    due_.push_back(first);
    status_.push_back({f.path, 0, std::nullopt, ""});
  }
  if (!folders_.empty()) thread_ = std::thread([this] { Loop(); });
}

Crawler::~Crawler() { Stop(); }

void Crawler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Crawler::CrawlNow() {
  {
    std::lock_guard lock(mu_);
    std::fill(due_.begin(), due_.end(), Clock::now());
  }
  cv_.notify_all();
}

std::vector<CrawlStatus> Crawler::Status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void Crawler::Loop() {
  IngestObserver observer;
  observer.cancelled = [this] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const auto next = std::min_element(due_.begin(), due_.end());
    if (Clock::now() < *next) {
      cv_.wait_until(lock, *next);
      continue;  // re-check: stopped, CrawlNow, or simply due
    }
    const size_t i = static_cast<size_t>(next - due_.begin());
    const CrawlFolder& folder = folders_[i];
    lock.unlock();

    IngestRequest request;
    request.paths = {folder.path};
    request.recursive = folder.recursive;
    request.include = folder.include;
    request.exclude = folder.exclude;
    request.origin = "crawler:" + folder.path;
    auto summary = ingester_.Run(request, observer);
    if (!summary.ok()) spdlog::warn("crawler: {}: {}", folder.path, summary.error().ToString());

    lock.lock();
    // Scheduled from the end of this crawl, so a slow crawl never queues up behind itself.
    due_[i] = Clock::now() + folder.interval;
    CrawlStatus& st = status_[i];
    ++st.runs;
    if (summary.ok()) {
      st.last = *summary;
      st.last_error.clear();
    } else {
      st.last_error = summary.error().ToString();
    }
    cv_.notify_all();  // for tests waiting on Status()
  }
}

}  // namespace steward::memory::ingest
